/**
 * Writes items in order, in batches: `push` queues and a flush follows within `flushMs`;
 * `flush` writes everything queued and rejects with the first write failure (later pushes
 * are still attempted, so one failure does not silently drop the rest).
 */
export class BatchWriter<T> {
  protected pending: T[] = [];
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private failure: unknown = null;

  constructor(
    private readonly write: (batch: T[]) => Promise<unknown>,
    private readonly flushMs = 100,
  ) {}

  push(...items: T[]): void {
    this.pending.push(...items);
    this.schedule();
  }

  /** Writes `item` and everything queued before it; resolves once stored. */
  async emit(item: T): Promise<void> {
    this.pending.push(item);
    await this.flush();
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) {
      this.chain = this.chain.then(() =>
        this.write(batch).catch((error) => {
          this.failure ??= error;
        }),
      );
    }
    return this.chain.then(() => {
      if (this.failure) throw this.failure;
    });
  }

  /**
   * Hands back what is queued instead of writing it, once the writes already started are done
   * (rejecting with the first failure): for a caller that writes the rest with something else.
   */
  async drain(): Promise<T[]> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.chain;
    if (this.failure) throw this.failure;
    const rest = this.pending;
    this.pending = [];
    return rest;
  }

  protected schedule(): void {
    this.timer ??= setTimeout(() => {
      this.flush().catch(() => {});
    }, this.flushMs);
  }
}
