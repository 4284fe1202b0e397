import { describe, expect, it } from 'vitest';
import { openCodeConfig, openCodeModel } from './index.ts';
import { OpenCodeParser } from './parse.ts';

const SESSION = 'ses_df748fd07ffeJyWXHJp7d5tbfY';
const line = (type: string, rest: Record<string, unknown>) => ({
  type,
  timestamp: 1,
  sessionID: SESSION,
  ...rest,
});
const tool = (name: string, callID: string, state: Record<string, unknown>) =>
  line('tool_use', { part: { type: 'tool', tool: name, callID, state, id: `prt_${callID}` } });
const finish = (input: number, output: number, cacheRead = 0) =>
  line('step_finish', {
    part: {
      type: 'step-finish',
      reason: 'stop',
      tokens: { input, output, cache: { read: cacheRead, write: 0 } },
    },
  });

/** Lines as `opencode run --format json` 1.18.33 prints them (trimmed). */
describe('reading opencode run --format json', () => {
  it('turns a turn into tool calls, results, file changes, messages and usage', () => {
    const parser = new OpenCodeParser('anthropic/claude-sonnet-4-5');

    const events = [
      line('step_start', { part: { type: 'step-start' } }),
      tool('bash', 'call_1', {
        status: 'completed',
        input: { command: 'sh check.sh', description: 'run the tests' },
        output: 'answer.txt is not 42\n',
        metadata: { output: 'answer.txt is not 42\n', exit: 1 },
      }),
      tool('write', 'call_2', {
        status: 'completed',
        input: { filePath: '/workspace/new.txt', content: 'hi\n' },
        output: 'Wrote file successfully.',
        metadata: { filepath: '/workspace/new.txt', exists: false },
      }),
      tool('edit', 'call_3', {
        status: 'completed',
        input: { filePath: 'src/a.ts', oldString: 'a', newString: 'b' },
        output: 'Edit applied successfully.',
        metadata: {},
      }),
      tool('read', 'call_4', {
        status: 'error',
        input: { filePath: '/workspace/missing.txt' },
        error: 'File not found: /workspace/missing.txt',
      }),
      finish(7620, 16, 100),
      line('text', { part: { type: 'text', text: 'Done.' } }),
      finish(50, 5),
    ].flatMap((l) => parser.push(l));

    expect(events).toEqual([
      {
        type: 'agent.tool_call',
        data: { id: 'call_1', name: 'bash', input: expect.objectContaining({ command: 'sh check.sh' }) },
      },
      {
        type: 'agent.tool_result',
        data: { id: 'call_1', output: 'exit code: 1\nanswer.txt is not 42\n', isError: true },
      },
      {
        type: 'agent.tool_call',
        data: {
          id: 'call_2',
          name: 'write',
          input: expect.objectContaining({ filePath: '/workspace/new.txt' }),
        },
      },
      { type: 'agent.tool_result', data: { id: 'call_2', output: 'Wrote file successfully.' } },
      { type: 'agent.file_change', data: { path: 'new.txt', kind: 'added' } },
      {
        type: 'agent.tool_call',
        data: { id: 'call_3', name: 'edit', input: expect.objectContaining({ filePath: 'src/a.ts' }) },
      },
      { type: 'agent.tool_result', data: { id: 'call_3', output: 'Edit applied successfully.' } },
      { type: 'agent.file_change', data: { path: 'src/a.ts', kind: 'modified' } },
      {
        type: 'agent.tool_call',
        data: { id: 'call_4', name: 'read', input: { filePath: '/workspace/missing.txt' } },
      },
      {
        type: 'agent.tool_result',
        data: { id: 'call_4', output: 'File not found: /workspace/missing.txt', isError: true },
      },
      {
        type: 'agent.usage',
        data: { inputTokens: 7720, outputTokens: 16, model: 'anthropic/claude-sonnet-4-5' },
      },
      { type: 'agent.message', data: { text: 'Done.' } },
      {
        type: 'agent.usage',
        data: { inputTokens: 50, outputTokens: 5, model: 'anthropic/claude-sonnet-4-5' },
      },
    ]);
    expect(parser.sessionId).toBe(SESSION);
    expect(parser.result).toBe('Done.');
    expect(parser.failure).toBeUndefined();
  });

  it('reports the error OpenCode gave up on', () => {
    const parser = new OpenCodeParser('anthropic/claude-sonnet-4-5');

    parser.push(
      line('error', {
        error: {
          name: 'APIError',
          data: { message: 'the script has no turn 9 (it has 3)', statusCode: 500 },
        },
      }),
    );

    expect(parser.failure).toBe('OpenCode reported an error: the script has no turn 9 (it has 3)');
  });

  it('ignores lines it does not know', () => {
    const parser = new OpenCodeParser('m');

    expect(parser.push({ type: 'reasoning', part: { text: 'hmm' } })).toEqual([]);
    expect(parser.push({ banner: true })).toEqual([]);
  });
});

describe('model specs for OpenCode', () => {
  it.each([
    [undefined, 'anthropic/claude-sonnet-4-5'],
    ['anthropic:claude-opus-4-1', 'anthropic/claude-opus-4-1'],
    ['openai:gpt-5', 'openai/gpt-5'],
    ['openai-responses:gpt-5-codex', 'openai/gpt-5-codex'],
    ['claude-haiku-4-5', 'anthropic/claude-haiku-4-5'],
  ])('%s becomes %s', (spec, model) => {
    expect(openCodeModel(spec)).toBe(model);
  });
});

describe('the OpenCode config', () => {
  it('points both providers at the gateway with the placeholder key and declares the model', () => {
    const config = JSON.parse(openCodeConfig('openai/gpt-9'));

    expect(config.provider.anthropic.options).toEqual({
      baseURL: '{env:ANTHROPIC_BASE_URL}/v1',
      apiKey: 'nightshift-gateway',
    });
    expect(config.provider.openai).toEqual({
      options: { baseURL: '{env:OPENAI_BASE_URL}', apiKey: 'nightshift-gateway' },
      models: { 'gpt-9': { name: 'gpt-9' } },
    });
    expect(config).toEqual(
      expect.objectContaining({
        model: 'openai/gpt-9',
        small_model: 'openai/gpt-9',
        autoupdate: false,
        share: 'disabled',
      }),
    );
  });
});
