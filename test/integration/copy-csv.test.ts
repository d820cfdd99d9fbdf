import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import { streamCopyCsv } from '../../src/exports/copy.js';
import type { CsvResult } from '../../src/exports/csv.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { waitFor } from '../helpers/jobs.js';

let database: TestDatabase;
let server: http.Server;
let base: string;
const results: CsvResult[] = [];

/** About a gigabyte of CSV: no client, socket or buffer holds it all before the client goes. */
const HUGE = `COPY (SELECT g AS n, repeat('x', 1000) AS filler, current_setting('assent.test_secret') AS secret
  FROM generate_series(1, 1000000) g) TO STDOUT WITH (FORMAT csv, HEADER)`;

beforeAll(async () => {
  database = await createTestDatabase();
  const app = express();
  app.get('/huge.csv', async (req, res) => {
    results.push(
      await streamCopyCsv(req, res, database.db, { sql: HUGE, settings: { 'assent.test_secret': 's3cret' } }, { filename: 'huge.csv' }),
    );
  });
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await database.drop();
});

describe('a CSV streamed from COPY', () => {
  it('a client that goes away mid-file stops the COPY, and its connection goes back clean', async () => {
    const firstChunk = await new Promise<string>((resolve, reject) => {
      http
        .get(`${base}/huge.csv`, (res) => {
          res.once('data', (chunk: Buffer) => {
            res.destroy();
            resolve(chunk.toString());
          });
        })
        .on('error', reject);
    });
    expect(firstChunk.startsWith('n,filler,secret\n1,x')).toBe(true);
    expect(firstChunk).toContain(',s3cret\n');
    const result = await waitFor(async () => results[0], 'the export to end');
    expect(result.completed).toBe(false);
    expect(result.rows).toBeGreaterThan(0);
    expect(result.rows).toBeLessThan(1_000_000);
    // No COPY left running, no transaction left open, and the settings went with the transaction.
    const busy = await database.db.raw(
      `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY%' AND state <> 'idle'`,
    );
    expect(busy.rows[0].n).toBe(0);
    for (let i = 0; i < 6; i++) {
      const { rows } = await database.db.raw(`SELECT current_setting('assent.test_secret', true) AS s`);
      expect(rows[0].s ?? '').toBe('');
    }
  });
});
