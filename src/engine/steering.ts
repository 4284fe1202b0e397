import type { HarnessSession } from '../agents/types.ts';
import type { RunEventPayload } from '../core/events.ts';
import type { RunMessage } from '../store/index.ts';

/** Where steering records what it did, and how it marks a message handed over. */
export interface SteeringSink {
  emit(event: RunEventPayload): void;
  markDelivered(ids: number[]): Promise<number[]>;
}

/**
 * Hands follow-ups and stop requests to the agent of one executing run. Messages come from
 * the store (sent by any process); a follow-up waits for an agent session and is delivered
 * when the agent's current turn ends, in order; a stop halts the live agent and skips the
 * run's later agent steps and fix rounds. A follow-up that never meets an agent stays queued
 * in the store, and the worker continues the run with it once the run completes.
 */
export class Steering {
  private sink: SteeringSink | null = null;
  private live: { step: string; session: HarnessSession } | null = null;
  private readonly seen = new Set<number>();
  private readonly waiting: RunMessage[] = [];
  private stop: { by: string | null } | null = null;
  private writes: Promise<unknown> = Promise.resolve();

  /** Who stopped the agent, once someone has. */
  get stoppedBy(): { by: string | null } | null {
    return this.stop;
  }

  /** Resolves once every handed-over message is marked delivered in the store. */
  settled(): Promise<unknown> {
    return this.writes;
  }

  /** Starts handing messages over; until then they wait. */
  open(sink: SteeringSink): void {
    this.sink = sink;
    this.flushWaiting();
  }

  /** Takes messages read from the store; each message is taken once however often it is read. */
  receive(messages: readonly RunMessage[]): void {
    for (const message of messages) {
      if (this.seen.has(message.id)) continue;
      this.seen.add(message.id);
      this.waiting.push(message);
    }
    this.flushWaiting();
  }

  /** The agent step's session is live: queued follow-ups go to it now. */
  attach(step: string, session: HarnessSession): void {
    this.live = { step, session };
    this.flushWaiting();
  }

  detach(session: HarnessSession): void {
    if (this.live?.session === session) this.live = null;
  }

  private flushWaiting(): void {
    const sink = this.sink;
    if (!sink) return;
    for (let i = 0; i < this.waiting.length; ) {
      const message = this.waiting[i]!;
      if (message.kind === 'stop') {
        this.waiting.splice(i, 1);
        this.applyStop(sink, message);
      } else if (this.live && !this.stop && this.deliver(sink, this.live, message)) {
        this.waiting.splice(i, 1);
      } else i++;
    }
  }

  private applyStop(sink: SteeringSink, message: RunMessage): void {
    this.markDelivered(sink, message);
    if (this.stop) return;
    this.stop = { by: message.author };
    sink.emit({ type: 'agent.stopped', data: { step: this.live?.step ?? null, by: message.author } });
    void this.live?.session.stop(message.author).catch(() => {});
  }

  private deliver(
    sink: SteeringSink,
    live: { step: string; session: HarnessSession },
    message: RunMessage,
  ): boolean {
    if (!live.session.followUp(message.text ?? '', message.author)) {
      // The conversation ended meanwhile: the message waits for the next agent, or a continuation.
      this.live = null;
      return false;
    }
    sink.emit({
      type: 'agent.follow_up',
      data: { step: live.step, message: message.text ?? '', by: message.author },
    });
    this.markDelivered(sink, message);
    return true;
  }

  private markDelivered(sink: SteeringSink, message: RunMessage): void {
    this.writes = Promise.all([this.writes, sink.markDelivered([message.id]).catch(() => {})]);
  }
}
