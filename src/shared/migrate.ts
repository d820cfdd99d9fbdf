import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runMigrations as runWorkerMigrations } from 'graphile-worker';
import type { Knex } from 'knex';
import pg from 'pg';
import type { Db } from './db-types.js';
import { migrationsDir, seedsDir } from './paths.js';
import type { Logger } from './logger.js';
import { graphileLogger } from './graphile-logger.js';
import { handlePoolErrors } from './pg-session.js';

const loadExtensions = ['.ts', '.js'];

/**
 * knex records a migration under its file name; run from source that ends in .ts, from the
 * compiled image in .js. Naming migrations without the extension lets one database be
 * migrated by either.
 */
function sourceFor(directory: string): Knex.MigrationSource<string> {
  return {
    async getMigrations() {
      return readdirSync(directory)
        .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
        .sort();
    },
    getMigrationName: (file) => file.replace(/\.(ts|js)$/, ''),
    getMigration: (file) => import(pathToFileURL(path.join(directory, file)).href) as Promise<Knex.Migration>,
  };
}

/**
 * Brings a database to the current schema: our knex migrations, then the job queue's own
 * schema (graphile-worker keeps its migrations in its package). Both take locks, so several
 * nodes starting at once is safe.
 */
export async function migrateDatabase(db: Db, connectionString: string, logger: Logger): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource: sourceFor(migrationsDir) })) as [number, string[]];
  // Our own pool, ended and awaited here: a pool graphile-worker makes itself is ended without
  // waiting for its sockets to close, which leaves them open after this returns.
  const pgPool = new pg.Pool({ connectionString, max: 1 });
  handlePoolErrors(pgPool, (err) => logger.warn({ event: 'migrate.pool_error', err: err.message }));
  try {
    await runWorkerMigrations({ pgPool, logger: graphileLogger(logger) });
  } finally {
    await pgPool.end();
  }
  return applied;
}

export async function rollbackDatabase(db: Db): Promise<string[]> {
  const [, undone] = (await db.migrate.rollback({ migrationSource: sourceFor(migrationsDir) })) as [number, string[]];
  return undone;
}

export async function seedDatabase(db: Db): Promise<void> {
  await db.seed.run({ directory: seedsDir, loadExtensions });
}
