import type { DbOrTx } from './db-types.js';

/**
 * Adds a graphile-worker job inside the caller's transaction: add_job is plain SQL, so the job
 * exists only if the change that asks for it commits. The job key makes a second add of the same
 * job (a retried batch, a message queued twice) replace the waiting one instead of adding another.
 */
export async function addJob(
  db: DbOrTx,
  task: string,
  payload: Record<string, unknown>,
  opts: { maxAttempts: number; jobKey: string; runAt?: Date; priority?: number },
): Promise<void> {
  await db.raw(`SELECT graphile_worker.add_job(?, ?::json, max_attempts => ?, job_key => ?, run_at => ?::timestamptz, priority => ?)`, [
    task,
    JSON.stringify(payload),
    opts.maxAttempts,
    opts.jobKey,
    opts.runAt ?? null,
    opts.priority ?? 0,
  ]);
}
