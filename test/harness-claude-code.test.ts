import { describe, expect, it } from 'vitest';
import { GATEWAY_KEY } from '../src/agents/cli/harness.ts';
import { describeCliSession } from './support/cli-session-tests.ts';
import { harnessEngine, ofType } from './support/harness-engine.ts';
import type { ScriptedTurn } from './support/model-server.ts';
import { gitIn } from './support/repos.ts';

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

describeCliSession({
  harness: 'claude-code',
  title: 'Claude Code',
  env: (models) => ({ ANTHROPIC_API_KEY: KEY, NIGHTSHIFT_ANTHROPIC_BASE_URL: models.url }),
  shell: (command) => ({ toolCalls: [{ name: 'Bash', input: { command } }] }),
  conversation: (body) => JSON.stringify((body as { messages: unknown[] }).messages),
});
