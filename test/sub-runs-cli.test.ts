import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../src/audit/log.ts';
import type { Run } from '../src/core/run.ts';
import { serverPolicyFile } from '../src/policy/load.ts';
import { harnessEngine, ofType, waitFor } from './support/harness-engine.ts';
import type { ScriptedToolCall, ScriptedTurn } from './support/model-server.ts';
import { makeRepo } from './support/repos.ts';

const USAGE = { inputTokens: 100, outputTokens: 20 };
const PARENT = 'PARENT-TASK: split the work';
const CHILD = 'CHILD-TASK: start a run of your own';

/** How one agent CLI names the sub-run tools (to the model, and in its events) and runs a shell command. */
interface CliCase {
  harness: string;
  tool: (name: string) => string;
  called: (name: string) => string;
  shell: (command: string) => ScriptedToolCall;
}

const CASES: CliCase[] = [
  {
    harness: 'claude-code',
    tool: (name: string) => `mcp__nightshift__${name}`,
    called: (name: string) => `mcp__nightshift__${name}`,
    shell: (command: string) => ({ name: 'Bash', input: { command } }),
  },
  {
    harness: 'codex',
    tool: (name: string) => `mcp__nightshift.${name}`,
    called: (name: string) => `nightshift.${name}`,
    shell: (command: string) => ({
      name: 'exec_command',
      input: { cmd: command, tty: false, yield_time_ms: 30_000 },
    }),
  },
  {
    harness: 'opencode',
    tool: (name: string) => `nightshift_${name}`,
    called: (name: string) => `nightshift_${name}`,
    shell: (command: string) => ({ name: 'bash', input: { command, description: 'talk to the socket' } }),
  },
];

/**
 * A script for the sandbox's node: sends each line on its own connection to a socket and prints
 * what came back (`ANSWER ...`), or the connection error (`ANSWER error CODE`).
 */
const RAW_CLIENT = `const net = require("net");
const send = ([path, line]) => new Promise((done) => {
  const socket = net.connect(path); let out = ""; socket.setEncoding("utf8");
  socket.on("data", (d) => { out += d; }); socket.on("close", () => done(out.trim()));
  socket.on("error", (e) => done("error " + e.code)); socket.end(line + "\\n");
});
(async () => { for (const request of JSON.parse(process.argv[1])) console.log("ANSWER " + await send(request)); })();`;

/**
 * Claude Code, Codex and OpenCode get `start_run` and `run_status` through the MCP server in
 * their sandbox, end to end: the scripted model starts a sub-run and reads it, the engine
 * refuses what the policy does not allow (and audits it), and a shell in the sandbox that talks
 * to the run's socket directly gets nothing more.
 */
