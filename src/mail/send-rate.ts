import type { DbOrTx } from '../db.js';

/** SEND_RATE_PER_SECOND and SEND_RATE_PER_HOUR. */
export interface SendRate {
  perSecond: number;
  perHour: number;
}

/**
 * The send rate limit, shared by every worker process because it is kept in PostgreSQL
 * (send_rate_seconds: one row per second of the database's clock, with how many rate-limited
 * messages were handed to SMTP in it). Slots are taken with ONE statement: the current second
 * gets as many of those asked for as it and the 3,600 seconds ending with it still have room for.
 * Concurrent takers of one second queue on that row's lock, so the limits hold exactly: at most
 * perSecond in any clock second, at most perHour in any 3,600 consecutive seconds.
 */
const TAKE_SLOT = `WITH ${slotCtes('1')} SELECT granted FROM slot`;

/**
 * The CTEs that take up to `wanted` slots (an SQL expression; `slot` returns a row with how many
 * it `granted`, at least one, or no row when the rate is used up), for a statement of its own or
 * inside another, so a send can read its messages and take the slots of those that go now in ONE
 * statement. Of what is asked, the take gets no more than the second and the hour have left.
 */
export function slotCtes(wanted: string): string {
  const room = `least(EXCLUDED.granted, :perSecond - r.sent, :perHour - (SELECT n FROM past) - r.sent)`;
  return `
  now_s AS (SELECT date_trunc('second', clock_timestamp()) AS s),
  past AS (
    SELECT coalesce(sum(r.sent), 0) AS n FROM send_rate_seconds r, now_s
    WHERE r.second > now_s.s - interval '1 hour' AND r.second < now_s.s
  ),
  asked AS (SELECT least(${wanted}, :perSecond, :perHour - past.n) AS n FROM past),
  slot AS (
    INSERT INTO send_rate_seconds AS r (second, sent, granted)
    SELECT now_s.s, asked.n, asked.n FROM now_s, asked WHERE asked.n > 0
    ON CONFLICT (second) DO UPDATE SET sent = r.sent + ${room}, granted = ${room}
      WHERE r.sent < :perSecond AND r.sent + (SELECT n FROM past) < :perHour
    RETURNING granted
  )`;
}

/**
 * When a refused taker may try again: the next second if this one is full, else the moment enough
 * of the last hour's sends fall out of the window.
 */
const NEXT_SLOT = `
  WITH now_s AS (SELECT date_trunc('second', clock_timestamp()) AS s),
  w AS (
    SELECT r.second, sum(r.sent) OVER (ORDER BY r.second) AS cum, sum(r.sent) OVER () AS total
    FROM send_rate_seconds r, now_s WHERE r.second > now_s.s - interval '1 hour' AND r.second <= now_s.s
  )
  SELECT greatest(
    (SELECT s FROM now_s) + interval '1 second',
    coalesce((SELECT second + interval '1 hour' FROM w WHERE total >= :perHour AND cum >= total - :perHour + 1 ORDER BY second LIMIT 1),
             (SELECT s FROM now_s))
  ) AS at`;

/**
 * How many released, unsent rate-limited messages a paced sender (a bulletin's dispatcher, an
 * import's invitation rounds) keeps at most: enough to keep the workers busy, few enough to stop at once.
 */
export function releaseWindow(perSecond: number): number {
  return Math.min(1000, Math.max(20, perSecond));
}

/** Takes one send slot now, or says when to ask again. */
export async function takeSendSlot(db: DbOrTx, rate: SendRate): Promise<{ taken: true } | { taken: false; retryAt: Date }> {
  const { rows } = await db.raw<{ rows: unknown[] }>(TAKE_SLOT, { perSecond: rate.perSecond, perHour: rate.perHour });
  if (rows.length > 0) return { taken: true };
  return { taken: false, retryAt: await nextSendSlot(db, rate) };
}

/** The earliest time a slot may be free: the next second, or later if the hour is used up. */
export async function nextSendSlot(db: DbOrTx, rate: SendRate): Promise<Date> {
  const next = await db.raw<{ rows: { at: Date }[] }>(NEXT_SLOT, { perHour: rate.perHour });
  return next.rows[0]!.at;
}

/** What is left now: slots in this second and in the hour ending now, and when the next second starts. */
export async function sendCapacity(db: DbOrTx, rate: SendRate): Promise<{ thisSecond: number; thisHour: number; nextSecond: Date }> {
  const { rows } = await db.raw<{ rows: { this_second: number; this_hour: number; next_second: Date }[] }>(
    `WITH now_s AS (SELECT date_trunc('second', clock_timestamp()) AS s)
     SELECT coalesce((SELECT sent FROM send_rate_seconds WHERE second = now_s.s), 0)::int AS this_second,
            coalesce((SELECT sum(sent) FROM send_rate_seconds WHERE second > now_s.s - interval '1 hour'), 0)::int AS this_hour,
            now_s.s + interval '1 second' AS next_second
     FROM now_s`,
  );
  const r = rows[0]!;
  return {
    thisSecond: Math.max(0, rate.perSecond - r.this_second),
    thisHour: Math.max(0, rate.perHour - r.this_hour),
    nextSecond: r.next_second,
  };
}

/** Seconds older than two hours no longer count for anything (run by the maintenance job). */
export async function pruneSendRate(db: DbOrTx): Promise<void> {
  await db('send_rate_seconds').where('second', '<', db.raw(`now() - interval '2 hours'`)).delete();
}
