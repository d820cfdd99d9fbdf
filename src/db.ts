import knex, { type Knex } from 'knex';
import pg from 'pg';
import type { DatabaseSessionConfig } from './config.types.js';
import { isDatabaseUnavailable, type DatabaseWatch } from './shared/db-watch.js';
import { pgSessionOptions } from './shared/pg-session.js';
import type { Logger } from './shared/logger.js';

import type { Db, DbOrTx } from './shared/db-types.js';

export type { Db, DbOrTx };

// Counts come back as strings from pg by default (int8); these are never above 2^53 here.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/**
 * How long a query waits for a connection (and a connection for the server) before it fails.
 * While the database is unreachable a request should be answered 503 at once, not hang.
 */
export const ACQUIRE_TIMEOUT_MS = 5000;

/**
 * The one knex instance of a process. A lost connection (a server restart, a network cut) is
 * reported to the process's database watch, which logs it once per outage; it is never fatal.
 * With session settings (config.databaseSession), each connection has TCP keepalive and an
 * idle-in-transaction timeout (shared/pg-session.ts).
 */
export function createDb(
  connectionString: string,
  logger: Logger,
  poolMax = 10,
  watch?: DatabaseWatch,
  session?: DatabaseSessionConfig,
): Db {
  const connectionTrouble = (source: string, err: unknown, level: 'warn' | 'error', event: string) => {
    if (watch && isDatabaseUnavailable(err)) watch.unreachable(source, err);
    else if (err instanceof Error) logger[level]({ event, err: err.message });
    else logger[level]({ event, msg: String(err) });
  };
  const db = knex({
    client: 'pg',
    connection: { connectionString, application_name: 'assent', connectionTimeoutMillis: ACQUIRE_TIMEOUT_MS, ...pgSessionOptions(session) },
    acquireConnectionTimeout: ACQUIRE_TIMEOUT_MS,
    log: {
      warn: (msg: unknown) => connectionTrouble('knex', String(msg), 'warn', 'db.knex_warning'),
      error: (msg: unknown) => connectionTrouble('knex', String(msg), 'error', 'db.knex_error'),
      deprecate: (msg: unknown) => logger.warn({ event: 'db.knex_deprecation', msg: String(msg) }),
      debug: () => {},
    },
    pool: {
      min: 0,
      max: poolMax,
      afterCreate(conn: pg.Client, done: (err: Error | null, conn: pg.Client) => void) {
        conn.on('error', (err) => connectionTrouble('db pool', err, 'error', 'db.connection_error'));
        done(null, conn);
      },
    },
  });
  return db;
}

/** Services take an optional transaction and open one only when they were not given one. */
export async function inTransaction<T>(db: DbOrTx, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  if (db.isTransaction) return fn(db as Knex.Transaction);
  return (db as Knex).transaction(fn);
}

/**
 * Independent reads: at once on the pool, one after another on a transaction, whose one
 * connection runs one query at a time (pg warns about a second query sent while one is
 * running, and pg 9 refuses it). Each read is a function that starts it, or a knex query
 * builder, which runs only when awaited.
 */
export async function readTogether<T extends readonly unknown[]>(
  db: DbOrTx,
  reads: { [K in keyof T]: (() => PromiseLike<T[K]>) | PromiseLike<T[K]> },
): Promise<T> {
  const start = (read: (() => PromiseLike<unknown>) | PromiseLike<unknown>) => (typeof read === 'function' ? read() : read);
  if (!db.isTransaction) return (await Promise.all(reads.map(start))) as unknown as T;
  const results: unknown[] = [];
  for (const read of reads) results.push(await start(read));
  return results as unknown as T;
}
