import type { HarnessEvent } from '../../core/events.ts';
import { relativeToWorkspace } from '../cli/paths.ts';
import type { TurnParser } from '../cli/session.ts';

type Json = Record<string, unknown>;

/** Claude Code's tools that change one file, and the input field naming it. */
const FILE_TOOLS: Record<string, string> = {
  Write: 'file_path',
  Edit: 'file_path',
  MultiEdit: 'file_path',
  NotebookEdit: 'notebook_path',
};

function text(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content === undefined ? '' : JSON.stringify(content);
  return (content as Json[])
    .map((part) => (part.type === 'text' && typeof part.text === 'string' ? part.text : ''))
    .join('');
}

/**
 * Reads Claude Code's `--output-format stream-json --verbose` lines: `system` (init, with the
 * session id), `assistant` (text and tool_use blocks), `user` (tool_result blocks) and the final
 * `result` (answer, usage, or the error subtype).
 */
export class ClaudeCodeParser implements TurnParser {
  sessionId: string | undefined;
  result: string | undefined;
  failure: string | undefined;
  private model: string | undefined;
  private readonly fileCalls = new Map<string, string>();

  push(line: Json): HarnessEvent[] {
    if (typeof line.session_id === 'string') this.sessionId = line.session_id;
    const message = (line.message ?? {}) as Json;
    const blocks = Array.isArray(message.content) ? (message.content as Json[]) : [];
    switch (line.type) {
      case 'system':
        if (typeof line.model === 'string') this.model = line.model;
        return [];
      case 'assistant':
        return blocks.flatMap((block): HarnessEvent[] => {
          if (block.type === 'text' && typeof block.text === 'string' && block.text.trim()) {
            return [{ type: 'agent.message', data: { text: block.text } }];
          }
          if (block.type !== 'tool_use') return [];
          const id = String(block.id);
          const name = String(block.name);
          const field = FILE_TOOLS[name];
          const input = (block.input ?? {}) as Json;
          if (field && typeof input[field] === 'string') this.fileCalls.set(id, input[field]);
          return [{ type: 'agent.tool_call', data: { id, name, input } }];
        });
      case 'user':
        return blocks.flatMap((block): HarnessEvent[] => {
          if (block.type !== 'tool_result') return [];
          const id = String(block.tool_use_id);
          const isError = block.is_error === true;
          const events: HarnessEvent[] = [
            {
              type: 'agent.tool_result',
              data: { id, output: text(block.content), ...(isError ? { isError } : {}) },
            },
          ];
          const path = this.fileCalls.get(id);
          if (path && !isError) {
            const created = ((line.tool_use_result ?? {}) as Json).type === 'create';
            events.push({
              type: 'agent.file_change',
              data: { path: relativeToWorkspace(path), kind: created ? 'added' : 'modified' },
            });
          }
          return events;
        });
      case 'result': {
        const usage = (line.usage ?? {}) as Json;
        const events: HarnessEvent[] = [
          {
            type: 'agent.usage',
            data: {
              inputTokens: Number(usage.input_tokens ?? 0),
              outputTokens: Number(usage.output_tokens ?? 0),
              ...(this.model ? { model: this.model } : {}),
            },
          },
        ];
        if (line.is_error === true || (typeof line.subtype === 'string' && line.subtype !== 'success')) {
          const detail = typeof line.result === 'string' && line.result ? line.result : String(line.subtype);
          this.failure = `Claude Code ended the turn with an error: ${detail}`;
        } else this.result = typeof line.result === 'string' ? line.result : '';
        return events;
      }
      default:
        return [];
    }
  }
}
