import type { HarnessEvent } from '../../core/events.ts';
import { relativeToWorkspace } from '../cli/paths.ts';
import type { TurnParser } from '../cli/session.ts';

type Json = Record<string, unknown>;

const FILE_KINDS: Record<string, 'added' | 'modified' | 'deleted'> = {
  add: 'added',
  update: 'modified',
  delete: 'deleted',
};

/**
 * An MCP tool call's output: the text of its result (a tool that failed, `isError`, has one too),
 * else its error (the server could not be reached), else the result as JSON.
 */
function mcpOutput(item: Json): string {
  const content = (item.result as Json | null)?.content;
  const texts = Array.isArray(content)
    ? content.flatMap((part: Json) =>
        part.type === 'text' && typeof part.text === 'string' ? [part.text] : [],
      )
    : [];
  if (texts.length > 0) return texts.join('\n');
  const error = item.error as Json | string | null | undefined;
  if (error) return typeof error === 'string' ? error : String(error.message ?? JSON.stringify(error));
  return JSON.stringify(item.result) ?? '';
}

/**
 * Reads `codex exec --json` lines: `thread.started` (the thread id resumed later), `item.*`
 * (agent messages, command executions, file changes, MCP and web tool calls), `turn.completed`
 * (usage) and `turn.failed` / `error`.
 */
export class CodexParser implements TurnParser {
  sessionId: string | undefined;
  result: string | undefined;
  failure: string | undefined;
  private readonly started = new Set<string>();

  constructor(private readonly model: string) {}

  push(line: Json): HarnessEvent[] {
    switch (line.type) {
      case 'thread.started':
        if (typeof line.thread_id === 'string') this.sessionId = line.thread_id;
        return [];
      case 'item.started':
        return this.item((line.item ?? {}) as Json, false);
      case 'item.completed':
        return this.item((line.item ?? {}) as Json, true);
      case 'turn.completed': {
        const usage = (line.usage ?? {}) as Json;
        return [
          {
            type: 'agent.usage',
            data: {
              inputTokens: Number(usage.input_tokens ?? 0),
              outputTokens: Number(usage.output_tokens ?? 0),
              model: this.model,
            },
          },
        ];
      }
      case 'turn.failed':
        this.failure = `Codex failed the turn: ${String(((line.error ?? {}) as Json).message ?? 'unknown error')}`;
        return [];
      case 'error':
        this.failure = `Codex reported an error: ${String(line.message ?? 'unknown error')}`;
        return [];
      default:
        return [];
    }
  }

  private item(item: Json, completed: boolean): HarnessEvent[] {
    const id = String(item.id ?? '');
    const events: HarnessEvent[] = [];
    const call = (name: string, input: unknown) => {
      if (this.started.has(id)) return;
      this.started.add(id);
      events.push({ type: 'agent.tool_call', data: { id, name, input } });
    };
    switch (item.type) {
      case 'agent_message':
        if (completed && typeof item.text === 'string') {
          this.result = item.text;
          if (item.text.trim()) events.push({ type: 'agent.message', data: { text: item.text } });
        }
        break;
      case 'command_execution':
        call('shell', { command: item.command });
        if (completed) {
          const exitCode = typeof item.exit_code === 'number' ? item.exit_code : null;
          const output = `exit code: ${exitCode ?? 'none'}\n${String(item.aggregated_output ?? '')}`;
          events.push({
            type: 'agent.tool_result',
            data: { id, output, ...(exitCode === 0 ? {} : { isError: true }) },
          });
        }
        break;
      case 'mcp_tool_call':
        call(`${String(item.server)}.${String(item.tool)}`, item.arguments ?? {});
        if (completed) {
          const failed = item.status === 'failed';
          events.push({
            type: 'agent.tool_result',
            data: { id, output: mcpOutput(item), ...(failed ? { isError: true } : {}) },
          });
        }
        break;
      case 'file_change':
        if (completed && item.status !== 'failed' && Array.isArray(item.changes)) {
          for (const change of item.changes as Json[]) {
            events.push({
              type: 'agent.file_change',
              data: {
                path: relativeToWorkspace(String(change.path)),
                kind: FILE_KINDS[String(change.kind)] ?? 'modified',
              },
            });
          }
        }
        break;
      default:
        break;
    }
    return events;
  }
}
