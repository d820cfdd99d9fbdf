import { Transform, type TransformCallback } from 'node:stream';
import type { Request, Response } from 'express';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Db } from '../db.js';
import { csvHeaders, type CsvResult } from './csv.js';

/**
 * A CSV made by PostgreSQL: `COPY (query) TO STDOUT WITH (FORMAT csv, HEADER)`. COPY takes no bound
 * parameters, so values that must not appear in the SQL text (keys) travel as settings, set with
 * bound parameters for this transaction only (set_config(name, value, true)) and read in the
 * query with current_setting(name).
 */
export interface CopyCsv {
  /** The whole COPY … TO STDOUT statement. */
  sql: string;
  /** Transaction-local settings (custom names with a dot, e.g. assent.key_1) and their values. */
  settings: Record<string, string>;
}

const QUOTE = 0x22;
const NEWLINE = 0x0a;

/**
 * Counts the CSV records that pass (the header included), as a record ends at a newline outside
 * double quotes; a chunk without a quote in it is counted with native searches only.
 */
class RecordCounter extends Transform {
  records = 0;
  private quoted = false;

  /** With quotes false, every newline ends a record (NDJSON, whose quotes are JSON's own). */
  constructor(private readonly quotes = true) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (!this.quotes || (!this.quoted && chunk.indexOf(QUOTE) === -1)) {
      for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) this.records++;
    } else {
      for (const byte of chunk) {
        if (byte === QUOTE) this.quoted = !this.quoted;
        else if (byte === NEWLINE && !this.quoted) this.records++;
      }
    }
    done(null, chunk);
  }
}

/**
 * Streams a COPY's CSV to the response as a download, with backpressure: a slow client slows the
 * COPY down, so memory stays flat whatever the row count, and the bytes go from PostgreSQL to the
 * socket untouched. The statement runs on one connection taken from the pool for its own read-only
 * transaction, one query after another. If the client goes away the COPY is cancelled (from
 * another connection), the rest of its output read and dropped, and the connection goes back to
 * the pool clean; the result then says how many rows went and completed: false.
 */
export async function streamCopyCsv(req: Request, res: Response, db: Db, copy: CopyCsv, opts: { filename: string }): Promise<CsvResult> {
  csvHeaders(res, opts.filename);
  const sent = await streamCopy(req, res, db, copy, new RecordCounter());
  // The header line is a record but not a row.
  return { ...sent, rows: Math.max(0, sent.rows - 1) };
}

/** A COPY whose every line is one JSON object (see consent/audience.repository.ts), streamed as NDJSON like streamCopyCsv. */
export async function streamCopyNdjson(req: Request, res: Response, db: Db, copy: CopyCsv): Promise<CsvResult> {
  res.status(200);
  res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  return streamCopy(req, res, db, copy, new RecordCounter(false));
}

async function streamCopy(req: Request, res: Response, db: Db, copy: CopyCsv, counter: RecordCounter): Promise<CsvResult> {
  if (req.method === 'HEAD') {
    res.end();
    return { rows: 0, completed: false };
  }
  const conn = (await db.client.acquireConnection()) as pg.Client;
  let clean = false;
  try {
    await conn.query('BEGIN READ ONLY');
    const names = Object.keys(copy.settings);
    if (names.length > 0) {
      await conn.query(
        `SELECT ${names.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`).join(', ')}`,
        names.flatMap((n) => [n, copy.settings[n]!]),
      );
    }
    const source = conn.query(copyTo(copy.sql));
    const completed = await new Promise<boolean>((resolve, reject) => {
      let copying = true;
      source.on('end', () => (copying = false));
      source.on('error', (err) => {
        copying = false;
        if (res.headersSent) res.destroy(err);
        reject(err);
      });
      res.on('close', () => {
        if (res.writableFinished) return resolve(true);
        // The client went away: stop the COPY, drain what is still coming, then let the transaction end.
        counter.unpipe(res);
        source.unpipe(counter);
        if (!copying) return resolve(false);
        source.removeAllListeners('error');
        source.on('error', () => resolve(false));
        source.on('end', () => resolve(false));
        source.resume();
        db.raw('SELECT pg_cancel_backend(?)', [(conn as pg.Client & { processID: number }).processID]).catch(() => {});
      });
      source.pipe(counter).pipe(res);
    });
    await conn.query(completed ? 'COMMIT' : 'ROLLBACK');
    clean = true;
    return { rows: counter.records, completed };
  } finally {
    if (!clean)
      await conn.query('ROLLBACK').then(
        () => (clean = true),
        () => {},
      );
    // A connection whose transaction could not be ended is not given to anyone else.
    if (!clean) await conn.end().catch(() => {});
    await db.client.releaseConnection(conn);
  }
}
