import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createDb, type Db } from '../../src/db.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/embedded/postgres.js';
import { createLogger } from '../../src/shared/logger.js';
import { migrateDatabase } from '../../src/shared/migrate.js';
import { freePort } from './processes.js';

export interface OwnPostgres {
  server: EmbeddedDatabase;
  /** The migrated `assent` database on it. */
  url: string;
  db: Db;
  close(): Promise<void>;
}

/**
 * A PostgreSQL server of the test's own (not the run's shared one), so the test can stop and
 * start it as an operator restarting the database would. Throw-away: fsync off, deleted at close.
 */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const server = await startEmbeddedPostgres({
    dataDir: path.resolve('.data', `fault-pg-${randomBytes(4).toString('hex')}`),
    port: await freePort(),
    database: 'assent',
    persistent: false,
  });
  const db = createDb(server.url, createLogger('silent'), 5);
  await migrateDatabase(db, server.url, createLogger('silent'));
  return {
    server,
    url: server.url,
    db,
    async close() {
      await db.destroy();
      await server.stop();
    },
  };
}
