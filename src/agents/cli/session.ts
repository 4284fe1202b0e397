import type { HarnessEvent } from '../../core/events.ts';
import { type ConversationControl, startConversation } from '../conversation.ts';
import type { HarnessContext, HarnessSession } from '../types.ts';
import { jsonLine, LineSplitter } from './lines.ts';
import { adoptSession, readSaved, restoreSession, saveSession } from './state.ts';

/** Reads one turn's JSON lines; one instance per turn. */
export interface TurnParser {
  /** Normalized events for one JSON line of the CLI's output. */
  push(line: Record<string, unknown>): HarnessEvent[];
  /** The CLI's conversation id, once its output said it. */
  readonly sessionId: string | undefined;
  /** The turn's final answer, once known. */
  readonly result: string | undefined;
  /** Set when the CLI reported that the turn failed. */
  readonly failure: string | undefined;
}

/** What differs between agent CLIs: how a turn is started and how its output reads. */
export interface CliAdapter {
  /** Harness name, for messages. */
  name: string;
  /** True when the CLI's usage counts the whole conversation so far (Codex), not just the turn. */
  cumulativeUsage?: boolean;
  /** Where the CLI keeps its state inside the sandbox (saved to the session folder after each turn). */
  stateDir: string;
  /** Runs once before the first turn, after an earlier session is restored (e.g. writes the CLI's config). */
  setup?(): Promise<void>;
  /** The command of one turn: a new conversation (`sessionId` null) or the next message of one. */
  command(message: string, sessionId: string | null): { argv: string[]; env: Record<string, string> };
  parser(): TurnParser;
}

/**
 * Drives an agent CLI in the sandbox, one process per turn: the prompt, then each queued
 * follow-up once the turn before it ended, continuing the same conversation (the CLI's own
 * resume). The CLI's state folder is saved to `context.sessionDir` after every turn and restored
 * from there (or from `context.resumeFrom`) before the first.
 */
export function startCliSession(
  prompt: string,
  context: HarnessContext,
  adapter: CliAdapter,
): HarnessSession {
  let totals = { inputTokens: 0, outputTokens: 0 };
  return startConversation({ signal: context.signal, converse });

  /** Reports usage as this turn's share when the CLI counts the whole conversation. */
  function emitter(push: (event: HarnessEvent) => void) {
    return (event: HarnessEvent) => {
      if (event.type === 'agent.usage' && adapter.cumulativeUsage) {
        const { inputTokens, outputTokens } = event.data;
        // A resumed conversation starts counting from the saved totals: report this turn's share.
        push({
          type: 'agent.usage',
          data: {
            ...event.data,
            inputTokens: Math.max(0, inputTokens - totals.inputTokens),
            outputTokens: Math.max(0, outputTokens - totals.outputTokens),
          },
        });
        totals = { inputTokens, outputTokens };
      } else push(event);
    };
  }

  async function turn(
    control: ConversationControl,
    message: string,
    sessionId: string | null,
  ): Promise<TurnParser> {
    const { signal } = control;
    const emit = emitter(control.emit);
    const parser = adapter.parser();
    const lines = new LineSplitter();
    let stderr = '';
    const take = (line: string) => {
      const json = jsonLine(line);
      if (json) for (const event of parser.push(json)) emit(event);
    };
    const { argv, env } = adapter.command(message, sessionId);
    const result = await context.sandbox.exec(argv, {
      env: { ...context.env, ...env },
      signal,
      stdin: '',
      onOutput: (stream, text) => {
        if (stream === 'stdout') for (const line of lines.push(text)) take(line);
        else stderr = (stderr + text).slice(-4000);
      },
    });
    for (const line of lines.end()) take(line);
    if (result.cancelled || signal.aborted) throw new Error('aborted');
    if (parser.failure) throw new Error(parser.failure);
    if (result.exitCode !== 0) {
      const how =
        result.exitCode === null ? `was killed (${result.signal})` : `exited with code ${result.exitCode}`;
      throw new Error(
        `${adapter.name} ${how}${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-5).join('\n')}` : ''}`,
      );
    }
    return parser;
  }

  async function converse(control: ConversationControl): Promise<string> {
    if (context.resumeFrom) await adoptSession(context.resumeFrom, context.sessionDir);
    const saved = await readSaved(context.sessionDir);
    let sessionId = saved?.sessionId ?? null;
    if (sessionId && !(await restoreSession(context.sandbox, context.sessionDir, adapter.stateDir)))
      sessionId = null;
    if (sessionId && saved?.usage) totals = saved.usage;
    await adapter.setup?.();
    let message: string | undefined = prompt;
    let answer = '';
    while (message !== undefined && !control.signal.aborted) {
      const parser = await turn(control, message, sessionId);
      sessionId = parser.sessionId ?? sessionId;
      answer = parser.result ?? '';
      if (sessionId) {
        await saveSession(context.sandbox, adapter.stateDir, context.sessionDir, {
          harness: adapter.name,
          sessionId,
          usage: totals,
        });
      }
      message = control.nextFollowUp();
    }
    return answer;
  }
}
