import type { DbOrTx } from '../db.js';
import type { CopyCsv } from '../exports/copy.js';
import type { SqlLinks } from '../shared/sql-links.js';
import { boundKey, onListUnderEachKeySql, suppressionKeyBindings, type SuppressionKeys } from '../shared/suppression.js';

export interface AudienceTopicRow {
  id: number;
  slug: string;
  name: string;
  kind: string;
  channel: string;
  partner: string | null;
  deliverable: number;
}

/**
 * C12: who may be in a topic's audience: opted in now, an active member, an address on file that
 * has not bounced for good, and not on the suppression list. The suppression list keeps
 * HMAC-SHA256(key, lower-cased trimmed address) under any of its lookup keys (see
 * shared/suppression.ts); pgcrypto computes the same hash here, so the check runs in the query and
 * the list can be streamed. Addresses are validated as ASCII on the way in, where lower() and
 * JavaScript's toLowerCase() agree. Each key gets its own NOT EXISTS (onListUnderEachKeySql), which
 * PostgreSQL plans as a hash anti-join. `key(i)` yields the i-th key: a bound parameter or a setting.
 */
function deliverable(keyCount: number, key: (i: number) => string): string {
  const notSuppressed = onListUnderEachKeySql(keyCount, 'm.email::text', key)
    .map((onList) => `\n  AND NOT ${onList}`)
    .join('');
  return `
  c.status = 'opted_in'
  AND m.status = 'active'
  AND m.email IS NOT NULL
  AND m.email_undeliverable_at IS NULL${notSuppressed}`;
}

/** Current (not retired) topics with the size of their deliverable audience. */
export async function audienceTopics(db: DbOrTx, keys: SuppressionKeys): Promise<AudienceTopicRow[]> {
  const { rows } = await db.raw<{ rows: AudienceTopicRow[] }>(
    `SELECT t.id, t.slug, t.name, t.kind, t.channel, p.name AS partner,
            (SELECT count(*) FROM consents c JOIN members m ON m.id = c.member_id
             WHERE c.topic_id = t.id AND ${deliverable(keys.lookup.length, boundKey)}) AS deliverable
     FROM topics t LEFT JOIN partners p ON p.id = t.partner_id
     WHERE t.retired_at IS NULL
     ORDER BY t.sort_order, t.id`,
    suppressionKeyBindings(keys),
  );
  return rows;
}

export async function findCurrentTopic(db: DbOrTx, id: number): Promise<{ id: number; slug: string } | undefined> {
  return db('topics').where({ id }).whereNull('retired_at').first('id', 'slug') as Promise<{ id: number; slug: string } | undefined>;
}

/**
 * A cell as the export has always written it: one that a spreadsheet would read as a formula
 * (starting with = + - @, tab or carriage return, or the full-width = + - @) gets a leading
 * apostrophe, and an empty one is written empty, unquoted, as csv-stringify's escape_formulas did.
 */
function cell(expr: string): string {
  return `CASE WHEN left(${expr}, 1) IN ('=', '+', '-', '@', chr(9), chr(13), chr(65309), chr(65291), chr(65293), chr(65312))
    THEN '''' || ${expr} ELSE NULLIF(${expr}, '') END`;
}

/**
 * The audience of one topic made by PostgreSQL, for streaming (no ORDER BY: a sort would hold back
 * the first row): member_id, email, name and each member's two links for this topic, the
 * topic-scoped one-click unsubscribe URL and the cookieless preference page (issue 12), signed in
 * SQL (shared/sql-links.ts). As CSV (with a header, formula escaping as the export always did) or
 * as NDJSON, one JSON object a line: COPY's CSV format with a delimiter and a quote character that
 * PostgreSQL's JSON never holds raw (it escapes every control character), so each line is the JSON
 * text untouched. The suppression keys and the link key are transaction-local settings.
 */
export function audienceCopy(topicId: number, keys: SuppressionKeys, links: SqlLinks, format: 'csv' | 'ndjson'): CopyCsv {
  if (!Number.isSafeInteger(topicId)) throw new Error('a topic id is an integer');
  const setting = (i: number) => `assent.suppression_key_${i}`;
  const unsubscribeUrl = links.unsubscribeUrl('m.id', topicId);
  const manageUrl = links.manageUrl('m.id');
  const rows = (email: string, name: string) => `SELECT m.id AS member_id, ${email} AS email, ${name} AS name,
       ${unsubscribeUrl} AS unsubscribe_url, ${manageUrl} AS manage_url
     FROM consents c JOIN members m ON m.id = c.member_id
     WHERE c.topic_id = ${topicId} AND ${deliverable(keys.lookup.length, (i) => `current_setting('${setting(i)}')`)}`;
  // row_to_json writes the columns in their order, without spaces, as JSON.stringify would.
  const query =
    format === 'csv'
      ? `${rows(cell('m.email::text'), cell('m.name'))}`
      : `SELECT row_to_json(r)::text FROM (${rows('m.email::text', 'm.name')}) r`;
  const options = format === 'csv' ? 'FORMAT csv, HEADER' : `FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01'`;
  return {
    sql: `COPY (${query}) TO STDOUT WITH (${options})`,
    settings: { ...Object.fromEntries(keys.lookup.map((k, i) => [setting(i), k])), ...links.settings },
  };
}
