import type { Db } from '../db.js';
import { purgeExpiredSignups } from '../members/join.repository.js';
import { pruneMemberTokens } from '../members/member-tokens.js';
import { pruneRateLimits } from './rate-limit.js';

/**
 * One scheduled job for the whole cluster (graphile-worker cron runs it on one worker):
 * purges expired sign-ups (C15), spent link tokens, old rate-limit windows and sessions.
 */
export async function runMaintenance(db: Db): Promise<{ signupsPurged: number }> {
  const signupsPurged = await purgeExpiredSignups(db);
  await pruneMemberTokens(db);
  await pruneRateLimits(db);
  await db('sessions').where('expire', '<', db.fn.now()).delete();
  return { signupsPurged };
}
