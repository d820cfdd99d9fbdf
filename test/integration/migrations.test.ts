import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger } from '../../src/shared/logger.js';
import { migrateDatabase, rollbackDatabase } from '../../src/shared/migrate.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.drop());

describe('migrations', () => {
  it('records migrations without a file extension, so source (.ts) and compiled (.js) runs agree', async () => {
    const names = (await t.db('knex_migrations').select('name')).map((r: { name: string }) => r.name);
    expect(names.length).toBeGreaterThanOrEqual(8);
    for (const n of names) expect(n).toMatch(/^\d{14}_[a-z_]+$/);
  });

  it('roll back cleanly and apply again', async () => {
    const undone = await rollbackDatabase(t.db);
    expect(undone.length).toBeGreaterThanOrEqual(8);
    expect(await t.db.schema.hasTable('consent_ledger')).toBe(false);
    const applied = await migrateDatabase(t.db, t.url, createLogger('silent'));
    expect(applied).toEqual([...undone].reverse());
    expect(await t.db.schema.hasTable('consent_ledger')).toBe(true);
    expect(await migrateDatabase(t.db, t.url, createLogger('silent'))).toEqual([]);
  });
});
