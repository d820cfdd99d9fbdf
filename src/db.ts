import knex, { type Knex } from 'knex';
import pg from 'pg';
import type { Logger } from './shared/logger.js';

export type Db = Knex;
export type DbOrTx = Knex | Knex.Transaction;

// Counts come back as strings from pg by default (int8); these are never above 2^53 here.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/** The one knex instance of a process. A pool error (server restart) is logged, not fatal. */
export function createDb(connectionString: string, logger: Logger, poolMax = 10): Db {
  const db = knex({
    client: 'pg',
    connection: { connectionString, application_name: 'assent' },
    log: {
      warn: (msg: unknown) => logger.warn({ event: 'db.knex_warning', msg: String(msg) }),
      error: (msg: unknown) => logger.error({ event: 'db.knex_error', msg: String(msg) }),
      deprecate: (msg: unknown) => logger.warn({ event: 'db.knex_deprecation', msg: String(msg) }),
      debug: () => {},
    },
    pool: {
      min: 0,
      max: poolMax,
      afterCreate(conn: pg.Client, done: (err: Error | null, conn: pg.Client) => void) {
        conn.on('error', (err) => logger.error({ event: 'db.connection_error', err: err.message }));
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
