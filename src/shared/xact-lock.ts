import type { Knex } from 'knex';

/**
 * Classes of the transaction-level advisory locks that keep a job chain to one run at a time
 * (two ASCII letters each). A wake while the chain's job runs makes a second job of it:
 * graphile-worker gives the job key to a new job when the keyed one is running. Not graphile's
 * named queues, which would run such jobs one by one: with jobs claimed in batches (its local
 * queue, on by default here) it runs one queue's jobs side by side (graphile/worker#621).
 */
export const XACT_LOCKS = {
  /** A bulletin's dispatch ('Ad'). */
  bulletinDispatch: 0x4164,
  /** An import's round of re-permission mails ('Ai'). */
  importInvites: 0x4169,
} as const;

/** Takes the lock for the rest of the transaction, unless another transaction holds it (false). */
export async function tryXactLock(trx: Knex.Transaction, lockClass: number, id: number): Promise<boolean> {
  const { rows } = await trx.raw<{ rows: { locked: boolean }[] }>('SELECT pg_try_advisory_xact_lock(?, ?) AS locked', [lockClass, id]);
  return rows[0]?.locked === true;
}
