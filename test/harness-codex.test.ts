import { describe, expect, it } from 'vitest';
import { GATEWAY_KEY } from '../src/agents/cli/harness.ts';
import { describeCliSession } from './support/cli-session-tests.ts';
import { harnessEngine, ofType } from './support/harness-engine.ts';
import type { ScriptedTurn } from './support/model-server.ts';
import { gitIn } from './support/repos.ts';

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

describeCliSession({
  harness: 'codex',
  title: 'Codex',
  env: (models) => ({ OPENAI_API_KEY: KEY, NIGHTSHIFT_OPENAI_BASE_URL: `${models.url}/v1` }),
  shell,
  conversation: inputOf,
});
