import type { Db } from '../db.js';
import { Batches } from '../shared/batches.js';
import { markManySent } from './outbox.repository.js';

/**
 * Records sent messages in batches (group commit): a mark waits for at most the one UPDATE running
 * before it, and every mark that arrives meanwhile goes in the next, one statement and one commit
 * for all of them. mark() resolves once its row is committed, so a send job ends (and its
 * completion is recorded) only after its message is marked sent; a failed batch rejects each of its
 * marks, whose callers retry them. One UPDATE at a time, each on whichever connection the pool gives.
 */
export class SentMarks {
  private readonly batches: Batches<{ id: string; attempts: number }, void>;

  constructor(db: Db) {
    this.batches = new Batches(async (sends) => {
      await markManySent(db, sends);
      return sends.map(() => undefined);
    });
  }

  mark(id: string, attempts: number): Promise<void> {
    return this.batches.add({ id, attempts });
  }
}
