import path from 'node:path';
import pg from 'pg';
import { createDb, type Db } from '../src/db.js';
import { startEmbeddedPostgres } from '../src/embedded/postgres.js';
import type { Logger } from '../src/shared/logger.js';
import { migrateDatabase } from '../src/shared/migrate.js';

/**
 * A fresh, migrated database for one benchmark: on the server named by DATABASE_URL, else on an
 * embedded PostgreSQL started for the run. drop() removes the database (and that server).
 */
export async function benchDatabase(name: string, logger: Logger): Promise<{ db: Db; url: string; drop(): Promise<void> }> {
  let adminUrl = process.env.DATABASE_URL;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!adminUrl) {
    const embedded = await startEmbeddedPostgres({
      dataDir: path.join('.data', `bench-${name}-pg-${process.pid}`),
      port: 54400 + (process.pid % 500),
      persistent: false,
    });
    adminUrl = embedded.adminUrl;
    stopEmbedded = embedded.stop;
  }
  const dbName = `assent_bench_${name}_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString();
  const db = createDb(url, logger, 10);
  await migrateDatabase(db, url, logger);
  return {
    db,
    url,
    async drop() {
      await db.destroy();
      await admin.query(`DROP DATABASE ${dbName} WITH (FORCE)`);
      await admin.end();
      await stopEmbedded?.();
    },
  };
}
