import type { RunEvent } from '../core/events.ts';
import type { Store } from '../store/index.ts';

/** Events a follower may hold unread before the feed stops reading for it (a slow client). */
const MAX_QUEUED = 2_000;
/** Events read per run in one poll; a run with more is read again at once. */
const PAGE = 500;
/**
 * Least time between the starts of two polls. Busy runs append many times a second; reading
 * for all of them at most this often keeps the feed's queries from crowding out the API's
 * (PGlite runs one query at a time) at the price of this much latency.
 */
const MIN_GAP_MS = 20;

interface Follower {
  runId: string;
  /** Seq of the last event handed to this follower (queued or taken). */
  after: number;
  queue: RunEvent[];
  complete: boolean;
  wake: (() => void) | null;
}

/** One reader's view of a run's events, in order of seq, from a position it chose. */
export interface EventSubscription {
  /**
   * The next events after the last ones returned, waiting until there are some: `[]` when
   * `signal` aborts first, `null` once the run completed and all its events were returned.
   */
  next(signal: AbortSignal): Promise<RunEvent[] | null>;
  /** Stops following; the feed forgets this reader. */
  close(): void;
}

interface RunRow {
  id: string;
  last_seq: number;
  status: string;
}

interface EventRow {
  run_id: string;
  seq: number;
  type: string;
  data: unknown;
  at: Date;
}

const feeds = new WeakMap<Store, EventFeed>();

/**
 * The live events of every followed run, read by one poller per store and fanned out to
 * every reader (SSE streams, long polls), so a hundred open streams cost the database the
 * same two queries per wake-up as one. The poller wakes when this process appends events
 * and every `pollMs` for writes by other processes (workers on other hosts). Events always
 * come from the database by seq, so a reader resuming at any position (another server, after
 * a restart) gets every later event exactly once.
 */
export class EventFeed {
  private readonly followers = new Map<string, Set<Follower>>();
  private polling = false;
  private again = false;
  private scheduled = false;
  private lastPoll = 0;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;

  private constructor(
    private readonly store: Store,
    private readonly pollMs: number,
  ) {}

  /** The feed of `store` (one per store, so one per server process). */
  static of(store: Store): EventFeed {
    let feed = feeds.get(store);
    if (!feed) {
      feed = new EventFeed(store, store.db.kind === 'postgres' ? 250 : 1000);
      feeds.set(store, feed);
    }
    return feed;
  }

  /** Follows `runId` from after seq `after`. Close the subscription when done with it. */
  follow(runId: string, after: number): EventSubscription {
    const follower: Follower = { runId, after, queue: [], complete: false, wake: null };
    let set = this.followers.get(runId);
    if (!set) {
      set = new Set();
      this.followers.set(runId, set);
    }
    set.add(follower);
    this.start();
    this.kick();
    return {
      next: (signal) => this.next(follower, signal),
      close: () => this.remove(follower),
    };
  }

  /** Number of readers being served (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const set of this.followers.values()) n += set.size;
    return n;
  }

  private async next(follower: Follower, signal: AbortSignal): Promise<RunEvent[] | null> {
    for (;;) {
      if (follower.queue.length > 0) {
        const events = follower.queue;
        follower.queue = [];
        // A follower that was too far behind is read for again now that it caught up.
        if (events.length >= MAX_QUEUED) this.kick();
        return events;
      }
      if (follower.complete) return null;
      if (signal.aborted) return [];
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          follower.wake = null;
          resolve();
        };
        follower.wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  private remove(follower: Follower): void {
    const set = this.followers.get(follower.runId);
    set?.delete(follower);
    if (set?.size === 0) this.followers.delete(follower.runId);
    follower.wake?.();
    if (this.followers.size === 0) this.stop();
  }

  private start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.kick(), this.pollMs);
    this.timer.unref();
    this.unsubscribe = this.store.on('events', (runId) => {
      if (this.followers.has(runId)) this.kick();
    });
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** Polls soon (at most every MIN_GAP_MS): a burst of appends costs one poll. */
  private kick(): void {
    if (this.polling) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(
      () => {
        this.scheduled = false;
        void this.run();
      },
      Math.max(0, this.lastPoll + MIN_GAP_MS - Date.now()),
    );
  }

  private async run(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      this.again = false;
      this.lastPoll = Date.now();
      await this.poll();
    } catch {
      // The database is unreachable or closing: readers keep waiting; the timer tries again.
    } finally {
      this.polling = false;
    }
    if (this.again && this.followers.size > 0) this.kick();
  }

  private async poll(): Promise<void> {
    // Only the followers counted here get this poll's events: one added meanwhile may start
    // before `from` and is served by the next poll.
    const from = new Map<string, number>();
    const included: Follower[] = [];
    for (const [runId, set] of this.followers) {
      for (const f of set) {
        if (f.complete || f.queue.length >= MAX_QUEUED) continue;
        from.set(runId, Math.min(from.get(runId) ?? f.after, f.after));
        included.push(f);
      }
    }
    if (from.size === 0) return;
    const ids = [...from.keys()];
    // last_seq and status change in the transaction that appends run.completed, so a run seen
    // completed here has all its events at or below last_seq.
    const runs = await this.store.db.query<RunRow>(
      'SELECT id, last_seq, status FROM runs WHERE id = ANY($1::text[])',
      [ids],
    );
    const byId = new Map(runs.map((r) => [r.id, r]));
    const behind = ids.filter((id) => (byId.get(id)?.last_seq ?? 0) > from.get(id)!);
    const events = behind.length ? await this.read(behind, from) : new Map<string, RunEvent[]>();
    for (const f of included) {
      const run = byId.get(f.runId);
      const fresh = (events.get(f.runId) ?? []).filter((e) => e.seq > f.after);
      if (fresh.length > 0) {
        f.queue.push(...fresh);
        f.after = fresh.at(-1)!.seq;
      }
      // A deleted run has nothing more to say either.
      if (!run || (run.status === 'completed' && f.after >= run.last_seq)) f.complete = true;
      if (fresh.some((e) => e.type === 'run.completed')) f.complete = true;
      if (fresh.length > 0 || f.complete) f.wake?.();
    }
  }

  private async read(ids: string[], from: Map<string, number>): Promise<Map<string, RunEvent[]>> {
    const rows = await this.store.db.query<EventRow>(
      `SELECT e.* FROM unnest($1::text[], $2::int[]) AS c(run_id, after_seq)
       CROSS JOIN LATERAL (
         SELECT * FROM run_events WHERE run_id = c.run_id AND seq > c.after_seq ORDER BY seq LIMIT $3
       ) e`,
      [ids, ids.map((id) => from.get(id)!), PAGE],
    );
    const byRun = new Map<string, RunEvent[]>();
    for (const row of rows) {
      const list = byRun.get(row.run_id) ?? [];
      list.push({ runId: row.run_id, seq: row.seq, type: row.type, data: row.data, at: row.at } as RunEvent);
      byRun.set(row.run_id, list);
    }
    for (const list of byRun.values()) {
      list.sort((a, b) => a.seq - b.seq);
      if (list.length === PAGE) this.again = true;
    }
    return byRun;
  }
}
