import type { Knex } from 'knex';
import type { DbOrTx } from '../db.js';
import { looksLikeLink } from '../shared/http/text.js';
import { boundKey, onListUnderEachKeySql, suppressionKeyBindings, type SuppressionKeys } from '../shared/suppression.js';
import { NOT_CONSENTING_STATUSES, type Mapping } from './formats.js';

/**
 * The dry run, set-based: one UPDATE over the staged rows of one import reads the mapped columns,
 * finds each row's first problem (missing or invalid address, control characters, over-long
 * fields, a name that reads as a web address, an unreadable date or consent value) and sorts the
 * rest into suppressed (never imported, never contacted, only counted: C6), duplicates within the
 * file, existing members (matched by address without regard to case: citext) and new ones.
 */

/* The address rule of the forms (zod's e-mail pattern), so an import accepts what /join accepts. */
const EMAIL_RE = "^([A-Za-z0-9_'+-]+\\.)*[A-Za-z0-9_'+-]*[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9-]*\\.)+[A-Za-z]{2,}$";
/* C0 and C1 controls, DEL, U+2028/2029 (shared/http/text.ts); the postal address may keep line breaks. */
const CONTROL_RE = '[\\x01-\\x1f\\x7f-\\x9f\\u2028\\u2029]';
const CONTROL_BUT_LF_RE = '[\\x01-\\x09\\x0b-\\x1f\\x7f-\\x9f\\u2028\\u2029]';
/* A date as the check reads it, each part in its range (month 01-12, day 01-31, 00:00-23:59:59, zone up to ±15:59). */
const DATE_RE =
  '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])([ T]([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d(\\.\\d+)?)?)? ?(Z|[+-](0\\d|1[0-5])(:?[0-5]\\d)?)?$';

/**
 * The date a row gives, or NULL when it is not a real one (2019-02-30, 25:00, +16:00): the check
 * then reports it. One regular expression without captures checks the shape and the ranges; the
 * day is then checked against the month's length from fixed positions. (Capturing the parts with
 * regexp_match cost about 2.5 ms a row, as PostgreSQL ran the expression again for each part.)
 */
const IMPORTED_AT = `CASE
  WHEN e.raw_date ~ :dateRe AND substr(e.raw_date, 1, 4)::int >= 1
   AND substr(e.raw_date, 9, 2)::int <= extract(day FROM make_date(substr(e.raw_date, 1, 4)::int, substr(e.raw_date, 6, 2)::int, 1) + interval '1 month - 1 day')
  THEN e.raw_date::timestamptz END`;
export const YES = ['yes', 'y', 'true', '1', 'x', 'subscribed', 'opted in', 'opted_in', 'on'];
export const NO = ['no', 'n', 'false', '0', 'unsubscribed', 'opted out', 'opted_out', 'off'];

function colNo(i: number): number {
  if (!Number.isInteger(i) || i < 1 || i > 1000) throw new Error(`bad column ${i}`);
  return i;
}

const cell = (i: number | undefined) => (i === undefined ? 'NULL::text' : `nullif(btrim(fields[${colNo(i)}]), '')`);
const lowerCell = (i: number) => `lower(btrim(coalesce(fields[${colNo(i)}], '')))`;

/** The name a staged row gives through the mapping: one column, or first and last name joined. */
const nameSql = (m: Mapping) =>
  m.name !== undefined ? cell(m.name) : `nullif(concat_ws(' ', ${cell(m.first_name)}, ${cell(m.last_name)}), '')`;

/** The SQL that reads one staged row through the mapping (column numbers are checked integers). */
function extractSql(m: Mapping): string {
  const name = nameSql(m);
  const postal =
    m.postal_address === undefined
      ? 'NULL::text'
      : `nullif(btrim(regexp_replace(fields[${colNo(m.postal_address)}], '\\r\\n|\\r', E'\\n', 'g')), '')`;
  const consenting = m.status === undefined ? 'true' : `NOT (${lowerCell(m.status)} = ANY (:notConsenting))`;
  const ins: string[] = [];
  const outs: string[] = [];
  const bad: string[] = [];
  for (const t of m.topics) {
    const topic = Number(t.topicId);
    if (!Number.isInteger(topic)) throw new Error('bad topic');
    if (t.column === 'all') {
      ins.push(`CASE WHEN ${consenting} THEN ${topic} END`);
      continue;
    }
    const v = lowerCell(t.column);
    ins.push(`CASE WHEN ${v} = ANY (:yes) THEN ${topic} END`);
    outs.push(`CASE WHEN ${v} = ANY (:no) THEN ${topic} END`);
    bad.push(`NOT (${v} = ANY (:yes) OR ${v} = ANY (:no) OR ${v} = '')`);
  }
  const arr = (xs: string[]) => (xs.length ? `array_remove(ARRAY[${xs.join(', ')}]::integer[], NULL)` : `'{}'::integer[]`);
  return `SELECT row_no, ${cell(m.email)} AS email, ${name} AS name, ${postal} AS postal_address, ${cell(m.phone)} AS phone,
            ${m.date === undefined ? 'NULL::text' : cell(m.date)} AS raw_date,
            ${arr(ins)} AS opt_in, ${arr(outs)} AS opt_out,
            ${bad.length ? bad.join(' OR ') : 'false'} AS bad_consent
          FROM import_rows WHERE import_id = :id OFFSET 0`;
}

