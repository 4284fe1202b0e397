import { describe, expect, it } from 'vitest';
import { CodexParser } from './parse.ts';

/** Lines as `codex exec --json` 0.169.0 prints them (trimmed). */
describe('reading codex exec --json', () => {
  it('turns a turn into tool calls, results, file changes, messages and usage', () => {
    const parser = new CodexParser('gpt-5');
    const command = { id: 'item_1', type: 'command_execution', command: 'sh check.sh' };

    const events = [
      { type: 'thread.started', thread_id: 'thread-1' },
      { type: 'turn.started' },
      { type: 'item.completed', item: { id: 'item_0', type: 'error', message: 'Model metadata not found' } },
      {
        type: 'item.started',
        item: { ...command, aggregated_output: '', exit_code: null, status: 'in_progress' },
      },
      {
        type: 'item.completed',
        item: { ...command, aggregated_output: 'not 42\n', exit_code: 1, status: 'failed' },
      },
      {
        type: 'item.completed',
        item: {
          id: 'item_2',
          type: 'file_change',
          status: 'completed',
          changes: [
            { path: '/workspace/answer.txt', kind: 'update' },
            { path: '/workspace/new.txt', kind: 'add' },
          ],
        },
      },
      { type: 'item.completed', item: { id: 'item_3', type: 'agent_message', text: 'Fixed.' } },
      { type: 'turn.completed', usage: { input_tokens: 50, cached_input_tokens: 0, output_tokens: 5 } },
    ].flatMap((line) => parser.push(line));

    expect(events).toEqual([
      { type: 'agent.tool_call', data: { id: 'item_1', name: 'shell', input: { command: 'sh check.sh' } } },
      { type: 'agent.tool_result', data: { id: 'item_1', output: 'exit code: 1\nnot 42\n', isError: true } },
      { type: 'agent.file_change', data: { path: 'answer.txt', kind: 'modified' } },
      { type: 'agent.file_change', data: { path: 'new.txt', kind: 'added' } },
      { type: 'agent.message', data: { text: 'Fixed.' } },
      { type: 'agent.usage', data: { inputTokens: 50, outputTokens: 5, model: 'gpt-5' } },
    ]);
    expect(parser.sessionId).toBe('thread-1');
    expect(parser.result).toBe('Fixed.');
    expect(parser.failure).toBeUndefined();
  });

  it('emits the tool call once when only the completed item is printed', () => {
    const parser = new CodexParser('gpt-5');

    const events = parser.push({
      type: 'item.completed',
      item: { id: 'i', type: 'command_execution', command: 'true', aggregated_output: '', exit_code: 0 },
    });

    expect(events.map((e) => e.type)).toEqual(['agent.tool_call', 'agent.tool_result']);
  });

  it('reads an MCP tool call as server.tool, with the text of its result, failed when the tool says so', () => {
    const parser = new CodexParser('gpt-5');
    const call = {
      type: 'mcp_tool_call',
      server: 'nightshift',
      tool: 'run_status',
      arguments: { id: 'run_x' },
    };
    const text = (t: string) => ({ content: [{ type: 'text', text: t }], structured_content: null });

    const events = [
      {
        type: 'item.started',
        item: { id: 'item_1', ...call, result: null, error: null, status: 'in_progress' },
      },
      {
        type: 'item.completed',
        item: { id: 'item_1', ...call, result: text('status: queued'), error: null, status: 'completed' },
      },
      {
        type: 'item.completed',
        item: { id: 'item_2', ...call, result: text('refused: no'), error: null, status: 'failed' },
      },
      {
        type: 'item.completed',
        item: { id: 'item_3', ...call, result: null, error: { message: 'server gone' }, status: 'failed' },
      },
    ].flatMap((line) => parser.push(line));

    expect(events.filter((e) => e.type === 'agent.tool_result').map((e) => e.data)).toEqual([
      { id: 'item_1', output: 'status: queued' },
      { id: 'item_2', output: 'refused: no', isError: true },
      { id: 'item_3', output: 'server gone', isError: true },
    ]);
    expect(events[0]).toEqual({
      type: 'agent.tool_call',
      data: { id: 'item_1', name: 'nightshift.run_status', input: { id: 'run_x' } },
    });
  });

  it.each([
    [
      { type: 'turn.failed', error: { message: 'stream disconnected' } },
      'Codex failed the turn: stream disconnected',
    ],
    [{ type: 'error', message: 'unexpected status 401' }, 'Codex reported an error: unexpected status 401'],
  ])('makes %j the turn’s failure', (line, failure) => {
    const parser = new CodexParser('gpt-5');

    parser.push(line);

    expect(parser.failure).toBe(failure);
  });
});
