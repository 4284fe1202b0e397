import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuiltinHarness, GATEWAY_PLACEHOLDER_KEY } from '../src/agents/builtin/index.ts';
import type { HarnessEvent } from '../src/core/events.ts';
import { startModelGateway } from '../src/egress/gateway/index.ts';
import { LocalSandboxProvider } from '../src/sandbox/local/index.ts';
import type { Sandbox } from '../src/sandbox/types.ts';
import { harnessEngine, ofType, waitFor } from './support/harness-engine.ts';
import { type ModelServer, type ScriptedTurn, startModelServer } from './support/model-server.ts';
import { gitIn, makeRepo, processesWith } from './support/repos.ts';

const KEY = 'sk-test-real-key-0123456789';
const USAGE = { inputTokens: 100, outputTokens: 20 };
const LIMITS = { memoryBytes: 512 * 1024 * 1024, pids: 256 };

/** A repo whose test gate passes only when answer.txt says 42, with instructions for agents. */
const REPO_FILES = {
  '.nightshift/environment.yml': 'test: sh check.sh\n',
  'check.sh': 'test "$(cat answer.txt)" = 42 || { echo "answer.txt is not 42"; exit 1; }\n',
  'AGENTS.md': 'Answers go in answer.txt. (marker: agents-md-was-read)\n',
};

/** The agent writes a wrong answer, runs the tests, says done; in the fix round it edits the answer. */
const WRONG_THEN_FIXED: ScriptedTurn[] = [
  { toolCalls: [{ name: 'write_file', input: { path: 'answer.txt', content: '41\n' } }], usage: USAGE },
  { toolCalls: [{ name: 'bash', input: { command: 'sh check.sh' } }], usage: USAGE },
  { text: 'Done: answer.txt holds the answer.', usage: USAGE },
  {
    toolCalls: [{ name: 'edit_file', input: { path: 'answer.txt', old_string: '41', new_string: '42' } }],
    usage: USAGE,
  },
  { text: 'Fixed: the answer is 42 now.', usage: USAGE },
];

