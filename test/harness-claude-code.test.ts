import { describe, expect, it } from 'vitest';
import { GATEWAY_KEY } from '../src/agents/cli/harness.ts';
import { collect, harnessEngine, ofType, startHarness, waitFor } from './support/harness-engine.ts';
import type { ScriptedTurn } from './support/model-server.ts';
import { gitIn, processesWith } from './support/repos.ts';

const KEY = 'sk-ant-test-real-key-0123456789';
const USAGE = { inputTokens: 100, outputTokens: 20 };

/** Claude Code writes a wrong answer, runs the tests, says done; in the fix round it reads and edits. */
const WRONG_THEN_FIXED: ScriptedTurn[] = [
  {
    toolCalls: [{ name: 'Write', input: { file_path: '/workspace/answer.txt', content: '41\n' } }],
    usage: USAGE,
  },
  {
    toolCalls: [{ name: 'Bash', input: { command: 'sh check.sh', description: 'run the tests' } }],
    usage: USAGE,
  },
  { text: 'Done: answer.txt holds the answer.', usage: USAGE },
  { toolCalls: [{ name: 'Read', input: { file_path: '/workspace/answer.txt' } }], usage: USAGE },
  {
    toolCalls: [
      { name: 'Edit', input: { file_path: '/workspace/answer.txt', old_string: '41', new_string: '42' } },
    ],
    usage: USAGE,
  },
  { text: 'Fixed: the answer is 42 now.', usage: USAGE },
];

describe('Claude Code, end to end through the engine, sandbox and gateway', { timeout: 180_000 }, () => {
  const { state, submit, finish } = harnessEngine('claude-code', (models) => ({
    ANTHROPIC_API_KEY: KEY,
    NIGHTSHIFT_ANTHROPIC_BASE_URL: models.url,
  }));

  it('fixes the failing gate in fix round one and publishes the change', async () => {
    const { repo, run: queued } = await submit('Put the answer in answer.txt', WRONG_THEN_FIXED);

    const { run, events } = await finish(queued.id);

    expect(run.reason).toBeNull();
    expect(run.conclusion).toBe('success');
    expect(await gitIn(repo, 'show', `${run.branch}:answer.txt`)).toBe('42');
    expect(ofType(events, 'gate.failed')).toHaveLength(1);
    expect(ofType(events, 'agent.tool_call').map((e) => e.data.name)).toEqual([
      'Write',
      'Bash',
      'Read',
      'Edit',
    ]);
    const results = ofType(events, 'agent.tool_result').map((e) => e.data);
    expect(results[1]).toEqual(expect.objectContaining({ isError: true }));
    expect(results[1]!.output).toContain('answer.txt is not 42');
    expect(ofType(events, 'agent.file_change').map((e) => e.data)).toEqual([
      { path: 'answer.txt', kind: 'added' },
      { path: 'answer.txt', kind: 'modified' },
    ]);
    expect(ofType(events, 'agent.result').map((e) => e.data.text)).toEqual([
      'Done: answer.txt holds the answer.',
      'Fixed: the answer is 42 now.',
    ]);
    expect(ofType(events, 'agent.usage').map((e) => e.data)).toEqual([
      { inputTokens: 300, outputTokens: 60, model: 'claude-sonnet-4-5' },
      { inputTokens: 300, outputTokens: 60, model: 'claude-sonnet-4-5' },
    ]);
    expect(ofType(events, 'model.call').map((e) => e.data)).toEqual(
      Array.from({ length: 6 }, () =>
        expect.objectContaining({ provider: 'anthropic', inputTokens: 100, outputTokens: 20, status: 200 }),
      ),
    );
  });

  it('reaches the model only through the gateway, with the real key added there', async () => {
    const calls = state.models.requests;

    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(Array(6).fill('POST /v1/messages?beta=true'));
    for (const call of calls) {
      expect(call.headers['x-api-key']).toBe(KEY);
      expect(JSON.stringify(call.headers)).not.toContain(GATEWAY_KEY);
    }
  });

  it('continues the same conversation in the fix round', async () => {
    const fixRound = JSON.stringify(state.models.requests[3]!.body);

    expect(fixRound).toContain('Put the answer in answer.txt');
    expect(fixRound).toContain('Done: answer.txt holds the answer.');
    expect(fixRound).toContain('answer.txt is not 42');
  });
});

describe('a Claude Code session', { timeout: 180_000 }, () => {
  const { state } = harnessEngine('claude-code', (models) => ({
    ANTHROPIC_API_KEY: KEY,
    NIGHTSHIFT_ANTHROPIC_BASE_URL: models.url,
  }));
  const harness = () => state.engine.harnesses.get('claude-code');
  const userTexts = (body: unknown) => JSON.stringify((body as { messages: unknown[] }).messages);

  it('delivers follow-ups in order once the current turn ends, continuing the conversation', async () => {
    let release = () => {};
    const hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const before = state.models.requests.length;
    state.script.push({ text: 'first answer', hold }, { text: 'second answer' }, { text: 'third answer' });
    const started = await startHarness(state.engine, harness(), 'first question', { dir: state.dir });
    const events = collect(started.session.events);
    await waitFor(() => state.models.requests.length > before);

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
    const calls = state.models.requests.slice(before);
    expect(calls).toHaveLength(3);
    expect(userTexts(calls[2]!.body)).toMatch(
      /first question.*first answer.*\[follow-up from alice\]\\nsecond question.*second answer.*third question/,
    );
  });

  it('stops within seconds mid-command, killing Claude Code and its command, and says who stopped it', async () => {
    const marker = `claude-stop-${Date.now()}`;
    state.script.push({
      toolCalls: [{ name: 'Bash', input: { command: `echo waiting; sleep 600 # ${marker}` } }],
    });
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
    const before = state.models.requests.length;

    const second = await startHarness(state.engine, harness(), 'which number was it?', {
      dir: state.dir,
      resumeFrom: first.sessionDir,
    });
    const seen = await collect(second.session.events);
    await second.release();

    expect(seen.at(-1)).toEqual({ type: 'agent.result', data: { text: 'it was 7' } });
    expect(userTexts(state.models.requests[before]!.body)).toMatch(
      /remember the number 7.*noted: 7.*which number was it\?/,
    );
  });
});