const PROBLEM = `CASE
  WHEN e.email IS NULL THEN 'No e-mail address.'
  WHEN e.email ~ :control THEN 'The e-mail address holds a line break or a control character.'
  WHEN e.name ~ :control THEN 'The name holds a line break or a control character.'
  WHEN e.phone ~ :control THEN 'The phone number holds a line break or a control character.'
  WHEN e.postal_address ~ :controlButLf THEN 'The postal address holds a control character.'
  WHEN length(e.email) > 254 THEN 'The e-mail address is longer than 254 characters.'
  WHEN length(e.name) > 200 THEN 'The name is longer than 200 characters.'
  WHEN length(e.postal_address) > 1000 THEN 'The postal address is longer than 1,000 characters.'
  WHEN length(e.phone) > 40 THEN 'The phone number is longer than 40 characters.'
  WHEN e.row_no = ANY (:linkNames) THEN 'The name looks like a web address; a name cannot contain one.'
  WHEN e.email !~ :emailRe THEN 'This is not a valid e-mail address.'
  WHEN e.raw_date IS NOT NULL AND d.at IS NULL THEN 'The date is not one we can read (use 2024-03-31 or 2024-03-31 14:05).'
  WHEN e.bad_consent THEN 'A consent column holds something other than yes or no.'
END`;

const LINK_BATCH = 5000;

/**
 * The rows whose name reads as a web address, by the join form's own rule (looksLikeLink), so an
 * import cannot put a link where our mail greets someone by name. The rule is a JavaScript regular
 * expression over Unicode letters (PostgreSQL's would judge letters by the database's locale), so
 * the names are read here, a batch at a time, and only those with a dot or "://" (every pattern of
 * the rule needs one): an ordinary file sends few or none. The UPDATE then reports those rows.
 */
async function rowsWithLinkNames(trx: Knex.Transaction, importId: number, mapping: Mapping): Promise<number[]> {
  const found: number[] = [];
  for (let after = 0; ;) {
    const { rows } = await trx.raw<{ rows: { row_no: number; name: string }[] }>(
      `SELECT row_no, name FROM (SELECT row_no, ${nameSql(mapping)} AS name FROM import_rows WHERE import_id = :id AND row_no > :after) n
       WHERE strpos(name, '.') > 0 OR strpos(name, '://') > 0
       ORDER BY row_no LIMIT :batch`,
      { id: importId, after, batch: LINK_BATCH },
    );
    for (const row of rows) if (looksLikeLink(row.name)) found.push(row.row_no);
    if (rows.length < LINK_BATCH) return found;
    after = rows.at(-1)!.row_no;
  }
}

/**
 * Runs the whole dry run for one import, in the caller's transaction, as ONE UPDATE (each staged
 * row is rewritten once): each row is read through the mapping and its first problem found; the
 * rows without one are then sorted, suppressed first (a second copy of a suppressed address is
 * not listed as a duplicate), then duplicates within the file (by address without regard to case,
 * as citext compares, among rows without a problem; grouped by lower() under the C collation,
 * which makes the same groups and sorts several times faster), then existing members and new ones. One equality EXISTS
 * per suppression key is an index probe each (a join against unnest(keys) is planned as a sub-plan
 * per row, as the audience export found).
 */
