import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Db } from '../db.js';
import { sniffDelimiter } from './formats.js';

/** The file could not be read as CSV; the message says why, for the upload form. */
export class NotCsvError extends Error {}

const HEAD_BYTES = 64 * 1024;
/** The longest record read (a runaway quote would otherwise take the whole file as one field). */
const MAX_RECORD_BYTES = 256 * 1024;
/** COPY lines are sent in chunks of about this size. */
const CHUNK_CHARS = 64 * 1024;

export interface CsvHead {
  delimiter: ',' | ';';
  headers: string[];
}

/**
 * Reads only the start of the file: refuses what is not text (a spreadsheet, an image: their bytes
 * hold NULs, or are not UTF-8), finds the delimiter from the header line and reads the headers.
 */
export async function readHead(path: string): Promise<CsvHead> {
  const fh = await open(path);
  let head: Buffer;
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
    head = buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  if (head.length === 0) throw new NotCsvError('The file is empty. Choose a CSV file with a header row and one row per member.');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
  } catch {
    throw new NotCsvError('This is not a CSV file in UTF-8. Save the sheet as “CSV UTF-8” and upload that file.');
  }
  if (text.includes('\u0000'))
    throw new NotCsvError(
      'This is not a CSV file (it holds binary data: a spreadsheet or an image?). Save the sheet as “CSV UTF-8” and upload that file.',
    );
  text = text.replace(/^\uFEFF/, '');
  const firstLine = text.split(/\r?\n|\r/, 1)[0] ?? '';
  const delimiter = sniffDelimiter(firstLine);
  let headers: string[];
  try {
    headers = (parseSync(firstLine, { delimiter, relax_quotes: true }) as string[][])[0] ?? [];
  } catch {
    throw new NotCsvError('The first line of the file is not a CSV header row. The first row must name the columns.');
  }
  headers = headers.map((h) => h.trim());
  if (headers.length === 0 || headers.every((h) => h === ''))
    throw new NotCsvError('The first line of the file is empty. The first row must name the columns.');
  if (headers.length > 200) throw new NotCsvError('The file has more than 200 columns; that is not a member list.');
  return { delimiter, headers };
}

/* eslint-disable no-control-regex -- NUL cannot be stored in PostgreSQL text; it is kept as a control character the check refuses */
const NUL = /\u0000/g;
/* eslint-enable no-control-regex */

/** One field as an element of a text[] literal, then the whole line escaped for COPY's text format. */
function arrayLiteral(record: readonly string[]): string {
  let out = '{';
  for (let i = 0; i < record.length; i++) {
    if (i > 0) out += ',';
    out += `"${record[i]!.replace(NUL, '\u0001').replace(/[\\"]/g, '\\$&')}"`;
  }
  return `${out}}`;
}

function copyText(value: string): string {
  return value.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'));
}

function readProblem(err: unknown): NotCsvError | undefined {
  const e = err as { code?: string; lines?: number };
  if (typeof e?.code !== 'string' || !e.code.startsWith('CSV_')) return undefined;
  const where = e.lines ? `Line ${e.lines.toLocaleString('en-GB')}` : 'A line';
  const why =
    e.code === 'CSV_QUOTE_NOT_CLOSED'
      ? 'a quoted field is never closed'
      : e.code === 'CSV_MAX_RECORD_SIZE'
        ? 'a row is far too long'
        : 'a quote stands where CSV does not allow one';
  return new NotCsvError(
    `${where} could not be read as CSV: ${why}. Check the file (or save it again as “CSV UTF-8”) and upload it again.`,
  );
}

/** Raised inside the fast path when the file needs the careful reader; never reaches the user. */
class NeedsCarefulReader extends Error {}

/**
 * Passes the file through untouched, but stops it if a line is exactly `\.`: before PostgreSQL 18,
 * COPY FROM STDIN reads that as the end of the data even in CSV, which would drop the rest.
 */
class EndMarkerGuard extends Transform {
  private tail = '\n';

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    // Only a chunk that holds a backslash (or follows one that ended near one) is looked at closely.
    if (chunk.includes(0x5c) || this.tail.includes('\\')) {
      const text = this.tail + chunk.toString('latin1');
      if (/\n\\\.(\r?\n|\r?$)/.test(text)) return done(new NeedsCarefulReader('end-of-data marker'));
    }
    this.tail = (this.tail + chunk.subarray(-3).toString('latin1')).slice(-3);
    done(null, chunk);
  }
}

