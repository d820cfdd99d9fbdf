import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createDb } from '../src/db.js';
import { createLogger } from '../src/shared/logger.js';
import type { CapturedQuery } from './pgbench.js';
import { benchAppEnv, HTTPS_PROXIED } from './processes.js';
import type { LoadRequest } from './load.js';

/**
 * Every statement the app sends to PostgreSQL for one request, in order: the app is built in this
 * process (production configuration) with a knex 'query' listener, and asked once.
 */
export async function captureStatements(
  databaseUrl: string,
  req: LoadRequest,
): Promise<{ queries: CapturedQuery[]; status: number; body: string }> {
  const config = loadConfig(benchAppEnv(databaseUrl));
  const logger = createLogger('silent');
  const db = createDb(databaseUrl, logger, 4);
  const sessionPool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const app = buildApp({ config, db, logger, sessionPool });
  await (app.locals.brand as { refresh(): Promise<unknown> }).refresh();
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const queries: CapturedQuery[] = [];
  db.on('query', (q: { sql: string; bindings?: unknown[] }) => queries.push({ sql: q.sql, bindings: q.bindings ?? [] }));
  const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const r = http.request(
      {
        host: '127.0.0.1',
        port: (server.address() as AddressInfo).port,
        method: req.method,
        path: req.path,
        headers: { ...HTTPS_PROXIED, ...req.headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    r.on('error', reject);
    r.end(req.body);
  });
  await new Promise<void>((r) => server.close(() => r()));
  await db.destroy();
  await sessionPool.end();
  return { queries, status, body };
}

export function describeStatements(queries: readonly CapturedQuery[]): string {
  return queries.map((q) => q.sql.replace(/\s+/g, ' ').slice(0, 60)).join(' · ');
}
