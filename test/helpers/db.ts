import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDb, type Db } from '../../src/db.js';
import { createLogger } from '../../src/shared/logger.js';

export interface TestDatabase {
  url: string;
  db: Db;
  drop(): Promise<void>;
}

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests through jest (global setup)`);
  return v;
}

/** A fresh database for one test file, cloned from the migrated template: isolated and fast. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = required('ASSENT_TEST_ADMIN_URL');
  const template = required('ASSENT_TEST_TEMPLATE');
  const name = `assent_t_${template.replace('assent_tpl_', '')}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
      break;
    } catch (err) {
      // Two files cloning the template at the same instant can collide; try again shortly.
      if (attempt >= 20 || !/being accessed by other users/.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const db = createDb(url, createLogger('silent'), 5);
  return {
    url,
    db,
    async drop() {
      await db.destroy();
      const a = new pg.Client({ connectionString: adminUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

/** How many of this database's sessions wait for a lock while running a statement like the pattern. */
export async function lockWaiters(db: Db, queryLike: string): Promise<number> {
  const { rows } = await db.raw<{ rows: { n: number }[] }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE ?",
    [queryLike],
  );
  return rows[0]?.n ?? 0;
}