describe('the built-in agent, end to end through the engine, sandbox and gateway (Anthropic)', () => {
  const { state, submit, finish } = harnessEngine('builtin', (models) => ({
    ANTHROPIC_API_KEY: KEY,
    NIGHTSHIFT_ANTHROPIC_BASE_URL: models.url,
  }));

  it('fixes the failing gate in fix round one and publishes the change', async () => {
    const { repo, run: queued } = await submit('Put the answer in answer.txt', WRONG_THEN_FIXED, REPO_FILES);

    const { run, events } = await finish(queued.id);

    expect(run.conclusion).toBe('success');
    expect(await gitIn(repo, 'show', `${run.branch}:answer.txt`)).toBe('42');
    expect(ofType(events, 'gate.failed')).toHaveLength(1);
    expect(ofType(events, 'agent.tool_call').map((e) => e.data.name)).toEqual([
      'write_file',
      'bash',
      'edit_file',
    ]);
    const results = ofType(events, 'agent.tool_result').map((e) => e.data.output);
    expect(results[1]).toBe('exit code: 1\nanswer.txt is not 42\n');
    expect(ofType(events, 'agent.file_change').map((e) => e.data)).toEqual([
      { path: 'answer.txt', kind: 'added' },
      { path: 'answer.txt', kind: 'modified' },
    ]);
    expect(ofType(events, 'agent.usage').map((e) => e.data)).toEqual(
      Array.from({ length: 5 }, () => ({ inputTokens: 100, outputTokens: 20, model: 'claude-sonnet-4-5' })),
    );
    expect(ofType(events, 'agent.result').map((e) => e.data.text)).toEqual([
      'Done: answer.txt holds the answer.',
      'Fixed: the answer is 42 now.',
    ]);
    expect(ofType(events, 'model.call').map((e) => e.data)).toEqual(
      Array.from({ length: 5 }, () =>
        expect.objectContaining({
          step: 'agent',
          provider: 'anthropic',
          inputTokens: 100,
          outputTokens: 20,
          status: 200,
        }),
      ),
    );
    const { usage } = await state.engine.runDetails(run.id);
    expect(usage).toEqual([
      {
        step: 'agent',
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        calls: 5,
        inputTokens: 500,
        outputTokens: 100,
        costUsd: expect.any(Number),
      },
    ]);
    const metered = ofType(events, 'model.call').reduce((sum, e) => sum + e.data.costUsd, 0);
    expect(usage[0]!.costUsd).toBeCloseTo(metered, 10);
    expect(usage[0]!.costUsd).toBeGreaterThan(0);
  });

  it('reaches the model only through the gateway, which swaps the placeholder key for the real one', async () => {
    const calls = state.models.requests.filter((r) => r.path === '/v1/messages');

    expect(calls).toHaveLength(5);
    for (const call of calls) {
      expect(call.headers['x-api-key']).toBe(KEY);
      expect(JSON.stringify(call.headers)).not.toContain(GATEWAY_PLACEHOLDER_KEY);
    }
  });

  it('puts AGENTS.md in the system prompt and continues the conversation in the fix round', async () => {
    const calls = state.models.requests.filter((r) => r.path === '/v1/messages');
    const first = JSON.stringify(calls[0]!.body);
    const fixRound = JSON.stringify(calls[3]!.body);

    expect(first).toContain('agents-md-was-read');
    expect(fixRound).toContain('Put the answer in answer.txt');
    expect(fixRound).toContain('The check `sh check.sh` failed');
    expect(fixRound).toContain('answer.txt is not 42');
  });

  it('stops the agent mid-command when the run is cancelled, and concludes cancelled', async () => {
    const marker = `builtin-cancel-${Date.now()}`;
    const { run } = await submit('Wait forever', [
      { toolCalls: [{ name: 'bash', input: { command: `sleep 600 # ${marker}` } }], usage: USAGE },
    ]);
    await waitFor(() => processesWith(marker).length > 0);

    const asked = Date.now();
    await state.engine.store.requestCancel(run.id, 'tester');
    const { run: done, events } = await finish(run.id);

    expect(done.conclusion).toBe('cancelled');
    expect(Date.now() - asked).toBeLessThan(5_000);
    expect(processesWith(marker)).toEqual([]);
    expect(ofType(events, 'agent.tool_call').map((e) => e.data.name)).toEqual(['bash']);
  });
});

describe('the built-in agent on OpenAI Chat Completions', () => {
  const { state, submit, finish } = harnessEngine('builtin', (models) => ({
    OPENAI_API_KEY: KEY,
    NIGHTSHIFT_OPENAI_BASE_URL: `${models.url}/v1`,
  }));

  it('fixes the failing gate in fix round one and publishes the change', async () => {
    const { repo, run: queued } = await submit('Put the answer in answer.txt', WRONG_THEN_FIXED, REPO_FILES);

    const { run, events } = await finish(queued.id);

    expect(run.conclusion).toBe('success');
    expect(await gitIn(repo, 'show', `${run.branch}:answer.txt`)).toBe('42');
    const calls = state.models.requests.filter((r) => r.path === '/v1/chat/completions');
    expect(calls).toHaveLength(5);
    expect(calls.map((c) => c.headers.authorization)).toEqual(Array(5).fill(`Bearer ${KEY}`));
    expect((calls[0]!.body as { model: string }).model).toBe('gpt-5');
    expect(ofType(events, 'agent.file_change')).toHaveLength(2);
    expect(ofType(events, 'model.call').map((e) => e.data.provider)).toEqual(Array(5).fill('openai'));
  });
});

describe('the built-in agent without a model provider', () => {
  const { submit, finish } = harnessEngine('builtin', () => ({}));

  it('fails the run saying which key to set', async () => {
    const { run: queued } = await submit('Anything', [], REPO_FILES);

    const { run } = await finish(queued.id);

    expect(run.conclusion).toBe('error');
    expect(run.reason).toMatch(/ANTHROPIC_API_KEY or OPENAI_API_KEY/);
  });
});

