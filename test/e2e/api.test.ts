import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Validator } from '@seriousme/openapi-schema-validator';
import request from 'supertest';
import { makeServiceContext } from '../../src/context.js';
import { createApiKey } from '../../src/integrations/api-keys.service.js';
import { ONE_LINE_MESSAGE } from '../../src/shared/http/text.js';
import { Links } from '../../src/shared/links.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { insertMember, insertPolicy, insertTopic, recordConsent } from '../helpers/fixtures.js';
import { responseChecker } from '../helpers/openapi.js';
import { waitFor } from '../helpers/jobs.js';
import { createStaff, signedInStaff } from '../helpers/staff.js';

let ctx: TestContext;
let check: ReturnType<typeof responseChecker>;
const key: Record<'read' | 'optOut' | 'suppress' | 'all', { key: string; id: string }> = {} as never;
let news: number;
let offers: number;
let events: number;
let policyId: number;
const m: Record<string, string> = {};

beforeAll(async () => {
  ctx = await startTestContext();
  await ctx.startWorker();
  const staffId = await createStaff(ctx, 'api-admin@example.org', 'admin');
  const svc = makeServiceContext(ctx.config, ctx.db);
  const make = async (name: string, scopes: ('read' | 'opt-out' | 'suppress')[]) => {
    const made = await createApiKey(svc, staffId, { name, scopes });
    return { key: made.key, id: made.row.id };
  };
  key.read = await make('Reader', ['read']);
  key.optOut = await make('CRM opt-outs', ['opt-out']);
  key.suppress = await make('Bounce relay', ['suppress']);
  key.all = await make('Sending tool', ['read', 'opt-out', 'suppress']);

  policyId = await insertPolicy(ctx.db, { version: '1.0' });
  news = await insertTopic(ctx.db, { slug: 'news', kind: 'newsletter', policyId });
  events = await insertTopic(ctx.db, { slug: 'events', kind: 'announcement', policyId });
  offers = await insertTopic(ctx.db, { slug: 'offers', kind: 'third_party_offer', policyId });
  const optIn = (memberId: string, topicId: number) =>
    recordConsent(ctx.db, { memberId, topicId, policyId, to: 'opted_in', source: 'signup' });
  for (const name of ['ada', 'bob', 'cy', 'dee']) {
    m[name] = await insertMember(ctx.db, `${name}@example.org`, name.toUpperCase());
    await optIn(m[name], news);
    await optIn(m[name], events);
  }
  const doc = (await request(ctx.http).get('/api/v1/openapi.json').expect(200)).body as Record<string, unknown>;
  check = responseChecker(doc);
});
afterAll(() => ctx.close());

const bearer = (k: { key: string }) => `Bearer ${k.key}`;
const get = (path: string, k: { key: string } = key.read) => request(ctx.http).get(`/api/v1${path}`).set('Authorization', bearer(k));
const post = (path: string, body: unknown, k: { key: string }) =>
  request(ctx.http)
    .post(`/api/v1${path}`)
    .set('Authorization', bearer(k))
    .send(body as object);
const PROBLEM = 'application/problem+json';
function expectProblem(res: request.Response, docPath: string, method: string) {
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  check(docPath, method, res.status, PROBLEM, JSON.parse(res.text));
  expect(res.headers['set-cookie']).toBeUndefined();
  return JSON.parse(res.text) as {
    type: string;
    title: string;
    status: number;
    detail: string;
    errors?: { field: string; message: string }[];
  };
}

