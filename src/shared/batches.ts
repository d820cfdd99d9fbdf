interface Waiting<T, R> {
  item: T;
  resolve(result: R): void;
  reject(err: unknown): void;
}

export interface BatchOptions<T> {
  /** The most items one run takes; the rest wait for the next. */
  max?: number;
  /** Items with the same key never share a run: a second one waits for the next. */
  key?: (item: T) => unknown;
}

/**
 * Group calls (group commit): add(item) waits for at most the one run under way, and every item
 * added meanwhile goes in the next, one run for all of them. `run` gets the items of a run and
 * gives one result per item, in their order; if it fails, each item of that run is rejected with
 * its error, for its caller to retry. One run at a time. Items added in the same turn of the event
 * loop as the first share its run.
 */
export class Batches<T, R> {
  private waiting: Waiting<T, R>[] = [];
  private running = false;

  constructor(
    private readonly run: (items: T[]) => Promise<R[]>,
    private readonly options: BatchOptions<T> = {},
  ) {}

  add(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.running) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.running = true;
    await new Promise((r) => setImmediate(r));
    while (this.waiting.length > 0) {
      const batch = this.next();
      try {
        const results = await this.run(batch.map((w) => w.item));
        batch.forEach((w, i) => w.resolve(results[i] as R));
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.running = false;
  }

  /** The next run's items: up to `max`, one per key. */
  private next(): Waiting<T, R>[] {
    const { max = Infinity, key } = this.options;
    if (!key && this.waiting.length <= max) return this.waiting.splice(0);
    const batch: Waiting<T, R>[] = [];
    const later: Waiting<T, R>[] = [];
    const keys = new Set<unknown>();
    for (const w of this.waiting) {
      const k = key?.(w.item);
      if (batch.length < max && (!key || !keys.has(k))) {
        keys.add(k);
        batch.push(w);
      } else later.push(w);
    }
    this.waiting = later;
    return batch;
  }
}
