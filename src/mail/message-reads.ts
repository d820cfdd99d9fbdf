import type { Db } from '../db.js';
import { Batches } from '../shared/batches.js';
import type { SuppressionKeys } from '../shared/suppression.js';
import { findMessagesToSend, type ReadMessage } from './outbox.repository.js';
import type { SendRate } from './send-rate.js';

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
  private readonly batches: Batches<string, ReadMessage | undefined>;

  constructor(db: Db, keys: SuppressionKeys, rate?: SendRate) {
    this.batches = new Batches(
      async (ids) => {
        const byId = new Map((await findMessagesToSend(db, ids, keys, rate)).map((r) => [r.id, r]));
        return ids.map((id) => byId.get(id));
      },
      { max: READ_MAX, key: (id) => id },
    );
  }

  read(id: string): Promise<ReadMessage | undefined> {
    return this.batches.add(id);
  }
}