export async function checkStagedRows(trx: Knex.Transaction, importId: number, mapping: Mapping, keys: SuppressionKeys): Promise<void> {
  // UTC for the dates; no JIT (compiling this statement took longer than running it on 30,000 rows);
  // room to sort the rows by address in memory.
  await trx.raw(`SET LOCAL TimeZone = 'UTC'; SET LOCAL jit = off; SET LOCAL work_mem = '64MB'`);
  const suppressed = onListUnderEachKeySql(keys.lookup.length, 'c.email', boundKey).join(' OR ');
  const linkNames = await rowsWithLinkNames(trx, importId, mapping);
  await trx.raw(
    `UPDATE import_rows r
     SET email = x.email, name = x.name, postal_address = x.postal_address, phone = x.phone, consented_at = x.at,
         opt_in = x.opt_in, opt_out = x.opt_out,
         problem = CASE WHEN x.problem IS NOT NULL THEN x.problem
                        WHEN NOT x.suppressed AND x.first < x.row_no THEN 'The same address as row ' || x.first || ' (a duplicate).' END,
         outcome = CASE WHEN x.problem IS NOT NULL THEN 'error' WHEN x.suppressed THEN 'suppressed' WHEN x.first < x.row_no THEN 'error'
                        WHEN x.existing THEN 'existing' ELSE 'new' END
     FROM (
       SELECT c.*,
              min(c.row_no) FILTER (WHERE c.problem IS NULL) OVER (PARTITION BY lower(c.email) COLLATE "C") AS first,
              c.problem IS NULL AND (${suppressed}) AS suppressed,
              c.problem IS NULL AND EXISTS (SELECT 1 FROM members m WHERE m.email = c.email::citext) AS existing
       FROM (
         SELECT e.*, d.at, ${PROBLEM} AS problem
         FROM (${extractSql(mapping)}) e
         CROSS JOIN LATERAL (SELECT ${IMPORTED_AT} AS at) d
         OFFSET 0 -- computed once a row: pulled up, each use of problem would run every test again
       ) c
     ) x
     WHERE r.import_id = :id AND r.row_no = x.row_no`,
    {
      id: importId,
      yes: YES,
      no: NO,
      notConsenting: NOT_CONSENTING_STATUSES,
      control: CONTROL_RE,
      controlButLf: CONTROL_BUT_LF_RE,
      emailRe: EMAIL_RE,
      dateRe: DATE_RE,
      linkNames,
      ...suppressionKeyBindings(keys),
    },
  );
  // The staging's statistics knew no outcome yet: without fresh ones every apply batch, asking for
  // the next new rows, was planned as a scan of the whole staged file (1.7 s of a 100,000-row
  // apply). Five values need no big sample: 3,000 rows, not 30,000.
  await trx.raw('SET LOCAL default_statistics_target = 10; ANALYZE import_rows (outcome)');
}

export interface CheckCounts {
  rows: number;
  new: number;
  existing: number;
  errors: number;
  suppressed: number;
  /** Existing members whose choices in the file differ from what they chose: reported, never applied. */
  differences: number;
}

export async function countOutcomes(db: DbOrTx, importId: number): Promise<CheckCounts> {
  const { rows } = await db.raw<{ rows: { outcome: string; n: number }[] }>(
    `SELECT outcome, count(*)::int AS n FROM import_rows WHERE import_id = ? GROUP BY outcome`,
    [importId],
  );
  const by = Object.fromEntries(rows.map((r) => [r.outcome, r.n])) as Record<string, number>;
  const diff = await db.raw<{ rows: { n: number }[] }>(`SELECT count(DISTINCT row_no)::int AS n FROM (${DIFFERENCES}) d`, {
    id: importId,
  });
  return {
    rows: rows.reduce((s, r) => s + r.n, 0),
    new: by.new ?? 0,
    existing: by.existing ?? 0,
    errors: by.error ?? 0,
    suppressed: by.suppressed ?? 0,
    differences: diff.rows[0]?.n ?? 0,
  };
}

/** Each topic where an existing member's current choice differs from the file's. */
const DIFFERENCES = `
  SELECT r.row_no, r.email::text AS email, t.name AS topic, 'opted in' AS in_file, coalesce(c.status, 'no choice') AS now
  FROM import_rows r JOIN members m ON m.email = r.email
  CROSS JOIN LATERAL unnest(r.opt_in) AS f(topic_id) JOIN topics t ON t.id = f.topic_id
  LEFT JOIN consents c ON c.member_id = m.id AND c.topic_id = f.topic_id
  WHERE r.import_id = :id AND r.outcome = 'existing' AND c.status IS DISTINCT FROM 'opted_in'
  UNION ALL
  SELECT r.row_no, r.email::text, t.name, 'opted out', c.status
  FROM import_rows r JOIN members m ON m.email = r.email
  CROSS JOIN LATERAL unnest(r.opt_out) AS f(topic_id) JOIN topics t ON t.id = f.topic_id
  JOIN consents c ON c.member_id = m.id AND c.topic_id = f.topic_id
  WHERE r.import_id = :id AND r.outcome = 'existing' AND c.status = 'opted_in'`;

export function differencesQuery(db: DbOrTx, importId: number): Knex.Raw {
  return db.raw(`SELECT row_no, email, topic, in_file, replace(now, '_', ' ') AS now FROM (${DIFFERENCES}) d`, { id: importId });
}

/** The error report: row, address as written, problem. Suppressed rows are never in it (C6). */
export function errorRowsQuery(db: DbOrTx, importId: number): Knex.Raw {
  return db.raw(
    `SELECT row_no, coalesce(email::text, '') AS email, problem FROM import_rows WHERE import_id = ? AND outcome = 'error' ORDER BY row_no`,
    [importId],
  );
}
