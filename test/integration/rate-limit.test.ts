import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { withinLimit } from '../../src/shared/rate-limit.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.drop());

describe('C11: rate limits counted in PostgreSQL', () => {
  it('C11: the limit counts the previous window too, so a burst straddling a window boundary does not get twice the limit', async () => {
    const limit = { action: 'test:boundary', windowSeconds: 3600, max: 5 };
    expect(await withinLimit(t.db, limit, 'someone@example.org')).toBe(true);
    // Four more attempts made in the window before this one.
    await t.db.raw(`UPDATE rate_limits SET window_start = window_start - interval '1 hour', count = 4 WHERE key LIKE '%:test:boundary'`);
    const answers: boolean[] = [];
    for (let i = 0; i < 3; i++) answers.push(await withinLimit(t.db, limit, 'someone@example.org'));
    expect(answers).toEqual([true, false, false]);
    expect(await withinLimit(t.db, limit, 'someone.else@example.org')).toBe(true);
  });
});
