import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MCP_SERVER_SCRIPT, type RunToolsHost, startRunToolsHost } from '../src/agents/run-tools/index.ts';
import type { Run } from '../src/core/run.ts';
import { subRunTools } from '../src/engine/sub-runs.ts';
import { loadPolicy } from '../src/policy/load.ts';
import { LocalScmProvider } from '../src/scm/local/index.ts';
import { Store } from '../src/store/index.ts';

type Message = { id?: unknown; result?: Record<string, unknown>; error?: { code: number; message: string } };

/** The in-sandbox MCP server as an agent CLI runs it: a node process speaking MCP on stdio. */
function startMcpServer(socketPath: string) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [MCP_SERVER_SCRIPT, socketPath]);
  const received: Message[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => received.push(JSON.parse(line) as Message));
  return {
    child,
    received,
    send: (message: unknown) =>
      child.stdin.write(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`),
    /** The answer to request `id`, once it came. */
    answer: async (id: unknown): Promise<Message> => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const found = received.find((m) => m.id === id);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no answer to ${String(id)}: ${JSON.stringify(received)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  };
}

/** Writes `lines` on one connection to the socket, half-closes it, and returns every answer line. */
function rawExchange(socketPath: string, lines: string[]): Promise<Message[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      text += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () =>
      resolve(
        text
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Message),
      ),
    );
    socket.end(lines.map((line) => `${line}\n`).join(''));
  });
}

const call = (id: number, name: string, args: unknown) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});
const text = (message: Message) =>
  (message.result?.content as { text: string }[] | undefined)?.[0]?.text ?? '';

/**
 * The sub-run tools' MCP server (the program agent CLIs start in the sandbox) and the host side
 * of the run's socket, with the real sub-run tools over a real store and policy.
 */
describe('the sub-run tools over MCP', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-run-tools-'));
  const socketPath = join(dir, 'runs.sock');
  const refusals: string[] = [];
  const servers: ReturnType<typeof startMcpServer>[] = [];
  let store: Store;
  let host: RunToolsHost;
  let parent: Run;

  beforeAll(async () => {
    store = await Store.open({});
    const repo = await store.repos.upsert({ name: 'app', url: '/srv/app', defaultBranch: 'main' });
    parent = await store.createRun({
      repoId: repo.id,
      blueprint: 'default',
      blueprintSpec: { steps: [] },
      inputs: { prompt: 'split the work' },
      timeoutMs: 60_000,
    });
    writeFileSync(join(dir, 'policy.yml'), 'runs:\n  max_children: 1\n');
    const { policy } = await loadPolicy({ serverFile: join(dir, 'policy.yml'), repoDir: dir });
    const scm = new LocalScmProvider({ mirrorsDir: join(dir, 'mirrors'), basesDir: join(dir, 'bases') });
    const record = (reason: string) => refusals.push(reason);
    const tools = subRunTools({ store, scm, policy, run: parent, repo, denied: record, spawned: () => {} });
    host = await startRunToolsHost({ socketPath, tools, refused: record });
  });

  afterEach(() => {
    for (const server of servers.splice(0)) server.child.kill();
    refusals.length = 0;
  });

  afterAll(async () => {
    await host?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function mcp() {
    const server = startMcpServer(socketPath);
    servers.push(server);
    return server;
  }

  it('answers initialize (negotiating the version), ping and unknown methods itself; notifications get no answer', async () => {
    const server = mcp();

    server.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18' } });
    server.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    server.send({ jsonrpc: '2.0', id: 2, method: 'initialize', params: { protocolVersion: '1999-01-01' } });
    server.send({ jsonrpc: '2.0', id: 3, method: 'ping' });
    server.send({ jsonrpc: '2.0', id: 4, method: 'resources/list' });
    server.send('not json');

    expect((await server.answer(1)).result).toEqual({
      protocolVersion: '2025-06-18',
      capabilities: { tools: {} },
      serverInfo: { name: 'nightshift', version: '1.0.0' },
    });
    expect((await server.answer(2)).result?.protocolVersion).toBe('2025-11-25');
    expect((await server.answer(3)).result).toEqual({});
    expect((await server.answer(4)).error?.code).toBe(-32601);
    expect((await server.answer(null)).error?.code).toBe(-32700);
    expect(server.received).toHaveLength(5);
  });

  it('lists start_run and run_status with strict JSON Schema inputs', async () => {
    const server = mcp();

    server.send({ jsonrpc: '2.0', id: 'list', method: 'tools/list' });

    const { tools } = (await server.answer('list')).result as {
      tools: { name: string; inputSchema: Record<string, unknown> }[];
    };
    expect(tools.map((tool) => tool.name)).toEqual(['start_run', 'run_status']);
    expect(tools[1]!.inputSchema).toEqual({
      type: 'object',
      properties: { id: expect.objectContaining({ type: 'string' }) },
      required: ['id'],
      additionalProperties: false,
    });
  });

  it('starts a sub-run of the socket’s run, reads it, and refuses what the policy does not allow', async () => {
    const server = mcp();

    server.send(call(1, 'start_run', { script: 'echo one' }));
    const started = await server.answer(1);
    const childId = /run (run_\w+) on/.exec(text(started))![1]!;
    server.send(call(2, 'run_status', { id: childId }));
    server.send(call(3, 'start_run', { script: 'echo two' }));
    server.send(call(4, 'run_status', { id: parent.id }));

    expect(started.result).toEqual({
      content: [{ type: 'text', text: `run ${childId} on /srv/app (blueprint script)\nstatus: queued` }],
      isError: false,
    });
    expect((await store.getRun(childId)).trigger).toBe(`run:${parent.id}`);
    expect(text(await server.answer(2))).toContain(`run ${childId} on /srv/app`);
    const over = await server.answer(3);
    expect([over.result?.isError, text(over)]).toEqual([
      true,
      expect.stringContaining(
        "refused: this run already started 1 sub-runs, the most the policy's runs.max_children (1) allows",
      ),
    ]);
    expect(text(await server.answer(4))).toBe(
      `run ${parent.id} is not a sub-run this run started (pass an id start_run returned)`,
    );
    expect(refusals).toEqual([
      expect.stringContaining('runs.max_children (1)'),
      `run_status of "${parent.id}", which is not a sub-run this run started`,
    ]);
  });

  it('refuses a call with fields the tool does not have, or a tool it does not have, and records both', async () => {
    const server = mcp();

    server.send(call(1, 'start_run', { script: 'true', runId: parent.id }));
    server.send(call(2, 'delete_run', { id: parent.id }));

    expect(await server.answer(1)).toMatchObject({
      result: { isError: true, content: [{ text: expect.stringContaining('runId: unknown key `runId`') }] },
    });
    expect((await server.answer(2)).error).toEqual({
      code: -32602,
      message: 'refused: a call of "delete_run", which is not a tool of this server (start_run, run_status)',
    });
    expect(refusals).toEqual([
      'a start_run call with wrong arguments (runId: unknown key `runId`; allowed: prompt, script, repo, blueprint)',
      'a call of "delete_run", which is not a tool of this server (start_run, run_status)',
    ]);
  });

  it.each([
    ['a line that is not JSON', 'hello', -32700, 'a request that is not JSON'],
    [
      'a request naming a run',
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {}, runId: 'run_other' }),
      -32600,
      'a malformed request (runId: unknown key `runId`; allowed: jsonrpc, id, method, params)',
    ],
    [
      'a method the socket does not serve',
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
      -32600,
      'a malformed request (method:',
    ],
  ])(
    'answers %s on a raw connection with a refusal, records it, and closes the connection',
    async (_, line, code, reason) => {
      const listed = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });

      const answers = await rawExchange(socketPath, [line, listed]);

      expect(answers).toEqual([
        { jsonrpc: '2.0', id: null, error: { code, message: expect.stringContaining(`refused: ${reason}`) } },
      ]);
      expect(refusals).toEqual([expect.stringContaining(reason)]);
    },
  );

  it('answers every request of a connection that sends them and half-closes at once', async () => {
    const listed = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list' });

    const answers = await rawExchange(socketPath, [listed(1), listed(2)]);

    expect(answers.map((answer) => [answer.id, Boolean(answer.result)])).toEqual([
      [1, true],
      [2, true],
    ]);
  });

  it('records at most 500 characters of a refusal’s reason, however much the request quotes', async () => {
    const key = 'k'.repeat(2000);

    await rawExchange(socketPath, [
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', [key]: 1 }),
    ]);

    expect(refusals.map((reason) => [reason.length, reason.slice(0, 20)])).toEqual([
      [501, 'a malformed request '],
    ]);
  });

  it('refuses a request longer than 256 KiB', async () => {
    const answers = await rawExchange(socketPath, [`{"jsonrpc":"2.0","id":1,"x":"${'x'.repeat(300_000)}"}`]);

    expect(answers.map((answer) => answer.error?.message)).toEqual([
      expect.stringContaining('refused: a request longer than 262144 bytes'),
    ]);
  });

  it('is a socket anyone on the host may connect to (the sandbox runs under its own uid)', () => {
    expect(statSync(socketPath).mode & 0o777).toBe(0o666);
  });

  it('says which socket did not answer when the host side is gone', async () => {
    const server = startMcpServer(join(dir, 'gone.sock'));
    servers.push(server);

    server.send({ jsonrpc: '2.0', id: 1, method: 'tools/list' });

    expect((await server.answer(1)).error).toEqual({
      code: -32603,
      message: expect.stringMatching(/sub-run service at .*gone\.sock did not answer \(connect ENOENT/),
    });
  });

  it('exits with status 2 and its usage without a socket path', () => {
    const result = spawnSync(process.execPath, [MCP_SERVER_SCRIPT], { encoding: 'utf8' });

    expect([result.status, result.stderr]).toEqual([
      2,
      expect.stringContaining('usage: node mcp-server.mjs SOCKET_PATH'),
    ]);
  });
});
