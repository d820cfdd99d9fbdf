import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform } from 'node:stream';
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

/**
 * Streams the file's rows into import_rows with COPY, in one transaction: the file is read a chunk
 * at a time (csv-parse), each record becomes one COPY line, and backpressure runs from PostgreSQL
 * back to the disk, so memory stays flat whatever the file's size. A file that stops being CSV
 * half-way leaves nothing staged. Row numbers are the sheet's: the header is row 1.
 */
export async function stageRows(db: Db, importId: number, path: string, delimiter: string, maxRows: number): Promise<number> {
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
