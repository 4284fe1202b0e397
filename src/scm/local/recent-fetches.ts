/**
 * The latest fetch of each mirror, so runs queued before it started can share it. A run asks
 * for a fetch "fresh after" the time it was queued: a fetch that started at or after then saw
 * everything pushed before the run existed, which is what its own fetch would have seen.
 */
export class RecentFetches {
  private readonly latest = new Map<string, { started: number; done: Promise<void> }>();

  /** Runs `fetch`, or waits for the latest one of `key` when it started at or after `freshAfter`. */
  async run(key: string, freshAfter: Date | undefined, fetch: () => Promise<void>): Promise<void> {
    const last = this.latest.get(key);
    if (freshAfter && last && last.started >= freshAfter.getTime()) {
      const ok = await last.done.then(
        () => true,
        () => false,
      );
      if (ok) return;
    }
    const entry = { started: Date.now(), done: fetch() };
    this.latest.set(key, entry);
    try {
      await entry.done;
    } catch (error) {
      if (this.latest.get(key) === entry) this.latest.delete(key);
      throw error;
    }
  }
}
