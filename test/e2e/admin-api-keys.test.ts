import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { csrfFrom } from '../helpers/session.js';
import { signedInStaff, type Agent } from '../helpers/staff.js';

let ctx: TestContext;
let admin: { id: string; agent: Agent };

beforeAll(async () => {
  ctx = await startTestContext();
  admin = await signedInStaff(ctx, 'keys-admin@example.org', 'admin');
});
afterAll(() => ctx.close());

async function makeKey(agent: Agent, body: Record<string, unknown>, status: number) {
  const _csrf = await csrfFrom(agent, '/admin/api-keys');
  return agent
    .post('/admin/api-keys')
    .type('form')
    .send({ _csrf, ...body })
    .expect(status);
}

describe('API keys (admin screen)', () => {
  let key: string;
  let keyId: string;

  it('C11: an administrator makes a key with a name and scopes; it is shown once and stored only as a keyed hash', async () => {
    const res = await makeKey(admin.agent, { name: 'Newsletter tool', scopes: ['read', 'opt-out'] }, 201);
    expect(res.headers['cache-control']).toBe('no-store');
    key = /value="(assent_[A-Za-z0-9_-]{43})"/.exec(res.text)![1]!;
    expect(res.text).toContain('it is shown only this once');

    const row = await ctx.db('api_keys').where({ name: 'Newsletter tool' }).first();
    keyId = row.id;
    expect(row.scopes).toEqual(['read', 'opt-out']);
    expect(row.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(key.slice(7));
    expect(row.hint).toBe(key.slice(7, 13));

    const list = await admin.agent.get('/admin/api-keys').expect(200);
    expect(list.text).not.toContain(key);
    expect(list.text).toContain(`assent_${row.hint}…`);
    expect(list.text).toMatch(/Newsletter tool<\/th>[\s\S]*?read, opt-out[\s\S]*?<td>Never<\/td>\s*<td>Live<\/td>/);

    const audit = await ctx.db('audit_log').where({ action: 'api_key.created' }).first();
    expect(audit).toMatchObject({
      staff_user_id: admin.id,
      details: { apiKeyId: keyId, name: 'Newsletter tool', scopes: ['read', 'opt-out'] },
    });
  });

  it('the list shows when a key was last used', async () => {
    await request(ctx.http).get('/api/v1/topics').set('Authorization', `Bearer ${key}`).expect(200);
    const row = await ctx.db('api_keys').where({ id: keyId }).first();
    expect(row.last_used_at).toBeInstanceOf(Date);
    const list = await admin.agent.get('/admin/api-keys').expect(200);
    expect(list.text).toMatch(/Newsletter tool<\/th>[\s\S]*?<td>\d{1,2} \w{3} \d{4}[^<]*<\/td>\s*<td>Live<\/td>/);
  });

  it('refuses a key without a name or scopes, or with an unknown scope, field by field with the input kept', async () => {
    const none = await makeKey(admin.agent, { name: '' }, 422);
    expect(none.text).toContain('Give the key a name');
    expect(none.text).toContain('Choose at least one scope.');
    const odd = await makeKey(admin.agent, { name: 'Odd', scopes: ['read', 'opt-in'] }, 422);
    expect(odd.text).toContain('Choose among the scopes listed.');
    expect(odd.text).toContain('value="Odd"');
    for (const bad of ['Tool\u0000', 'Tool\r\nX', 'Tool\u2028X'])
      expect((await makeKey(admin.agent, { name: bad, scopes: 'read' }, 422)).text).toContain('Use plain text on one line');
    const twice = await makeKey(admin.agent, { name: 'newsletter tool ', scopes: 'read' }, 422);
    expect(twice.text).toContain('A live key already has this name.');
    expect(await ctx.db('api_keys').count({ n: '*' }).first()).toEqual({ n: 1 });
  });

  it('C11: revoking asks first, then refuses the key at once (401) and is audited', async () => {
    const _csrf = await csrfFrom(admin.agent, '/admin/api-keys');
    const ask = await admin.agent.post(`/admin/api-keys/${keyId}/revoke`).type('form').send({ _csrf }).expect(200);
    expect(ask.text).toContain('Revoke the API key “Newsletter tool”?');
    expect((await ctx.db('api_keys').where({ id: keyId }).first()).revoked_at).toBeNull();

    await admin.agent
      .post(`/admin/api-keys/${keyId}/revoke`)
      .type('form')
      .send({ _csrf, confirmed: 'yes' })
      .expect(303)
      .expect('Location', '/admin/api-keys?revoked');
    const res = await request(ctx.http).get('/api/v1/topics').set('Authorization', `Bearer ${key}`).expect(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const list = await admin.agent.get('/admin/api-keys?revoked').expect(200);
    expect(list.text).toMatch(/Newsletter tool<\/th>[\s\S]*?<td>Revoked [^<]+<\/td>/);
    expect(list.text).not.toContain(`/admin/api-keys/${keyId}/revoke`);
    expect(await ctx.db('audit_log').where({ action: 'api_key.revoked' }).first()).toMatchObject({
      staff_user_id: admin.id,
      details: { apiKeyId: keyId, name: 'Newsletter tool' },
    });
    // Its name is free again for a new key.
    await makeKey(admin.agent, { name: 'Newsletter tool', scopes: 'read' }, 201);
  });

  it('C11: only administrators open the API keys screen', async () => {
    for (const role of ['support', 'auditor', 'editor'] as const) {
      const { agent } = await signedInStaff(ctx, `keys-${role}@example.org`, role);
      await agent.get('/admin/api-keys').expect(403);
    }
  });
});
