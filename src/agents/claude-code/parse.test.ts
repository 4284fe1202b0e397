import { describe, expect, it } from 'vitest';
import { ClaudeCodeParser } from './parse.ts';

/** Lines as Claude Code 2.1.330 prints them with `--output-format stream-json --verbose` (trimmed). */
const init = { type: 'system', subtype: 'init', session_id: 'sess-1', model: 'claude-sonnet-4-5' };
const assistant = (content: unknown[]) => ({ type: 'assistant', message: { content }, session_id: 'sess-1' });
const toolResult = (id: string, content: unknown, extra: Record<string, unknown> = {}) => ({
  type: 'user',
  message: { content: [{ type: 'tool_result', tool_use_id: id, content, ...extra }] },
  session_id: 'sess-1',
});

describe('reading Claude Code stream-json', () => {
  it('turns a turn into messages, tool calls, results, file changes, usage and the answer', () => {
    const parser = new ClaudeCodeParser();

    const events = [
      init,
      assistant([{ type: 'text', text: 'Writing it.' }]),
      assistant([
        {
          type: 'tool_use',
          id: 't1',
          name: 'Write',
          input: { file_path: '/workspace/a/b.txt', content: 'x' },
        },
      ]),
      {
        ...toolResult('t1', 'File created'),
        tool_use_result: { type: 'create', filePath: '/workspace/a/b.txt' },
      },
      assistant([{ type: 'tool_use', id: 't2', name: 'Bash', input: { command: 'false' } }]),
      toolResult('t2', [{ type: 'text', text: 'Exit code 1' }], { is_error: true }),
      assistant([{ type: 'tool_use', id: 't3', name: 'Edit', input: { file_path: 'a/b.txt' } }]),
      toolResult('t3', 'ok'),
      {
        type: 'result',
        subtype: 'success',
        result: 'All done.',
        usage: { input_tokens: 10, output_tokens: 3 },
      },
    ].flatMap((line) => parser.push(line));

    expect(events).toEqual([
      { type: 'agent.message', data: { text: 'Writing it.' } },
      {
        type: 'agent.tool_call',
        data: { id: 't1', name: 'Write', input: { file_path: '/workspace/a/b.txt', content: 'x' } },
      },
      { type: 'agent.tool_result', data: { id: 't1', output: 'File created' } },
      { type: 'agent.file_change', data: { path: 'a/b.txt', kind: 'added' } },
      { type: 'agent.tool_call', data: { id: 't2', name: 'Bash', input: { command: 'false' } } },
      { type: 'agent.tool_result', data: { id: 't2', output: 'Exit code 1', isError: true } },
      { type: 'agent.tool_call', data: { id: 't3', name: 'Edit', input: { file_path: 'a/b.txt' } } },
      { type: 'agent.tool_result', data: { id: 't3', output: 'ok' } },
      { type: 'agent.file_change', data: { path: 'a/b.txt', kind: 'modified' } },
      { type: 'agent.usage', data: { inputTokens: 10, outputTokens: 3, model: 'claude-sonnet-4-5' } },
    ]);
    expect(parser.sessionId).toBe('sess-1');
    expect(parser.result).toBe('All done.');
    expect(parser.failure).toBeUndefined();
  });

  it('reports no file change for a failed edit', () => {
    const parser = new ClaudeCodeParser();
    parser.push(
      assistant([{ type: 'tool_use', id: 't1', name: 'Edit', input: { file_path: '/workspace/x' } }]),
    );

    const events = parser.push(toolResult('t1', 'String not found', { is_error: true }));

    expect(events.map((e) => e.type)).toEqual(['agent.tool_result']);
  });

  it.each([
    [{ type: 'result', subtype: 'error_max_turns', is_error: true }, 'error_max_turns'],
    [{ type: 'result', subtype: 'success', is_error: true, result: 'API Error: 401' }, 'API Error: 401'],
  ])('makes an error result the turn’s failure (%j)', (line, detail) => {
    const parser = new ClaudeCodeParser();

    parser.push(line);

    expect(parser.failure).toBe(`Claude Code ended the turn with an error: ${detail}`);
    expect(parser.result).toBeUndefined();
  });
});