describe('the OpenAPI document and its reference page', () => {
  it('is an OpenAPI 3.1 document that validates, generated from the request schemas', async () => {
    const res = await request(ctx.http).get('/api/v1/openapi.json').expect(200);
    expect(res.body.openapi).toBe('3.1.0');
    const result = await new Validator().validate(res.body);
    expect(result).toEqual({ valid: true });
    expect(Object.keys(res.body.paths).sort()).toEqual(
      [
        '/changes',
        '/members',
        '/members/{id}',
        '/members/{id}/ledger',
        '/members/{id}/opt-out',
        '/suppressions',
        '/topics',
        '/topics/{id}/audience',
      ].sort(),
    );
    expect(res.body.components.schemas.OptOutRequest.additionalProperties).toBe(false);
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('is rendered as a readable page on the server, with no script', async () => {
    const res = await request(ctx.http).get('/api/v1/docs').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('<code>POST /members/{id}/opt-out</code>');
    expect(res.text).toContain('id="schema-AudienceRow"');
    expect(res.text).toContain('id="problem-rate_limited"');
    expect(res.text).not.toMatch(/<script/i);
    expect(res.headers['set-cookie']).toBeUndefined();
  });
});

describe('authentication and scopes', () => {
  it('a missing, garbled or unknown key gets 401 problem details, with no cookie', async () => {
    const none = await request(ctx.http).get('/api/v1/topics').expect(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="assent"');
    expect(expectProblem(none, '/topics', 'get').type).toBe('http://assent.test/api/v1/docs#problem-unauthorized');
    for (const header of [
      'Bearer',
      'Basic YWxhZGRpbjpvcGVuc2VzYW1l',
      'Bearer garbled',
      `Bearer ${key.read.key}x`,
      `Bearer assent_${'A'.repeat(43)}`,
      `Bearer ${key.read.key} extra`,
    ]) {
      const res = await request(ctx.http).get('/api/v1/topics').set('Authorization', header).expect(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="assent", error="invalid_(token|request)"$/);
      expectProblem(res, '/topics', 'get');
    }
  });

  it('C11: a key without the scope gets 403, and the refusal is audited under its name', async () => {
    const res = await post(`/members/${m.ada}/opt-out`, { topic: news }, key.read).expect(403);
    expect(expectProblem(res, '/members/{id}/opt-out', 'post').detail).toBe('This key does not have the opt-out scope.');
    expectProblem(
      await post('/suppressions', { email: 'ada@example.org', reason: 'manual' }, key.optOut).expect(403),
      '/suppressions',
      'post',
    );
    expectProblem(await get('/topics', key.suppress).expect(403), '/topics', 'get');
    expect((await ctx.db('consents').where({ member_id: m.ada, topic_id: news }).first()).status).toBe('opted_in');
    const audit = await ctx.db('audit_log').where({ action: 'api.called' }).whereRaw(`details->>'refused' IS NOT NULL`).orderBy('id');
    expect(audit.map((a: { details: Record<string, unknown> }) => [a.details.key, a.details.route, a.details.refused])).toEqual([
      ['Reader', '/api/v1/members/{id}/opt-out', 'no opt-out scope'],
      ['CRM opt-outs', '/api/v1/suppressions', 'no suppress scope'],
      ['Bounce relay', '/api/v1/topics', 'no read scope'],
    ]);
  });

  it('an unknown path under /api is a 404 problem, not an HTML page', async () => {
    const res = await get('/nothing-here').expect(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});

describe('reading', () => {
  it('GET /topics lists the offered topics and their kinds', async () => {
    const res = await get('/topics').expect(200);
    check('/topics', 'get', 200, 'application/json', res.body);
    expect(res.body.items.map((t: { slug: string; kind: string }) => [t.slug, t.kind])).toEqual([
      ['news', 'newsletter'],
      ['events', 'announcement'],
      ['offers', 'third_party_offer'],
    ]);
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('GET /members?email= finds a member by exact address, with their choices per topic', async () => {
    const res = await get('/members?email=ADA@example.org').expect(200);
    check('/members', 'get', 200, 'application/json', res.body);
    expect(res.body).toMatchObject({ id: m.ada, email: 'ada@example.org', status: 'active', deliverable: true });
    expect(res.body.choices.map((c: { topic_slug: string; status: string }) => [c.topic_slug, c.status])).toEqual([
      ['news', 'opted_in'],
      ['events', 'opted_in'],
      ['offers', 'opted_out'],
    ]);
    const bad = await get('/members?email=not-an-address').expect(422);
    expect(expectProblem(bad, '/members', 'get').errors).toEqual([{ field: 'email', message: expect.any(String) }]);
    expectProblem(await get('/members').expect(422), '/members', 'get');
  });

  it('GET /members/{id} and /members/{id}/ledger: details, choices and the history page by page', async () => {
    const res = await get(`/members/${m.bob}`).expect(200);
    check('/members/{id}', 'get', 200, 'application/json', res.body);
    expect(res.body.name).toBe('BOB');
    expectProblem(await get('/members/0b8f7a3e-5c1d-4e2a-9f6b-2d3c4b5a6e7f').expect(404), '/members/{id}', 'get');
    expectProblem(await get('/members/not-a-uuid').expect(404), '/members/{id}', 'get');

    const first = await get(`/members/${m.bob}/ledger?limit=1`).expect(200);
    check('/members/{id}/ledger', 'get', 200, 'application/json', first.body);
    expect(first.body.items).toHaveLength(1);
    expect(first.body.items[0]).toMatchObject({ topic_id: news, from: null, to: 'opted_in', source: 'signup', api_key: null });
    const second = await get(`/members/${m.bob}/ledger?limit=1&cursor=${first.body.next_cursor}`).expect(200);
    check('/members/{id}/ledger', 'get', 200, 'application/json', second.body);
    expect(second.body.items[0]).toMatchObject({ topic_id: events });
    expect(second.body.next_cursor).toBeNull();
    expectProblem(await get(`/members/${m.bob}/ledger?limit=501`).expect(422), '/members/{id}/ledger', 'get');
    expectProblem(
      await get(`/members/${m.bob}/ledger?cursor=${Buffer.from('x').toString('base64url')}`).expect(404),
      '/members/{id}/ledger',
      'get',
    );
  });
});

describe('the audience, with links', () => {
  it('streams NDJSON by default: opted-in members, each with unsubscribe_url and manage_url', async () => {
    const res = await get(`/topics/${news}/audience`).buffer(true).expect(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers['transfer-encoding']).toBe('chunked');
    const rows = res.text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    for (const row of rows) check('/topics/{id}/audience', 'get', 200, 'application/x-ndjson', row);
    expect(rows.map((r) => r.email).sort()).toEqual(['ada@example.org', 'bob@example.org', 'cy@example.org', 'dee@example.org']);
    expect(rows[0]!.unsubscribe_url).toMatch(/^http:\/\/assent\.test\/unsubscribe\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]{43}$/);
    expect(rows[0]!.manage_url).toMatch(/^http:\/\/assent\.test\/p\/[A-Za-z0-9_-]+\./);
    // The entry is written once the last row has gone, so it may land just after the answer ends.
    const audit = await waitFor(
      () => ctx.db('audit_log').where({ action: 'api.called' }).whereRaw(`details->>'route' = '/api/v1/topics/{id}/audience'`).first(),
      'the audience call in the audit log',
    );
    expect(audit.details).toMatchObject({ key: 'Reader', status: 200, rows: 4 });
  });

  it('gives CSV when asked, and 406 for a format it does not make', async () => {
    const res = await get(`/topics/${news}/audience`).set('Accept', 'text/csv').buffer(true).expect(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    const [header, ...rows] = res.text.trimEnd().split('\n');
    expect(header).toBe('member_id,email,name,unsubscribe_url,manage_url');
    expect(rows).toHaveLength(4);
    expectProblem(await get(`/topics/${news}/audience`).set('Accept', 'text/html').expect(406), '/topics/{id}/audience', 'get');
    expectProblem(await get('/topics/999999/audience').expect(404), '/topics/{id}/audience', 'get');
  });

  it('C4: an unsubscribe_url from the API, used as RFC 8058 one-click, opts out exactly that member and topic', async () => {
    const res = await get(`/topics/${news}/audience`).buffer(true).expect(200);
    const row = res.text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>)
      .find((r) => r.member_id === m.cy)!;
    const path = new URL(row.unsubscribe_url!).pathname;
    await request(ctx.http).post(path).type('form').send('List-Unsubscribe=One-Click').expect(200);
    const now = await ctx.db('consents').where({ member_id: m.cy }).orderBy('topic_id').select('topic_id', 'status');
    expect(now).toEqual([
      { topic_id: news, status: 'opted_out' },
      { topic_id: events, status: 'opted_in' },
    ]);
    expect((await ctx.db('consents').where({ member_id: m.dee, topic_id: news }).first()).status).toBe('opted_in');
  });
});

describe('opting out from another system', () => {
  it('C3, C14: records the opt-out at once under source api naming the key, and mails the member the usual confirmation', async () => {
    const res = await post(`/members/${m.ada}/opt-out`, { topic: news, reference: 'CRM-42' }, key.optOut).expect(200);
    check('/members/{id}/opt-out', 'post', 200, 'application/json', res.body);
    expect(res.body).toEqual({ member_id: m.ada, changed: [{ topic_id: news, from: 'opted_in', to: 'opted_out' }] });
    expect(res.headers['set-cookie']).toBeUndefined();
    const event = await ctx.db('consent_ledger').where({ member_id: m.ada }).orderBy('id', 'desc').first();
    expect(event).toMatchObject({
      topic_id: news,
      to_status: 'opted_out',
      source: 'api',
      api_key_id: key.optOut.id,
      request_reference: 'CRM-42',
    });
    const mail = await ctx.smtp.waitFor(
      (x) => x.envelopeTo.includes('ada@example.org') && (x.parsed.subject ?? '').includes('preferences have changed'),
    );
    expect(mail.parsed.text).toContain('in another of our systems');

    const again = await post(`/members/${m.ada}/opt-out`, { topic: news }, key.optOut).expect(200);
    expect(again.body.changed).toEqual([]);
    const ledger = await get(`/members/${m.ada}/ledger`).expect(200);
    expect(ledger.body.items.at(-1)).toMatchObject({ source: 'api', api_key: 'CRM opt-outs', to: 'opted_out' });
  });

  it('"all" opts the member out of every topic', async () => {
    const res = await post(`/members/${m.bob}/opt-out`, { topic: 'all' }, key.all).expect(200);
    expect(res.body.changed.map((c: { topic_id: number }) => c.topic_id).sort()).toEqual([news, events].sort());
  });

  it('refuses an unknown topic, an unknown member and a body that is not an opt-out, changing nothing', async () => {
    expectProblem(await post(`/members/${m.dee}/opt-out`, { topic: 999999 }, key.optOut).expect(422), '/members/{id}/opt-out', 'post');
    expectProblem(
      await post('/members/0b8f7a3e-5c1d-4e2a-9f6b-2d3c4b5a6e7f/opt-out', { topic: news }, key.optOut).expect(404),
      '/members/{id}/opt-out',
      'post',
    );
    const extra = await post(`/members/${m.dee}/opt-out`, { topic: news, to: 'opted_in' }, key.optOut).expect(422);
    expectProblem(extra, '/members/{id}/opt-out', 'post');
    const notJson = await request(ctx.http)
      .post(`/api/v1/members/${m.dee}/opt-out`)
      .set('Authorization', bearer(key.optOut))
      .type('application/json')
      .send('{"topic":')
      .expect(400);
    expect(notJson.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(await ctx.db('consent_ledger').where({ member_id: m.dee }).count({ n: '*' }).first()).toEqual({ n: 2 });
  });

  it('C1: no API call can opt anyone in: there is no such operation', async () => {
    for (const path of [`/members/${m.dee}/opt-in`, `/members/${m.dee}/subscribe`, `/members/${m.dee}/choices`, `/members/${m.dee}`])
      await post(path, { topic: offers }, key.all).expect(404);
    const doc = (await request(ctx.http).get('/api/v1/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    const writes = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops)
        .filter((o) => o !== 'get')
        .map((o) => `${o} ${p}`),
    );
    expect(writes.sort()).toEqual(['post /members/{id}/opt-out', 'post /suppressions']);
    expect(await ctx.db('consents').where({ member_id: m.dee, topic_id: offers }).first()).toBeUndefined();
  });

  it('C1: the database refuses an api opt-in, of any topic kind, even one naming a key', async () => {
    for (const topicId of [news, offers]) {
      await expect(
        ctx.db('consent_ledger').insert({
          member_id: m.dee,
          topic_id: topicId,
          to_status: 'opted_in',
          source: 'api',
          channel: 'system',
          policy_version_id: policyId,
          api_key_id: key.all.id,
        }),
      ).rejects.toThrow(/consent_ledger_api_is_opt_out|C1/);
    }
    await expect(
      ctx.db('consent_ledger').insert({
        member_id: m.dee,
        topic_id: news,
        to_status: 'opted_out',
        source: 'api',
        channel: 'system',
        policy_version_id: policyId,
      }),
    ).rejects.toThrow(/consent_ledger_api_names_key/);
  });
});

describe('suppressions', () => {
  it('marks an address suppressed (and a bounce undeliverable); lookups then answer as for an unknown address', async () => {
    const unknown = await get('/members?email=nobody@example.org').expect(404);
    const res = await post('/suppressions', { email: ' DEE@example.org', reason: 'bounce' }, key.suppress).expect(204);
    expect(res.text).toBe('');
    expect((await ctx.db('members').where({ id: m.dee }).first()).email_undeliverable_at).toBeInstanceOf(Date);
    expect(await ctx.db('suppression_list').where({ reason: 'bounce' }).count({ n: '*' }).first()).toEqual({ n: 1 });
    const hidden = await get('/members?email=dee@example.org').expect(404);
    expect(hidden.body).toEqual(unknown.body);
    expect((await get(`/members/${m.dee}`).expect(200)).body.deliverable).toBe(false);
    const audience = await get(`/topics/${events}/audience`).buffer(true).expect(200);
    expect(audience.text).not.toContain('dee@example.org');
    // An address no member has is answered the same (no enumeration).
    await post('/suppressions', { email: 'stranger@example.org', reason: 'complaint' }, key.suppress).expect(204);
    expectProblem(
      await post('/suppressions', { email: 'dee@example.org', reason: 'spam' }, key.suppress).expect(422),
      '/suppressions',
      'post',
    );
    expectProblem(await post('/suppressions', { email: 'no', reason: 'manual' }, key.suppress).expect(422), '/suppressions', 'post');
  });
});

describe('the change feed', () => {
  async function pollAll(cursor?: string, limit = 100) {
    const items: { kind: string; member_id: string; consent: { topic_id: number; to: string; source: string } | null }[] = [];
    for (;;) {
      const res = await get(`/changes?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`).expect(200);
      check('/changes', 'get', 200, 'application/json', res.body);
      items.push(...res.body.items);
      cursor = res.body.next_cursor as string;
      if (!res.body.has_more) return { items, cursor };
    }
  }

  it('gives every consent event, confirmation, details change and erasure after a cursor, page by page, never skipping', async () => {
    const start = await pollAll(undefined, 3);
    expect(
      start.items
        .filter((c) => c.kind === 'member.confirmed')
        .map((c) => c.member_id)
        .sort(),
    ).toEqual(Object.values(m).sort());
    expect(start.items.filter((c) => c.kind === 'consent' && c.member_id === m.ada).map((c) => c.consent!.source)).toEqual([
      'signup',
      'signup',
      'api',
    ]);
    const idle = await get(`/changes?cursor=${start.cursor}`).expect(200);
    expect(idle.body).toEqual({ items: [], next_cursor: start.cursor, has_more: false });

    await ctx.db('members').where({ id: m.bob }).update({ name: 'Robert' });
    await ctx
      .db('members')
      .where({ id: m.cy })
      .update({ status: 'erased', email: null, name: null, postal_address: null, phone: null, erased_at: ctx.db.fn.now() });
    // A change reaches the feed once every older transaction of the database has ended (the
    // worker's, an autovacuum's): it may take a moment, and then it is there, in order.
    const next = await waitFor(async () => {
      const page = await pollAll(start.cursor);
      return page.items.length >= 2 && page;
    }, 'both changes in the feed');
    expect(next.items.map((c) => [c.kind, c.member_id])).toEqual([
      ['member.details_changed', m.bob],
      ['member.erased', m.cy],
    ]);
    expectProblem(await get('/changes?cursor=bm9wZQ').expect(404), '/changes', 'get');
  });

  it('never moves a cursor past a change whose transaction is still open, even when later ones have committed', async () => {
    const { cursor } = await pollAll();
    const open = await ctx.db.transaction();
    try {
      await open('members').where({ id: m.ada }).update({ name: 'Ada Lovelace' }); // takes its transaction id now
      await ctx.db('members').where({ id: m.bob }).update({ name: 'Bob' }); // commits first, with a later one
      const early = await pollAll(cursor);
      expect(early.items).toEqual([]);
      expect(early.cursor).toBe(cursor);
      await open.commit();
    } finally {
      if (!open.isCompleted()) await open.rollback();
    }
    const late = await waitFor(async () => {
      const page = await pollAll(cursor);
      return page.items.length >= 2 && page;
    }, 'both changes in the feed');
    expect(late.items.map((c) => [c.kind, c.member_id])).toEqual([
      ['member.details_changed', m.ada],
      ['member.details_changed', m.bob],
    ]);
  });
});

describe('the audit log', () => {
  it('C11: every API call is audited with the key name, its route, its answer and the member it concerned', async () => {
    const before = Number((await ctx.db('audit_log').where({ action: 'api.called' }).count({ n: '*' }).first())!.n);
    await get(`/members/${m.ada}`).expect(200);
    await get('/members/0b8f7a3e-5c1d-4e2a-9f6b-2d3c4b5a6e7f').expect(404);
    const rows = await waitFor(async () => {
      const found = await ctx.db('audit_log').where({ action: 'api.called' }).orderBy('id').offset(before);
      return found.length >= 2 && found;
    }, 'both calls in the audit log');
    expect(
      rows.map((r: { member_id: string | null; staff_user_id: string | null; details: Record<string, unknown> }) => [
        r.staff_user_id,
        r.member_id,
        r.details,
      ]),
    ).toEqual([
      [null, m.ada, { apiKeyId: key.read.id, key: 'Reader', method: 'GET', route: '/api/v1/members/{id}', status: 200 }],
      [null, null, { apiKeyId: key.read.id, key: 'Reader', method: 'GET', route: '/api/v1/members/{id}', status: 404 }],
    ]);
    const { agent } = await signedInStaff(ctx, 'api-auditor@example.org', 'auditor');
    const page = await agent.get('/admin/audit?action=api.called').expect(200);
    expect(page.text).toContain('API key “Reader”');
    expect(page.text).toContain('The API key “Reader” called GET /api/v1/members/{id}: answered 200.');
    expect(page.text).toContain('The API key “CRM opt-outs” called POST /api/v1/suppressions: refused (no suppress scope).');
  });
});

describe('rate limit', () => {
  let limited: TestContext;
  afterAll(() => limited?.close());

  it('each key is limited per minute: over it, 429 problem details with Retry-After; other keys are not affected', async () => {
    limited = await startTestContext({ API_RATE_PER_MINUTE: '3' });
    const staffId = await createStaff(limited, 'limit-admin@example.org', 'admin');
    const svc = makeServiceContext(limited.config, limited.db);
    const a = (await createApiKey(svc, staffId, { name: 'A', scopes: ['read'] })).key;
    const b = (await createApiKey(svc, staffId, { name: 'B', scopes: ['read'] })).key;
    const call = (k: string) => request(limited.app).get('/api/v1/topics').set('Authorization', `Bearer ${k}`);
    for (let i = 0; i < 3; i++) await call(a).expect(200);
    const refused = await call(a).expect(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(120);
    expectProblem(refused, '/topics', 'get');
    await call(b).expect(200);
  });
});

describe('the audience as PostgreSQL writes it', () => {
  it('each NDJSON line is the JSON of one member, whatever the name holds, with the links Assent itself signs', async () => {
    const digest = await insertTopic(ctx.db, { slug: 'digest', kind: 'newsletter', policyId });
    const awkward = ['Zoë "Z" O\'Brien', 'back\\slash', 'two\nlines\ttab', 'ctrl\u0001\u0002char', '=SUM(1)', null];
    const ids: string[] = [];
    for (const [i, name] of awkward.entries()) {
      const id = await insertMember(ctx.db, `awk${i}@example.org`, name);
      await recordConsent(ctx.db, { memberId: id, topicId: digest, policyId, to: 'opted_in', source: 'signup' });
      ids.push(id);
    }
    const links = new Links(ctx.config.baseUrl, ctx.config.secretKeys);
    const res = await get(`/topics/${digest}/audience`).buffer(true).expect(200);
    const lines = res.text.split('\n');
    expect(lines.pop()).toBe('');
    const rows = lines.map((l) => JSON.parse(l) as Record<string, string | null>);
    // Written as JSON.stringify writes it: the columns in order, no spaces.
    expect(lines).toEqual(rows.map((r) => JSON.stringify(r)));
    for (const row of rows) check('/topics/{id}/audience', 'get', 200, 'application/x-ndjson', row);
    const issuedAt = links.readManage(rows[0]!.manage_url!.split('/p/')[1]!)!.issuedAt;
    expect(rows.sort((a, b) => a.email!.localeCompare(b.email!))).toEqual(
      ids.map((id, i) => ({
        member_id: id,
        email: `awk${i}@example.org`,
        // JSON carries names as they are: formula escaping is for spreadsheets, so only the CSV has it.
        name: awkward[i],
        unsubscribe_url: links.unsubscribe(id, digest).url,
        manage_url: links.manage(id, issuedAt * 1000),
      })),
    );
    const csv = await get(`/topics/${digest}/audience`).set('Accept', 'text/csv').buffer(true).expect(200);
    expect(csv.text).toContain(`,'=SUM(1),${links.unsubscribe(ids[4]!, digest).url},`);
  });
});

/** Issue 7: the API's JSON and query text refuse control characters as the forms do (shared/http/text.ts). */
describe('control characters in what the API is sent', () => {
  it('C11: a reference holding NUL, CR/LF, U+2028 or another control character is a 422 naming the field; nothing is recorded', async () => {
    const before = await ctx.db('consent_ledger').where({ member_id: m.dee }).count({ n: '*' }).first();
    for (const bad of ['\u0000', '\r\n', '\u2028', '\u2029', '\u0085', '\u001b', '\u007f']) {
      for (const reference of [`CRM${bad}42`, `CRM-42${bad}`]) {
        const res = await post(`/members/${m.dee}/opt-out`, { topic: news, reference }, key.optOut);
        const problem = expectProblem(res, '/members/{id}/opt-out', 'post');
        expect([JSON.stringify(reference), res.status, problem.errors]).toEqual([
          JSON.stringify(reference),
          422,
          [{ field: 'reference', message: ONE_LINE_MESSAGE }],
        ]);
      }
    }
    expect(await ctx.db('consent_ledger').where({ member_id: m.dee }).count({ n: '*' }).first()).toEqual(before);
    expect((await ctx.db('consents').where({ member_id: m.dee, topic_id: news }).first()).status).toBe('opted_in');
  });

  it('C11: an e-mail address with a control character after it is refused, not trimmed into a real one', async () => {
    const suppressed = await ctx.db('suppression_list').count({ n: '*' }).first();
    for (const bad of ['%00', '%0D%0A', '%E2%80%A8']) {
      const res = await get(`/members?email=ada@example.org${bad}`).expect(422);
      expect(expectProblem(res, '/members', 'get').errors).toEqual([{ field: 'email', message: ONE_LINE_MESSAGE }]);
    }
    for (const email of ['dee@example.org\u0000', 'dee@example.org\r\n', 'dee@example.org\u2028']) {
      const res = await post('/suppressions', { email, reason: 'manual' }, key.suppress).expect(422);
      expect(expectProblem(res, '/suppressions', 'post').errors).toEqual([{ field: 'email', message: ONE_LINE_MESSAGE }]);
    }
    expect(await ctx.db('suppression_list').count({ n: '*' }).first()).toEqual(suppressed);
  });
});

/** Issue 7: every path parameter that is not of its expected shape answers 404, as an id no one has. */
describe('path parameters of the wrong shape', () => {
  it('a member id that is not a uuid and a topic id that is not a number are 404 problems, as unknown ones are, never 422', async () => {
    const unknownMember = expectProblem(await get('/members/0b8f7a3e-5c1d-4e2a-9f6b-2d3c4b5a6e7f').expect(404), '/members/{id}', 'get');
    for (const id of ['not-a-uuid', '123', `${m.ada}x`]) {
      expect(expectProblem(await get(`/members/${id}`).expect(404), '/members/{id}', 'get')).toEqual(unknownMember);
      expectProblem(await get(`/members/${id}/ledger`).expect(404), '/members/{id}/ledger', 'get');
      // The address is judged before the body: a bad body does not turn it into a 422.
      for (const body of [{ topic: news }, { topic: 'nope', extra: true }])
        expectProblem(await post(`/members/${id}/opt-out`, body, key.optOut).expect(404), '/members/{id}/opt-out', 'post');
    }
    const unknownTopic = expectProblem(await get('/topics/999999/audience').expect(404), '/topics/{id}/audience', 'get');
    for (const id of ['news', '0', '-1', '1.5', '1e3', '99999999999999999999'])
      expect(expectProblem(await get(`/topics/${id}/audience`).expect(404), '/topics/{id}/audience', 'get')).toEqual(unknownTopic);
    // What a request sends is still checked field by field.
    expectProblem(await get(`/members/${m.ada}/ledger?limit=0`).expect(422), '/members/{id}/ledger', 'get');
    expectProblem(await post(`/members/${m.ada}/opt-out`, { topic: 'nope' }, key.optOut).expect(422), '/members/{id}/opt-out', 'post');
  });

  it('the OpenAPI document lists no 422 for an operation whose only input is its path', async () => {
    const doc = (await request(ctx.http).get('/api/v1/openapi.json').expect(200)).body as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    expect(Object.keys(doc.paths['/members/{id}']!.get!.responses)).not.toContain('422');
    expect(Object.keys(doc.paths['/topics/{id}/audience']!.get!.responses)).not.toContain('422');
  });
});
