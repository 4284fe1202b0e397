import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GATEWAY_KEY } from '../src/agents/cli/harness.ts';
import { describeCliSession } from './support/cli-session-tests.ts';
import { harnessEngine, ofType, REPO_FILES } from './support/harness-engine.ts';
import type { ScriptedTurn } from './support/model-server.ts';
import { gitIn, makeRepo } from './support/repos.ts';

const KEY = 'sk-ant-test-real-key-0123456789';
const USAGE = { inputTokens: 100, outputTokens: 20 };
/**
 * A turn running `command` with OpenCode's bash tool (`bash -c COMMAND`). The trailing `exit $?`
 * keeps bash from exec-ing the last command in its place, so the command line, with the stop
 * test's marker, stays visible in /proc while it runs; the exit code is the command's.
 */
const shell = (command: string): ScriptedTurn => ({
  toolCalls: [{ name: 'bash', input: { command: `${command}\nexit $?`, description: 'run a command' } }],
  usage: USAGE,
});

/** OpenCode writes a wrong answer with its bash tool, runs the tests, says done; in the fix round it rewrites it. */
const WRONG_THEN_FIXED: ScriptedTurn[] = [
  shell("printf '41\\n' > answer.txt"),
  shell('sh check.sh'),
  { text: 'Done: answer.txt holds the answer.', usage: USAGE },
  shell("sed -i 's/41/42/' answer.txt"),
  { text: 'Fixed: the answer is 42 now.', usage: USAGE },
];

/** The `messages` of an Anthropic Messages request, as text, to look for earlier turns in it. */
const messagesOf = (body: unknown) => JSON.stringify((body as { messages: unknown[] }).messages);

describe('OpenCode, end to end through the engine, sandbox and gateway', { timeout: 180_000 }, () => {
  const { state, submit, finish } = harnessEngine('opencode', (models) => ({
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
    const calls = ofType(events, 'agent.tool_call').map((e) => e.data);
    expect(calls.map((c) => c.name)).toEqual(['bash', 'bash', 'bash']);
    expect(JSON.stringify(calls[1]!.input)).toContain('sh check.sh');
    const results = ofType(events, 'agent.tool_result').map((e) => e.data);
    expect(results[1]).toEqual(expect.objectContaining({ isError: true }));
    expect(results[1]!.output).toContain('answer.txt is not 42');
    expect(ofType(events, 'agent.result').map((e) => e.data.text)).toEqual([
      'Done: answer.txt holds the answer.',
      'Fixed: the answer is 42 now.',
    ]);
    expect(ofType(events, 'agent.usage').map((e) => e.data)).toEqual(
      Array.from({ length: 5 }, () => ({
        inputTokens: 100,
        outputTokens: 20,
        model: 'anthropic/claude-sonnet-4-5',
      })),
    );
    expect(ofType(events, 'model.call').map((e) => e.data)).toEqual(
      Array.from({ length: 5 }, () =>
        expect.objectContaining({ provider: 'anthropic', inputTokens: 100, outputTokens: 20, status: 200 }),
      ),
    );
  });

  it('reaches the model only through the gateway (Anthropic Messages), with the real key added there', async () => {
    const calls = state.models.requests.filter((c) => c.method === 'POST');

    expect(calls.map((c) => c.path)).toEqual(Array(5).fill('/v1/messages'));
    for (const call of calls) {
      expect(call.headers['x-api-key']).toBe(KEY);
      expect(JSON.stringify(call.headers)).not.toContain(GATEWAY_KEY);
    }
  });

  it('continues the same conversation in the fix round', async () => {
    const calls = state.models.requests.filter((c) => c.method === 'POST');
    const fixRound = messagesOf(calls[3]!.body);

    expect(fixRound).toContain('Put the answer in answer.txt');
    expect(fixRound).toContain('Done: answer.txt holds the answer.');
    expect(fixRound).toContain('answer.txt is not 42');
  });
});

describe('OpenCode with an OpenAI model (`openai:NAME`)', { timeout: 180_000 }, () => {
  const OPENAI_KEY = 'sk-openai-test-real-key-0123456789';
  const { state, finish } = harnessEngine('opencode', (models) => ({
    OPENAI_API_KEY: OPENAI_KEY,
    NIGHTSHIFT_OPENAI_BASE_URL: `${models.url}/v1`,
  }));

  it('works over the Responses API through the gateway, with the real key added there', async () => {
    state.script.push(shell("printf '42\\n' > answer.txt"), { text: 'Done.' });
    const repo = join(state.dir, 'repo-openai');
    await makeRepo(repo, REPO_FILES);
    const queued = await state.engine.submit({ repo, prompt: 'Put 42 in answer.txt', model: 'openai:gpt-5' });

    const { run, events } = await finish(queued.id);

    expect(run.reason).toBeNull();
    expect(run.conclusion).toBe('success');
    expect(await gitIn(repo, 'show', `${run.branch}:answer.txt`)).toBe('42');
    expect(ofType(events, 'agent.result').map((e) => e.data.text)).toEqual(['Done.']);
    const calls = state.models.requests.filter((c) => c.method === 'POST');
    expect(calls.map((c) => [c.path, (c.body as { model: string }).model])).toEqual([
      ['/v1/responses', 'gpt-5'],
      ['/v1/responses', 'gpt-5'],
    ]);
    for (const call of calls) expect(call.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
  });
});

describeCliSession({
  harness: 'opencode',
  title: 'OpenCode',
  env: (models) => ({ ANTHROPIC_API_KEY: KEY, NIGHTSHIFT_ANTHROPIC_BASE_URL: models.url }),
  shell,
  conversation: messagesOf,
});
