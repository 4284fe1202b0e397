import type { HarnessEvent } from '../../core/events.ts';
import { Channel } from '../builtin/channel.ts';
import type { HarnessContext, HarnessSession } from '../types.ts';
import { jsonLine, LineSplitter } from './lines.ts';
import { adoptSession, readSaved, restoreSession, saveSession } from './state.ts';

/** How long `stop` waits for the CLI to be gone before ending the events anyway. */
const STOP_GRACE_MS = 5_000;

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

function attributed(message: string, author: string | null): string {
  return author ? `[follow-up from ${author}]\n${message}` : message;
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
  const channel = new Channel<HarnessEvent>();
  const stopper = new AbortController();
  const signal = AbortSignal.any([context.signal, stopper.signal]);
  const followUps: string[] = [];
  let stoppedBy: { by: string | null } | null = null;
  let totals = { inputTokens: 0, outputTokens: 0 };
  const emit = (event: HarnessEvent) => {
    if (event.type === 'agent.usage' && adapter.cumulativeUsage) {
      const { inputTokens, outputTokens } = event.data;
      // A resumed conversation starts counting from the saved totals: report this turn's share.
      channel.push({
        type: 'agent.usage',
        data: {
          ...event.data,
          inputTokens: Math.max(0, inputTokens - totals.inputTokens),
          outputTokens: Math.max(0, outputTokens - totals.outputTokens),
        },
      });
      totals = { inputTokens, outputTokens };
    } else channel.push(event);
  };

  async function turn(message: string, sessionId: string | null): Promise<TurnParser> {
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

  async function converse(): Promise<void> {
    try {
      if (context.resumeFrom) await adoptSession(context.resumeFrom, context.sessionDir);
      const saved = await readSaved(context.sessionDir);
      let sessionId = saved?.sessionId ?? null;
      if (sessionId && !(await restoreSession(context.sandbox, context.sessionDir, adapter.stateDir)))
        sessionId = null;
      if (sessionId && saved?.usage) totals = saved.usage;
      await adapter.setup?.();
      let message: string | undefined = prompt;
      let answer = '';
      while (message !== undefined && !signal.aborted) {
        const parser = await turn(message, sessionId);
        sessionId = parser.sessionId ?? sessionId;
        answer = parser.result ?? '';
        if (sessionId) {
          await saveSession(context.sandbox, adapter.stateDir, context.sessionDir, {
            harness: adapter.name,
            sessionId,
            usage: totals,
          });
        }
        message = followUps.shift();
      }
      ended = true;
      if (signal.aborted) throw new Error('aborted');
      emit({ type: 'agent.result', data: { text: answer } });
    } catch (error) {
      if (signal.aborted) {
        const by = stoppedBy?.by;
        const message = stoppedBy
          ? `the agent was stopped${by ? ` by ${by}` : ''}`
          : 'the agent was stopped: the run was cancelled or timed out';
        emit({ type: 'agent.error', data: { message } });
      } else
        emit({
          type: 'agent.error',
          data: { message: error instanceof Error ? error.message : String(error) },
        });
    } finally {
      ended = true;
      channel.close();
    }
  }

  let ended = false;
  const done = converse();
  return {
    events: channel,
    followUp(message, author) {
      if (ended || signal.aborted) return false;
      followUps.push(attributed(message, author));
      return true;
    },
    async stop(by) {
      stoppedBy ??= { by };
      stopper.abort(new Error(`stopped by ${by ?? 'Nightshift'}`));
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, STOP_GRACE_MS);
      });
      await Promise.race([done, grace]);
      clearTimeout(timer);
      channel.close();
    },
  };
}
