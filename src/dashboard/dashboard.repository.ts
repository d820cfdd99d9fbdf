import type { DbOrTx } from '../db.js';

/** Figures per topic: how many members are opted in or out, and how many sign-ups wait to confirm it. */
export interface TopicFigures {
  id: number;
  name: string;
  kind: string;
  channel: string;
  retired: boolean;
  opted_in: number;
  opted_out: number;
  pending: number;
}

/** Figures for one ISO week (Monday to Sunday, UTC). */
export interface WeekFigures {
  /** ISO week, e.g. 2026-W47. */
  label: string;
  /** The Monday it starts, YYYY-MM-DD. */
  starts: string;
  signups: number;
  removals_requested: number;
  removals_completed: number;
  /** Members who opted out of a topic they were opted in to (erasures not counted). */
  opt_outs: number;
}

/** Twelve months of weeks. */
export const DASHBOARD_WEEKS = 52;

/** One topic's opted-in count at the end of each week, oldest first. */
export interface TopicSeries {
  topic_id: number;
  /** One per week: the Monday it starts, YYYY-MM-DD. */
  starts: string[];
  opted_in: number[];
}

/** The weeks of the window as SQL: week (local Monday), starts_at and ends_at (instants). */
const WEEKS_CTE = `
    weeks AS (
      SELECT w AS week, w AT TIME ZONE 'UTC' AS starts_at, (w + interval '1 week') AT TIME ZONE 'UTC' AS ends_at
        FROM generate_series(
          date_trunc('week', timezone('UTC', now())) - make_interval(weeks => ?::int - 1),
          date_trunc('week', timezone('UTC', now())),
          interval '1 week'
        ) AS w
    )`;

/**
 * Counts per topic (C10: aggregates only, nothing per person). Erased members are left out of
 * the consent counts; "pending" counts the addresses with an unexpired sign-up awaiting
 * confirmation that ticked the topic (C15): they are not members yet, and one may have joined twice.
 */
export async function topicFigures(db: DbOrTx): Promise<TopicFigures[]> {
  const { rows } = await db.raw<{ rows: TopicFigures[] }>(`
    SELECT t.id, t.name, t.kind, t.channel, t.retired_at IS NOT NULL AS retired,
           COALESCE(c.opted_in, 0)::int AS opted_in,
           COALESCE(c.opted_out, 0)::int AS opted_out,
           COALESCE(p.pending, 0)::int AS pending
      FROM topics t
      LEFT JOIN (
        SELECT c.topic_id,
               count(*) FILTER (WHERE c.status = 'opted_in') AS opted_in,
               count(*) FILTER (WHERE c.status = 'opted_out') AS opted_out
          FROM consents c JOIN members m ON m.id = c.member_id
         WHERE m.status <> 'erased'
         GROUP BY c.topic_id
      ) c ON c.topic_id = t.id
      LEFT JOIN (
        SELECT tid AS topic_id, count(DISTINCT s.email) AS pending
          FROM pending_signups s, unnest(s.topic_ids) AS tid
         WHERE s.expires_at > now()
         GROUP BY tid
      ) p ON p.topic_id = t.id
     ORDER BY t.retired_at IS NOT NULL, t.sort_order, t.name, t.id
  `);
  return rows;
}

/**
 * Sign-ups (members confirmed) and removal requests (made, and carried out) per ISO week for the
 * last DASHBOARD_WEEKS weeks, this week included, newest first; a week without any shows zeros.
 */
export async function weeklyFigures(db: DbOrTx, weeks = DASHBOARD_WEEKS): Promise<WeekFigures[]> {
  const { rows } = await db.raw<{ rows: WeekFigures[] }>(
    `
    WITH ${WEEKS_CTE}
    SELECT to_char(w.week, 'IYYY-"W"IW') AS label,
           to_char(w.week, 'YYYY-MM-DD') AS starts,
           (SELECT count(*) FROM members m
             WHERE m.confirmed_at >= w.starts_at AND m.confirmed_at < w.ends_at)::int AS signups,
           (SELECT count(*) FROM removal_requests r
             WHERE r.requested_at >= w.starts_at AND r.requested_at < w.ends_at)::int AS removals_requested,
           (SELECT count(*) FROM removal_requests r
             WHERE r.status = 'completed' AND r.completed_at >= w.starts_at AND r.completed_at < w.ends_at)::int AS removals_completed,
           (SELECT count(*) FROM consent_ledger l
             WHERE l.from_status = 'opted_in' AND l.to_status = 'opted_out' AND l.source <> 'erasure'
               AND l.created_at >= w.starts_at AND l.created_at < w.ends_at)::int AS opt_outs
      FROM weeks w
     ORDER BY w.week DESC
  `,
    [weeks],
  );
  return rows;
}

/**
 * Each topic's opted-in count at the end of every week of the window, from the append-only ledger:
 * every event that moves a member into or out of "opted in" adds or takes one, summed over time
 * (events before the window fold into its first week). Erasure records its opt-outs in the ledger,
 * so an erased member leaves the count the week they were erased. One pass over the ledger.
 */
export async function topicSeries(db: DbOrTx, weeks = DASHBOARD_WEEKS): Promise<TopicSeries[]> {
  const { rows } = await db.raw<{ rows: TopicSeries[] }>(
    `
    WITH ${WEEKS_CTE},
    changes AS (
      SELECT l.topic_id,
             GREATEST(date_trunc('week', timezone('UTC', l.created_at)), (SELECT min(week) FROM weeks)) AS week,
             sum(CASE WHEN l.to_status = 'opted_in' AND l.from_status IS DISTINCT FROM 'opted_in' THEN 1
                      WHEN l.from_status = 'opted_in' AND l.to_status <> 'opted_in' THEN -1
                      ELSE 0 END) AS delta
        FROM consent_ledger l
       GROUP BY 1, 2
    ),
    running AS (
      SELECT t.id AS topic_id, w.week,
             sum(COALESCE(c.delta, 0)) OVER (PARTITION BY t.id ORDER BY w.week) AS opted_in
        FROM topics t CROSS JOIN weeks w
        LEFT JOIN changes c ON c.topic_id = t.id AND c.week = w.week
    )
    SELECT topic_id,
           array_agg(to_char(week, 'YYYY-MM-DD') ORDER BY week) AS starts,
           array_agg(opted_in::int ORDER BY week) AS opted_in
      FROM running
     GROUP BY topic_id
  `,
    [weeks],
  );
  return rows;
}

/** Members by status, for the totals line. */
export async function memberTotals(db: DbOrTx): Promise<{ active: number; erased: number }> {
  const { rows } = await db.raw<{ rows: { active: number; erased: number }[] }>(`
    SELECT count(*) FILTER (WHERE status = 'active')::int AS active, count(*) FILTER (WHERE status = 'erased')::int AS erased FROM members
  `);
  return rows[0] ?? { active: 0, erased: 0 };
}
