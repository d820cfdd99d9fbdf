import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { seedDatabase } from '../../src/shared/migrate.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { linkIn, linkPost } from '../helpers/session.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await startTestContext({ TRUST_PROXY: '1' });
  await seedDatabase(ctx.db);
  await ctx.startWorker();
});
afterAll(() => ctx.close());

describe('C10: logs are never linked to individuals', () => {
  it('C10: after joining, confirming, signing in, changing preferences and unsubscribing, no log line holds an address, a name, a member id or a link token', async () => {
    const topic = (await ctx.db('topics').where({ slug: 'monthly-bulletin' }).first('id')).id;
    await request(ctx.http)
      .post('/join')
      .set('X-Forwarded-For', '198.51.100.23')
      .type('form')
      .send({ name: 'Lise Meitner', email: 'lise@example.org', topics: [String(topic)], age_confirmed: 'yes' })
      .expect(200);
    const confirm = await ctx.smtp.waitFor((m) => m.envelopeTo.includes('lise@example.org'));
    const confirmPath = linkIn(confirm.parsed.text ?? '', '/join/confirm/');
    await linkPost(request(ctx.http), confirmPath).expect(200);
    const welcome = await ctx.smtp.waitFor(
      (m) => m.envelopeTo.includes('lise@example.org') && (m.parsed.subject ?? '').includes('welcome'),
    );
    const managePath = linkIn(welcome.parsed.text ?? '', '/p/');
    await request(ctx.http).post(managePath).type('form').send({ topics: [] }).expect(303);
    await request(ctx.http).post('/manage').type('form').send({ email: 'lise@example.org' }).expect(200);
    await request(ctx.http).get(`/privacy?email=lise@example.org&name=Lise`).expect(200);
    await ctx.smtp.waitFor((m) => m.envelopeTo.includes('lise@example.org') && (m.parsed.subject ?? '').includes('sign-in link'));

    const member = await ctx.db('members').where({ email: 'lise@example.org' }).first('id');
    const logs = JSON.stringify(ctx.logLines);
    expect(ctx.logLines.length).toBeGreaterThan(5);
    for (const secret of [
      'lise@example.org',
      'Lise',
      'Meitner',
      member.id,
      confirmPath.split('/').pop()!,
      managePath.split('/').pop()!,
      '198.51.100.23',
    ]) {
      expect(logs).not.toContain(secret);
    }
    expect(logs).toContain('198.51.100.0');
  });

  it('C10: the ledger stores the channel and policy version, not an IP address', async () => {
    const columns = Object.keys(await ctx.db('consent_ledger').columnInfo());
    expect(columns).toEqual(expect.arrayContaining(['source', 'channel', 'policy_version_id']));
    expect(columns.join(' ')).not.toMatch(/ip|address|agent/);
  });
});
