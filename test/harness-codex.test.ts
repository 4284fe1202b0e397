import { describe, expect, it } from 'vitest';
import { GATEWAY_KEY } from '../src/agents/cli/harness.ts';
import { collect, harnessEngine, ofType, startHarness, waitFor } from './support/harness-engine.ts';
import type { ScriptedTurn } from './support/model-server.ts';
import { gitIn, processesWith } from './support/repos.ts';

const KEY = 'sk-openai-test-real-key-0123456789';
const USAGE = { inputTokens: 100, outputTokens: 20 };
const shell = (cmd: string): ScriptedTurn => ({
  toolCalls: [{ name: 'exec_command', input: { cmd, tty: false, yield_time_ms: 30_000 } }],
  usage: USAGE,
});

/** Codex writes a wrong answer with its shell, runs the tests, says done; in the fix round it rewrites it. */
const WRONG_THEN_FIXED: ScriptedTurn[] = [
  shell("printf '41\\n' > answer.txt"),
  shell('sh check.sh'),
  { text: 'Done: answer.txt holds the answer.', usage: USAGE },
  shell("sed -i 's/41/42/' answer.txt"),
  { text: 'Fixed: the answer is 42 now.', usage: USAGE },
];

/** The `input` items of a Responses request, as text, to look for earlier turns in it. */
const inputOf = (body: unknown) => JSON.stringify((body as { input: unknown[] }).input);

describe('Codex, end to end through the engine, sandbox and gateway', { timeout: 180_000 }, () => {
  const { state, submit, finish } = harnessEngine('codex', (models) => ({
    OPENAI_API_KEY: KEY,
    NIGHTSHIFT_OPENAI_BASE_URL: `${models.url}/v1`,
  }));

  it('fixes the failing gate in fix round one and publishes the change', async () => {
    const { repo, run: queued } = await submit('Put the answer in answer.txt', WRONG_THEN_FIXED);

    const { run, events } = await finish(queued.id);

    expect(run.reason).toBeNull();
    expect(run.conclusion).toBe('success');
    expect(await gitIn(repo, 'show', `${run.branch}:answer.txt`)).toBe('42');
    expect(ofType(events, 'gate.failed')).toHaveLength(1);
    const calls = ofType(events, 'agent.tool_call').map((e) => e.data);
    expect(calls.map((c) => c.name)).toEqual(['shell', 'shell', 'shell']);
    expect(JSON.stringify(calls[1]!.input)).toContain('sh check.sh');
    const results = ofType(events, 'agent.tool_result').map((e) => e.data);
    expect(results[1]).toEqual(expect.objectContaining({ isError: true }));
    expect(results[1]!.output).toContain('answer.txt is not 42');
    expect(ofType(events, 'agent.result').map((e) => e.data.text)).toEqual([
      'Done: answer.txt holds the answer.',
      'Fixed: the answer is 42 now.',
    ]);
    expect(ofType(events, 'agent.usage').map((e) => e.data)).toEqual([
      { inputTokens: 300, outputTokens: 60, model: 'gpt-5' },
      { inputTokens: 200, outputTokens: 40, model: 'gpt-5' },
    ]);
    expect(ofType(events, 'model.call').map((e) => e.data)).toEqual(
      Array.from({ length: 5 }, () =>
        expect.objectContaining({ provider: 'openai', inputTokens: 100, outputTokens: 20, status: 200 }),
      ),
    );
  });

  it('reaches the model only through the gateway (Responses API), with the real key added there', async () => {
    const calls = state.models.requests.filter((c) => c.method === 'POST');

    expect(calls.map((c) => c.path)).toEqual(Array(5).fill('/v1/responses'));
    for (const call of calls) {
      expect(call.headers.authorization).toBe(`Bearer ${KEY}`);
      expect(JSON.stringify(call.headers)).not.toContain(GATEWAY_KEY);
    }
  });

  it('continues the same conversation in the fix round', async () => {
    const calls = state.models.requests.filter((c) => c.method === 'POST');
    const fixRound = inputOf(calls[3]!.body);

    expect(fixRound).toContain('Put the answer in answer.txt');
    expect(fixRound).toContain('Done: answer.txt holds the answer.');
    expect(fixRound).toContain('answer.txt is not 42');
  });
});

describe('a Codex session', { timeout: 180_000 }, () => {
  const { state } = harnessEngine('codex', (models) => ({
    OPENAI_API_KEY: KEY,
    NIGHTSHIFT_OPENAI_BASE_URL: `${models.url}/v1`,
  }));
  const harness = () => state.engine.harnesses.get('codex');
  const posts = () => state.models.requests.filter((c) => c.method === 'POST');

  it('delivers follow-ups in order once the current turn ends, continuing the conversation', async () => {
    let release = () => {};
    const hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const before = posts().length;
    state.script.push({ text: 'first answer', hold }, { text: 'second answer' }, { text: 'third answer' });
    const started = await startHarness(state.engine, harness(), 'first question', { dir: state.dir });
    const events = collect(started.session.events);
    await waitFor(() => posts().length > before);

    started.session.followUp('second question', 'alice');
    started.session.followUp('third question', null);
    release();
    const seen = await events;
    await started.release();

    expect(seen.filter((e) => e.type === 'agent.message').map((e) => e.data)).toEqual([
      { text: 'first answer' },
      { text: 'second answer' },
      { text: 'third answer' },
    ]);
    expect(seen.at(-1)).toEqual({ type: 'agent.result', data: { text: 'third answer' } });
    const calls = posts().slice(before);
    expect(calls).toHaveLength(3);
    expect(inputOf(calls[2]!.body)).toMatch(
      /first question.*first answer.*\[follow-up from alice\]\\nsecond question.*second answer.*third question/,
    );
  });

  it('stops within seconds mid-command, killing Codex and its command, and says who stopped it', async () => {
    const marker = `codex-stop-${Date.now()}`;
    state.script.push(shell(`echo waiting; sleep 600 # ${marker}`));
    const started = await startHarness(state.engine, harness(), `wait (${marker}-prompt)`, {
      dir: state.dir,
    });
    const events = collect(started.session.events);
    await waitFor(() => processesWith(`sleep 600 # ${marker}`).length > 0);
    expect(processesWith(`${marker}-prompt`).length).toBeGreaterThan(0);

    const asked = Date.now();
    await started.session.stop('alice');
    const seen = await events;
    const stoppedAfter = Date.now() - asked;
    await started.release();

    expect(stoppedAfter).toBeLessThan(10_000);
    expect(processesWith(marker)).toEqual([]);
    expect(seen.at(-1)).toEqual({ type: 'agent.error', data: { message: 'the agent was stopped by alice' } });
  });

  it('resumes an earlier session folder in a new sandbox (a run continuing another)', async () => {
    state.script.push({ text: 'noted: 7' }, { text: 'it was 7' });
    const first = await startHarness(state.engine, harness(), 'remember the number 7', { dir: state.dir });
    await collect(first.session.events);
    await first.release();
    const before = posts().length;

    const second = await startHarness(state.engine, harness(), 'which number was it?', {
      dir: state.dir,
      resumeFrom: first.sessionDir,
    });
    const seen = await collect(second.session.events);
    await second.release();

    expect(seen.at(-1)).toEqual({ type: 'agent.result', data: { text: 'it was 7' } });
    expect(inputOf(posts()[before]!.body)).toMatch(/remember the number 7.*noted: 7.*which number was it\?/);
  });
});
