import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';
import type { Knex } from 'knex';
import type { CsvResult } from './csv.js';

const BATCH = 1000;

/**
 * Streams a query's rows as newline-delimited JSON (one object a line), from a server-side cursor
 * with backpressure, like streamCsv: memory stays flat whatever the row count.
 */
export async function streamNdjson(
  res: Response,
  query: Knex.Raw,
  map: (row: Record<string, unknown>) => Record<string, unknown>,
): Promise<CsvResult> {
  res.status(200);
  res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  if (res.req.method === 'HEAD') {
    res.end();
    return { rows: 0, completed: false };
  }
  let rows = 0;
  const lines = new Transform({
    writableObjectMode: true,
    writableHighWaterMark: BATCH,
    transform(row: Record<string, unknown>, _enc, done) {
      rows++;
      done(null, `${JSON.stringify(map(row))}\n`);
    },
  });
  try {
    await pipeline(query.stream({ batchSize: BATCH, highWaterMark: BATCH }), lines, res);
    return { rows, completed: true };
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE') return { rows, completed: false };
    throw err;
  }
}
