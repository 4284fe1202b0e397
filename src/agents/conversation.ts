import type { HarnessEvent } from '../core/events.ts';
import { Channel } from './builtin/channel.ts';
import type { HarnessSession } from './types.ts';

/** How long `stop` waits for the turn to wind down before ending the events anyway. */
const STOP_GRACE_MS = 5_000;

/** What a harness's conversation loop gets to work with. */
export interface ConversationControl {
  /** Aborted when the run ends or someone stops the agent. */
  signal: AbortSignal;
  /** Adds a normalized event to the session's stream. */
  emit(event: HarnessEvent): void;
  /** The next queued follow-up (with its author), or undefined when none is waiting. */
  nextFollowUp(): string | undefined;
}

export interface ConversationOptions {
  /** The run's signal: aborting it stops the session like `stop` does. */
  signal: AbortSignal;
  /** Turns anything the loop throws into the message of `agent.error`. */
  describe?: (error: unknown) => string;
  /**
   * The harness's loop: the prompt, then each follow-up from `nextFollowUp` once the turn before
   * it finished. Resolves with the final answer.
   */
  converse(control: ConversationControl): Promise<string>;
}

function attributed(message: string, author: string | null): string {
  return author ? `[follow-up from ${author}]\n${message}` : message;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The session handling every harness shares: follow-ups queued in order and refused once the
 * conversation ended, `stop` that records who stopped the agent and waits a grace period for
 * the turn to wind down, and the closing `agent.result` or `agent.error` event.
 */
export function startConversation(options: ConversationOptions): HarnessSession {
  const channel = new Channel<HarnessEvent>();
  const stopper = new AbortController();
  const signal = AbortSignal.any([options.signal, stopper.signal]);
  const followUps: string[] = [];
  const describe = options.describe ?? describeError;
  let ended = false;
  let stoppedBy: { by: string | null } | null = null;
  const emit = (event: HarnessEvent) => channel.push(event);

  async function run(): Promise<void> {
    try {
      const nextFollowUp = () => {
        const next = followUps.shift();
        // No follow-up waiting means the loop ends now: a later one must be refused, not lost.
        if (next === undefined) ended = true;
        return next;
      };
      const answer = await options.converse({ signal, emit, nextFollowUp });
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
      } else emit({ type: 'agent.error', data: { message: describe(error) } });
    } finally {
      ended = true;
      channel.close();
    }
  }

  const done = run();
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
