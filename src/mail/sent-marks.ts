import type { Db } from '../db.js';
import { markManySent } from './outbox.repository.js';

interface Waiting {
  id: string;
  attempts: number;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Records sent messages in batches (group commit): a mark waits for at most the one UPDATE running
 * before it, and every mark that arrives meanwhile goes in the next, one statement and one commit
 * for all of them. mark() resolves once its row is committed, so a send job ends (and its
 * completion is recorded) only after its message is marked sent; a failed batch rejects each of its
 * marks, whose callers retry them. One UPDATE at a time, each on whichever connection the pool gives.
 */
export class SentMarks {
  private waiting: Waiting[] = [];
  private running = false;

  constructor(private readonly db: Db) {}

  mark(id: string, attempts: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ id, attempts, resolve, reject });
      if (!this.running) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.running = true;
    // Let the sends that finished in this same turn join the first batch.
    await new Promise((r) => setImmediate(r));
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0);
      try {
        await markManySent(this.db, batch);
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.running = false;
  }
}