describe('sub-runs started by an agent CLI through MCP', { timeout: 300_000 }, () => {
  const { state } = harnessEngine('claude-code', (models) => ({
    ANTHROPIC_API_KEY: 'sk-ant-test-real-key-0123456789',
    NIGHTSHIFT_ANTHROPIC_BASE_URL: models.url,
    OPENAI_API_KEY: 'sk-openai-test-real-key-0123456789',
    NIGHTSHIFT_OPENAI_BASE_URL: `${models.url}/v1`,
  }));
  // Parent and child agents call the model at once: each request is answered from the queue of
  // the conversation it belongs to (only the parent's requests carry its prompt).
  const parentTurns: ((body: string) => ScriptedTurn)[] = [];
  const childTurns: ScriptedTurn[] = [];
  let forbidden: string;

  beforeAll(async () => {
    const home = join(state.dir, 'home');
    writeFileSync(serverPolicyFile(home), `runs:\n  max_children: 1\n  repos: ["${state.dir}/allowed-*"]\n`);
    forbidden = join(state.dir, 'secret-lib');
    await makeRepo(forbidden, { 'lib.txt': 'secret\n' });
    for (let i = 0; i < 60; i++) {
      state.script.push((body) => {
        const text = JSON.stringify(body);
        const next = text.includes(PARENT) ? parentTurns.shift()?.(text) : childTurns.shift();
        return next ?? { text: 'nothing left to do', usage: USAGE };
      });
    }
  });

  async function finished(runId: string): Promise<Run> {
    await waitFor(async () => (await state.engine.store.getRun(runId)).status === 'completed', 240_000);
    return state.engine.store.getRun(runId);
  }

  it.each(CASES)('$harness starts a sub-run and reads it; the rest is refused and audited', async (cli) => {
    const { engine } = state;
    const repo = join(state.dir, `app-${cli.harness}`);
    await makeRepo(repo, { 'app.txt': 'app\n' });
    const other = await engine.submit({ repo: forbidden, script: 'true' });
    const socket = '/run/nightshift/runs.sock';
    let parentId = '';
    let hostSocketSeen = false;
    const raw = () => {
      // The run's own socket as the host sees it (there while the run lives): not inside the sandbox.
      const hostPath = join(engine.config.runsDir, parentId, 'runs.sock');
      hostSocketSeen = existsSync(hostPath);
      const requests = [
        [socket, JSON.stringify(rpc('tools/call', { name: 'run_status', arguments: { id: other.id } }))],
        [
          socket,
          JSON.stringify(
            rpc('tools/call', { name: 'start_run', arguments: { script: 'true' }, runId: other.id }),
          ),
        ],
        [socket, 'hello, is anyone there?'],
        [hostPath, JSON.stringify(rpc('tools/list', {}))],
      ];
      return `/run/nightshift/node -e '${RAW_CLIENT}' '${JSON.stringify(requests)}'`;
    };
    parentTurns.push(
      () => call([{ name: cli.tool('start_run'), input: { prompt: CHILD } }]),
      (body) =>
        call([{ name: cli.tool('run_status'), input: { id: /run (run_[0-9a-z]+) on/.exec(body)![1]! } }]),
      () => call([{ name: cli.tool('start_run'), input: { repo: forbidden, script: 'cat lib.txt' } }]),
      () => call([{ name: cli.tool('start_run'), input: { script: 'echo one more' } }]),
      () => call([cli.shell(raw())]),
      () => ({ text: 'Delegated what I could.', usage: USAGE }),
    );
    childTurns.push(call([{ name: cli.tool('start_run'), input: { script: 'echo nested' } }]), {
      text: 'I could not start it.',
      usage: USAGE,
    });

    const queued = await engine.submit({ repo, prompt: PARENT, harness: cli.harness });
    parentId = queued.id;
    const parent = await finished(queued.id);
    const rows = await engine.store.db.query<{ child_run_id: string; depth: number }>(
      'SELECT child_run_id, depth FROM run_children WHERE parent_run_id = $1',
      [parent.id],
    );

    expect([parent.conclusion, parent.reason]).toEqual(['no_changes', 'the run changed no files']);
    expect(rows.map((row) => row.depth)).toEqual([1]);
    const child = await finished(rows[0]!.child_run_id);
    expect([child.trigger, child.inputs.prompt, child.inputs.harness]).toEqual([
      `run:${parent.id}`,
      CHILD,
      cli.harness,
    ]);
    const events = await engine.store.events(parent.id);
    expect(ofType(events, 'agent.tool_call').map((e) => e.data.name)).toEqual([
      cli.called('start_run'),
      cli.called('run_status'),
      cli.called('start_run'),
      cli.called('start_run'),
      expect.any(String),
    ]);
    const results = ofType(events, 'agent.tool_result').map((e) => e.data);
    expect(results.map((r) => Boolean(r.isError))).toEqual([false, false, true, true, false]);
    expect(results[0]!.output).toContain(`run ${child.id} on ${repo} (blueprint default)`);
    expect(results[1]!.output).toContain(`run ${child.id} on ${repo}`);
    expect(results[2]!.output).toContain(`refused: the policy does not allow sub-runs on ${forbidden}`);
    expect(results[3]!.output).toContain("the most the policy's runs.max_children (1) allows");
    const answers = results[4]!.output;
    expect(answers).toContain(`run ${other.id} is not a sub-run this run started`);
    expect(answers).toContain('params.runId: unknown key `runId`');
    expect(answers).toContain('"code":-32700');
    expect([hostSocketSeen, answers]).toEqual([true, expect.stringContaining('ANSWER error ENOENT')]);
    const audit = await listAudit(engine.store.db, { runId: parent.id });
    expect(audit.filter((e) => e.kind === 'policy.denied').map((e) => e.data)).toEqual([
      { what: 'sub-run', reason: expect.stringContaining(`does not allow sub-runs on ${forbidden}`) },
      { what: 'sub-run', reason: expect.stringContaining('runs.max_children (1)') },
      { what: 'sub-run', reason: `run_status of "${other.id}", which is not a sub-run this run started` },
      { what: 'sub-run', reason: expect.stringContaining('a malformed request (params.runId: unknown key') },
      { what: 'sub-run', reason: 'a request that is not JSON' },
    ]);
    expect(audit.filter((e) => e.kind === 'run.spawned').map((e) => e.data)).toEqual([
      { childRunId: child.id, repo, blueprint: 'default', depth: 1 },
    ]);
    const first = state.models.requests.find((r) => JSON.stringify(r.body).includes(PARENT));
    expect(JSON.stringify(first?.body)).toContain('start_run and run_status, to start a sub-run');

    expect(child.conclusion).toBe('no_changes');
    const childResults = ofType(await engine.store.events(child.id), 'agent.tool_result');
    expect(childResults.map((e) => [e.data.isError, e.data.output])).toEqual([
      [true, expect.stringContaining('this run is itself a sub-run (depth 1)')],
    ]);
    const childAudit = await listAudit(engine.store.db, { runId: child.id });
    expect(childAudit.filter((e) => e.kind === 'policy.denied').map((e) => e.data)).toEqual([
      { what: 'sub-run', reason: expect.stringContaining('runs.max_depth is 1, so it cannot start runs') },
    ]);
  });

  it('gives an agent CLI no sub-run tools when the policy allows none (runs.max_children: 0)', async () => {
    const repo = join(state.dir, 'no-sub-runs');
    await makeRepo(repo, { '.nightshift/policy.yml': 'runs:\n  max_children: 0\n' });
    const before = state.models.requests.length;

    const queued = await state.engine.submit({ repo, prompt: 'NO-SUB-RUNS: say hi', harness: 'claude-code' });
    const run = await finished(queued.id);

    const bodies = state.models.requests.slice(before).map((request) => JSON.stringify(request.body));
    expect(run.conclusion).toBe('no_changes');
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toContain('"name":"Bash"');
    expect(bodies[0]).not.toContain('start_run');
  });
});

function call(toolCalls: ScriptedToolCall[]): ScriptedTurn {
  return { toolCalls, usage: USAGE };
}

function rpc(method: string, params: unknown) {
  return { jsonrpc: '2.0', id: 1, method, params };
}