describe('a built-in agent session', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-builtin-session-'));
  const script: ScriptedTurn[] = [];
  let models: ModelServer;
  let gateway: Awaited<ReturnType<typeof startModelGateway>>;
  let sandbox: Sandbox;
  let sessions = 0;

  beforeAll(async () => {
    models = await startModelServer({ script });
    gateway = await startModelGateway({
      providers: { anthropic: { apiKey: KEY, baseUrl: models.url } },
      socketPath: join(dir, 'model.sock'),
    });
    await makeRepo(join(dir, 'base'), { 'a.txt': 'a\n' });
    sandbox = await new LocalSandboxProvider().create({
      runId: 'run_0000000000builtinsession',
      baseDir: join(dir, 'base'),
      stateDir: join(dir, 'state'),
      limits: LIMITS,
    });
  });

  afterAll(async () => {
    await sandbox?.destroy({ discard: true });
    await gateway?.close();
    await models?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function start(prompt: string, signal = new AbortController().signal, resumeFrom?: string) {
    const harness = new BuiltinHarness();
    const sessionDir = join(dir, 'sessions', String(sessions));
    mkdirSync(sessionDir, { recursive: true });
    return harness.start(prompt, {
      runId: `run_session${sessions++}`,
      stepId: 'agent',
      sessionDir,
      resumeFrom,
      sandbox,
      env: {},
      modelGatewaySocket: gateway.socketPath,
      signal,
    });
  }

  async function collect(events: AsyncIterable<HarnessEvent>): Promise<HarnessEvent[]> {
    const seen: HarnessEvent[] = [];
    for await (const event of events) seen.push(event);
    return seen;
  }

  it('delivers follow-ups in order once the current turn finishes, continuing the conversation', async () => {
    let release = () => {};
    const hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const before = models.requests.length;
    script.push({ text: 'first answer', hold }, { text: 'second answer' }, { text: 'third answer' });
    const session = start('first question');
    const events = collect(session.events);
    await waitFor(() => models.requests.length > before);

    session.followUp('second question', 'alice');
    session.followUp('third question', null);
    release();
    const seen = await events;

    expect(seen.filter((e) => e.type === 'agent.message').map((e) => e.data)).toEqual([
      { text: 'first answer' },
      { text: 'second answer' },
      { text: 'third answer' },
    ]);
    expect(seen.at(-1)).toEqual({ type: 'agent.result', data: { text: 'third answer' } });
    const last = JSON.stringify(models.requests.at(-1)!.body);
    expect(last).toMatch(
      /first question.*first answer.*\[follow-up from alice\]\\nsecond question.*second answer.*third question/,
    );
  });

  it('stops within seconds mid-command, killing the command, and says who stopped it', async () => {
    const marker = `builtin-stop-${Date.now()}`;
    script.push({ toolCalls: [{ name: 'bash', input: { command: `sleep 600 # ${marker}` } }] });
    const session = start('wait');
    const events = collect(session.events);
    await waitFor(() => processesWith(marker).length > 0);

    const asked = Date.now();
    await session.stop('alice');
    const seen = await events;

    expect(Date.now() - asked).toBeLessThan(3_000);
    expect(processesWith(marker)).toEqual([]);
    expect(seen.at(-1)).toEqual({ type: 'agent.error', data: { message: 'the agent was stopped by alice' } });
  });

  it('resumes the conversation of an earlier session folder (a run continuing another)', async () => {
    script.push({ text: 'noted: 7' }, { text: 'it was 7' });
    const first = start('remember the number 7');
    await collect(first.events);
    const firstDir = join(dir, 'sessions', String(sessions - 1));

    const second = start('which number was it?', undefined, firstDir);
    const seen = await collect(second.events);

    expect(seen.at(-1)).toEqual({ type: 'agent.result', data: { text: 'it was 7' } });
    const last = JSON.stringify(models.requests.at(-1)!.body);
    expect(last).toMatch(/remember the number 7.*noted: 7.*which number was it\?/);
  });
});
