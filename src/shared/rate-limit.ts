import { createHash } from 'node:crypto';
import type { DbOrTx } from './db-types.js';
import { AppError } from './errors.js';
import { truncateIp } from './logger.js';

export interface Limit {
  /** What is limited, e.g. "signin-link". */
  action: string;
  windowSeconds: number;
  max: number;
}

function subjectHash(subject: string): string {
  return createHash('sha256').update(subject.trim().toLowerCase()).digest('hex');
}

/**
 * Counts one attempt and tells whether it is within the limit. The counter lives in PostgreSQL
 * (one statement), so the limit holds across nodes; the subject is hashed, so an e-mail address
 * used as a key is not stored in clear. Attempts are counted in fixed windows, and the limit applies
 * to the current and the previous window together, so it does not reset at a window boundary (a
 * burst straddling one would otherwise get twice the limit). The key starts with the subject's
 * hash, so forgetSubject can remove every counter of one address whatever the action.
 */
export async function withinLimit(db: DbOrTx, limit: Limit, subject: string): Promise<boolean> {
  const key = `${subjectHash(subject)}:${limit.action}`;
  const { rows } = await db.raw<{ rows: { n: number }[] }>(
    `WITH counted AS (
       INSERT INTO rate_limits (key, window_start, count)
       VALUES (?, to_timestamp(floor(extract(epoch FROM now()) / ?) * ?), 1)
       ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limits.count + 1
       RETURNING count
     )
     SELECT (SELECT count FROM counted) + coalesce((
       SELECT count FROM rate_limits
        WHERE key = ? AND window_start = to_timestamp((floor(extract(epoch FROM now()) / ?) - 1) * ?)
     ), 0) AS n`,
    [key, limit.windowSeconds, limit.windowSeconds, key, limit.windowSeconds, limit.windowSeconds],
  );
  return (rows[0]?.n ?? 0) <= limit.max;
}

/** The requester's network, not the person: IPv4 /24, IPv6 /48 (C10). */
export function ipPrefix(ip: string | undefined): string {
  return truncateIp(ip);
}

/** Erasure (C6): the counters of an address go with it, rather than waiting a day for pruning. */
export async function forgetSubject(db: DbOrTx, subject: string): Promise<void> {
  await db('rate_limits')
    .whereRaw('starts_with(key, ?)', [`${subjectHash(subject)}:`])
    .delete();
}

export async function pruneRateLimits(db: DbOrTx): Promise<void> {
  await db('rate_limits').where('window_start', '<', db.raw("now() - interval '1 day'")).delete();
}

/**
 * Lock-out counters (OWASP): only failed attempts are counted, and a check reads the count before
 * the next attempt instead of counting it. A count covers the current and the previous window,
 * so a lock lasts one to two windows rather than lifting at a window boundary. The optional
 * qualifier (a network) narrows the counter to one subject seen from one place; the key still
 * starts with the subject's hash, so forgetSubject removes it on erasure.
 */
export type FailureRule = Limit;

function failureKey(rule: FailureRule, subject: string, qualifier?: string): string {
  return `${subjectHash(subject)}:${rule.action}${qualifier === undefined ? '' : `:${subjectHash(qualifier)}`}`;
}

export async function recentFailures(db: DbOrTx, rule: FailureRule, subject: string, qualifier?: string): Promise<number> {
  const { rows } = await db.raw<{ rows: { n: number }[] }>(
    `SELECT coalesce(sum(count), 0)::int AS n FROM rate_limits
     WHERE key = ? AND window_start >= to_timestamp((floor(extract(epoch FROM now()) / ?) - 1) * ?)`,
    [failureKey(rule, subject, qualifier), rule.windowSeconds, rule.windowSeconds],
  );
  return rows[0]?.n ?? 0;
}

/** Counts one failure; returns the count it makes over the current and previous window. */
export async function countFailure(db: DbOrTx, rule: FailureRule, subject: string, qualifier?: string): Promise<number> {
  await db.raw(
    `INSERT INTO rate_limits (key, window_start, count)
     VALUES (?, to_timestamp(floor(extract(epoch FROM now()) / ?) * ?), 1)
     ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limits.count + 1`,
    [failureKey(rule, subject, qualifier), rule.windowSeconds, rule.windowSeconds],
  );
  return recentFailures(db, rule, subject, qualifier);
}

export async function clearFailures(db: DbOrTx, rule: FailureRule, subject: string, qualifier?: string): Promise<void> {
  await db('rate_limits')
    .where({ key: failureKey(rule, subject, qualifier) })
    .delete();
}

/** Over a limit: refused for everyone alike, with no hint of why (no enumeration). */
export class TooManyRequestsError extends AppError {
  constructor() {
    super('Too many attempts. Please wait a few minutes and try again.', 429, 'rate_limited');
  }
}

/** Counts an attempt against both limits; over either, the request is refused for everyone alike. */
export async function checkLimits(db: DbOrTx, limits: [Limit, string][]): Promise<void> {
  for (const [limit, subject] of limits) {
    if (!(await withinLimit(db, limit, subject))) throw new TooManyRequestsError();
  }
}
