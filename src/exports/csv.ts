import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type { Request, Response } from 'express';
import type { Knex } from 'knex';

export interface CsvColumn {
  key: string;
  header: string;
}

export interface CsvResult {
  rows: number;
  /** False when the client went away before the file was complete. */
  completed: boolean;
}

/** A CSV download's status and headers: no Content-Length (chunked), never cached. */
export function csvHeaders(res: Response, filename: string): void {
  res.status(200);
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`);
  res.setHeader('Cache-Control', 'no-store');
}

/** Rows fetched from the server-side cursor per round trip; also the most rows buffered at once. */
const BATCH = 1000;

/**
 * Streams a query's rows to the response as a CSV download. The rows come from a server-side
 * cursor (pg-query-stream) read a batch at a time and piped with backpressure, so memory stays
 * flat whatever the row count: a slow client slows the cursor down instead of filling the heap.
 * The response has no Content-Length (chunked). Cells that a spreadsheet would read as a formula
 * (starting with = + - @, tab or carriage return) are prefixed with an apostrophe.
 */
export async function streamCsv(
  req: Request,
  res: Response,
  query: Knex.Raw,
  opts: { filename: string; columns: CsvColumn[]; map?: (row: Record<string, unknown>) => Record<string, unknown> },
): Promise<CsvResult> {
  csvHeaders(res, opts.filename);
  if (req.method === 'HEAD') {
    res.end();
    return { rows: 0, completed: false };
  }
  let rows = 0;
  const counter = new Transform({
    objectMode: true,
    highWaterMark: BATCH,
    transform(row: unknown, _enc, done) {
      rows++;
      done(null, opts.map ? opts.map(row as Record<string, unknown>) : row);
    },
  });
  const csv = stringify({ header: true, columns: opts.columns, escape_formulas: true });
  try {
    await pipeline(query.stream({ batchSize: BATCH, highWaterMark: BATCH }), counter, csv, res);
    return { rows, completed: true };
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE') return { rows, completed: false };
    throw err;
  }
}