/**
 * The fast way in: PostgreSQL's own CSV reader (COPY … WITH (FORMAT csv)) fills a temporary table
 * with one text column per header, numbering the records in file order, and one INSERT … SELECT
 * moves them to import_rows as arrays. It takes only a regular file: every row with as many fields
 * as the header, valid UTF-8, no NUL, no blank line. Anything else makes COPY refuse, the
 * transaction is rolled back, and the careful reader (csv-parse) stages the file instead and says
 * what is wrong with it, line by line.
 */
export async function stageWithCopy(db: Db, importId: number, path: string, head: CsvHead, maxRows: number): Promise<number> {
  const client = (await db.client.acquireConnection()) as pg.PoolClient;
  const columns = head.headers.map((_, i) => `c${i + 1}`);
  try {
    await client.query('BEGIN');
    await client.query(`CREATE TEMP TABLE import_raw (n bigserial, ${columns.map((c) => `${c} text`).join(', ')}) ON COMMIT DROP`);
    await pipeline(
      createReadStream(path),
      new EndMarkerGuard(),
      client.query(
        copyFrom(`COPY import_raw (${columns.join(', ')}) FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER '${head.delimiter}')`),
      ),
    );
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM import_raw');
    const n = rows[0]?.n ?? 0;
    if (n > maxRows) throw new NotCsvError(`The file has more than ${maxRows.toLocaleString('en-GB')} rows; split it in parts.`);
    await client.query(
      `INSERT INTO import_rows (import_id, row_no, fields)
       SELECT $1, n + 1, ARRAY[${columns.map((c) => `coalesce(${c}, '')`).join(', ')}] FROM import_raw`,
      [importId],
    );
    await client.query('COMMIT');
    return n;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (err instanceof NotCsvError) throw err;
    // COPY's own refusals (column counts, encoding, quoting) and the guard: the careful reader decides.
    if (err instanceof NeedsCarefulReader || typeof (err as { code?: unknown }).code === 'string') return -1;
    throw err;
  } finally {
    await db.client.releaseConnection(client);
  }
}

/**
 * Stages the file's rows in import_rows, through PostgreSQL's CSV reader when the file is regular
 * (stageWithCopy), else through csv-parse (stageRowsCarefully). Row numbers are the sheet's: the
 * header is row 1 (a record with a line break inside quotes counts once).
 */
export async function stageRows(db: Db, importId: number, path: string, head: CsvHead, maxRows: number): Promise<number> {
  let rows = head.headers.length >= 2 ? await stageWithCopy(db, importId, path, head, maxRows) : -1;
  if (rows < 0) rows = await stageRowsCarefully(db, importId, path, head.delimiter, maxRows);
  // Fresh statistics, so the check joins the staged rows by hash rather than probing them one by one.
  await db.raw('ANALYZE import_rows');
  return rows;
}

/**
 * Streams the file's rows into import_rows with COPY, in one transaction: the file is read a chunk
 * at a time (csv-parse), each record becomes one COPY line, and backpressure runs from PostgreSQL
 * back to the disk, so memory stays flat whatever the file's size. A file that stops being CSV
 * half-way leaves nothing staged. Row numbers are the sheet's: the header is row 1.
 */
export async function stageRowsCarefully(db: Db, importId: number, path: string, delimiter: string, maxRows: number): Promise<number> {
  const client = (await db.client.acquireConnection()) as pg.PoolClient;
  let rows = 0;
  try {
    await client.query('BEGIN');
    const copy = client.query(copyFrom('COPY import_rows (import_id, row_no, fields) FROM STDIN'));
    let pending = '';
    const toCopy = new Transform({
      writableObjectMode: true,
      transform(record: string[], _enc, done) {
        rows++;
        if (rows > maxRows)
          return done(new NotCsvError(`The file has more than ${maxRows.toLocaleString('en-GB')} rows; split it in parts.`));
        pending += `${importId}\t${rows + 1}\t${copyText(arrayLiteral(record))}\n`;
        if (pending.length < CHUNK_CHARS) return done();
        const out = pending;
        pending = '';
        done(null, out);
      },
      flush(done) {
        done(null, pending || undefined);
      },
    });
    await pipeline(
      createReadStream(path),
      parse({ delimiter, bom: true, from_line: 2, relax_column_count: true, skip_empty_lines: true, max_record_size: MAX_RECORD_BYTES }),
      toCopy,
      copy,
    );
    await client.query('COMMIT');
    return rows;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw readProblem(err) ?? err;
  } finally {
    await db.client.releaseConnection(client);
  }
}
