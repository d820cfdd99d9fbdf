import type { Db } from '../db.js';
import type { SuppressionKeys } from '../shared/suppression.js';
import { findMessagesToSend, type ReadMessage } from './outbox.repository.js';
import type { SendRate } from './send-rate.js';

interface Waiting {
  id: string;
  resolve(row: ReadMessage | undefined): void;
  reject(err: unknown): void;
}

/** The most messages one read asks for (the runner's concurrency is usually far below it). */
const READ_MAX = 200;

/**
 * Reads the messages of sends in batches, the way SentMarks records them: a read waits for at most
 * the one statement running before it, and every read that arrives meanwhile goes in the next, one
 * statement for all of them (findMessagesToSend: rows, suppression and consent checks, and the send
 * slots of those that go now). The jobs a runner claims together start together, so their reads
 * share a round trip instead of taking one each. A message asked for twice at once (two jobs of
 * one message) is read once per batch, so each read takes its own slot as before; a failed
 * statement rejects each of its reads, whose jobs are retried.
 */
export class MessageReads {
  private waiting: Waiting[] = [];
  private running = false;

  constructor(
    private readonly db: Db,
    private readonly keys: SuppressionKeys,
    private readonly rate?: SendRate,
  ) {}

  read(id: string): Promise<ReadMessage | undefined> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ id, resolve, reject });
      if (!this.running) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.running = true;
    // Let the jobs that started in this same turn join the first batch.
    await new Promise((r) => setImmediate(r));
    while (this.waiting.length > 0) {
      const batch = this.nextBatch();
      try {
        const rows = await findMessagesToSend(
          this.db,
          batch.map((w) => w.id),
          this.keys,
          this.rate,
        );
        const byId = new Map(rows.map((r) => [r.id, r]));
        for (const w of batch) w.resolve(byId.get(w.id));
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.running = false;
  }

  /** Up to READ_MAX waiting reads of distinct messages; a second read of one waits for the next batch. */
  private nextBatch(): Waiting[] {
    const batch: Waiting[] = [];
    const ids = new Set<string>();
    const later: Waiting[] = [];
    for (const w of this.waiting) {
      if (batch.length < READ_MAX && !ids.has(w.id)) {
        ids.add(w.id);
        batch.push(w);
      } else later.push(w);
    }
    this.waiting = later;
    return batch;
  }
}
