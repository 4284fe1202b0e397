import type { HarnessEvent } from '../../core/events.ts';
import { relativeToWorkspace } from '../cli/paths.ts';
import type { TurnParser } from '../cli/session.ts';

type Json = Record<string, unknown>;

/** OpenCode's tools that write one file (input field `filePath`). */
const FILE_TOOLS = new Set(['write', 'edit']);

/**
 * Reads `opencode run --format json` lines. Each line carries the `sessionID` (resumed later with
 * `--session`) and a message `part`: `text` (assistant text), `tool_use` (a tool call, printed
 * once it finished, with its input and output or error), `step_finish` (one model call's tokens)
 * and `error` (the turn failed).
 */
export class OpenCodeParser implements TurnParser {
  sessionId: string | undefined;
  result: string | undefined;
  failure: string | undefined;

  constructor(private readonly model: string) {}

  push(line: Json): HarnessEvent[] {
    if (typeof line.sessionID === 'string') this.sessionId = line.sessionID;
    const part = (line.part ?? {}) as Json;
    switch (line.type) {
      case 'text': {
        const text = typeof part.text === 'string' ? part.text : '';
        this.result = text;
        return text.trim() ? [{ type: 'agent.message', data: { text } }] : [];
      }
      case 'tool_use':
        return this.tool(part);
      case 'step_finish': {
        const tokens = (part.tokens ?? {}) as Json;
        const cache = (tokens.cache ?? {}) as Json;
        const input = Number(tokens.input ?? 0) + Number(cache.read ?? 0) + Number(cache.write ?? 0);
        return [
          {
            type: 'agent.usage',
            data: { inputTokens: input, outputTokens: Number(tokens.output ?? 0), model: this.model },
          },
        ];
      }
      case 'error':
        this.failure = `OpenCode reported an error: ${errorMessage(line.error)}`;
        return [];
      default:
        return [];
    }
  }

  private tool(part: Json): HarnessEvent[] {
    const id = String(part.callID ?? part.id ?? '');
    const name = String(part.tool ?? 'tool');
    const state = (part.state ?? {}) as Json;
    const input = (state.input ?? {}) as Json;
    const events: HarnessEvent[] = [{ type: 'agent.tool_call', data: { id, name, input } }];
    if (state.status === 'error') {
      events.push({
        type: 'agent.tool_result',
        data: { id, output: String(state.error ?? ''), isError: true },
      });
      return events;
    }
    if (state.status !== 'completed') return events;
    const metadata = (state.metadata ?? {}) as Json;
    const exit = typeof metadata.exit === 'number' ? metadata.exit : null;
    const output = String(state.output ?? '');
    const failed = name === 'bash' && exit !== 0;
    events.push({
      type: 'agent.tool_result',
      data: {
        id,
        output: name === 'bash' ? `exit code: ${exit ?? 'none'}\n${output}` : output,
        ...(failed ? { isError: true } : {}),
      },
    });
    if (FILE_TOOLS.has(name) && typeof input.filePath === 'string') {
      events.push({
        type: 'agent.file_change',
        data: {
          path: relativeToWorkspace(input.filePath),
          kind: name === 'write' && metadata.exists === false ? 'added' : 'modified',
        },
      });
    }
    return events;
  }
}

/** OpenCode's errors are `{ name, data: { message } }`. */
function errorMessage(error: unknown): string {
  if (typeof error === 'string') return error;
  const value = (error ?? {}) as Json;
  const data = (value.data ?? {}) as Json;
  return String(data.message ?? value.message ?? value.name ?? 'unknown error');
}
