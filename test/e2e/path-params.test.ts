import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import request from 'supertest';
import { buildApp } from '../../src/app.js';
import { makeServiceContext } from '../../src/context.js';
import { createApiKey } from '../../src/integrations/api-keys.service.js';
import { createLogger } from '../../src/shared/logger.js';
import type { TestContext } from '../helpers/app.js';
import { appRoutes, type AppRoute } from '../helpers/routes.js';
import { startSeededContext } from '../helpers/seeded.js';
import { csrfFrom, linkPost } from '../helpers/session.js';
import { signedInStaff, type Agent } from '../helpers/staff.js';

/**
 * Addresses with a parameter, walked from the app's own router: an id of the wrong shape is a page
 * that does not exist (404), a link token of any shape the "link not valid" page (400), and a
 * percent-escape that does not decode a calm 400. Never a 500, whatever bytes the address carries.
 */
let ctx: TestContext;
let admin: Agent;
let csrf: string;
/** An API key with every scope: the REST API checks the key before it reads an address's parameters. */
let apiKey: string;
beforeAll(async () => {
  ({ ctx } = await startSeededContext({ worker: false }));
  const { id: adminId, agent } = await signedInStaff(ctx, 'paths-admin@example.org', 'admin');
  admin = agent;
  csrf = await csrfFrom(admin, '/admin/staff');
  apiKey = (await createApiKey(makeServiceContext(ctx.config, ctx.db), adminId, { name: 'Paths', scopes: ['read', 'opt-out', 'suppress'] }))
    .key;
});
afterAll(() => ctx.close());

const HOSTILE = [
  '%00',
  'a%00b',
  '%0d%0aSet-Cookie:%20x=1',
  '%E2%80%A8',
  '%C2%85',
  'x'.repeat(3000),
  'not-an-id',
  ':id',
  '0',
  '-1',
  '1.5',
  '1e3',
  '99999999999999999999',
  '%20',
  "1'%20or%20'1'='1",
  '6d1f7c1e-0000-4000-8000-00000000000%00',
];
const MALFORMED = ['%E0%A4%A', '%', '%zz'];

const isApi = (route: AppRoute) => route.path.startsWith('/api/');
/** The REST API answers in RFC 9457 problem details, the site with its page; a malformed id is a 404 on both. */
const notFound = (route: AppRoute, res: request.Response) =>
  isApi(route)
    ? res.status === 404 && res.type === 'application/problem+json'
    : res.status === 404 && res.text.includes('<h1>Page not found</h1>');
const badAddress = (route: AppRoute, res: request.Response) =>
  res.status === 400 && (isApi(route) ? res.type === 'application/problem+json' : res.text.includes('This web address is not valid'));
const withParam = (route: AppRoute, value: string) => route.path.replace(/:[a-z]+/g, value);
/** As the admin; a link button's POST carries its page field, so the link itself is what is judged. */
const send = (route: AppRoute, url: string) => {
  if (isApi(route)) {
    const call = route.method === 'GET' ? request(ctx.http).get(url) : request(ctx.http).post(url).send({ topic: 'all' });
    return call.set('Authorization', `Bearer ${apiKey}`);
  }
  if (route.method === 'GET') return admin.get(url);
  return route.path.includes(':token') ? linkPost(admin, url) : admin.post(url).type('form').send({ _csrf: csrf });
};

describe('C11: every address parameter answers calmly, never with a 500', () => {
  const routes = () => appRoutes(ctx.app).filter((r) => r.path.includes('/:'));

  it('the router has the parameters this test is about (ids, version labels, topic slugs, preview link names and link tokens)', () => {
    const names = new Set(routes().flatMap((r) => r.path.match(/:[a-z]+/g) ?? []));
    expect([...names].sort()).toEqual([':id', ':slug', ':token', ':version', ':what']);
  });

  it('an id or version label of the wrong shape is the calm Not Found page', async () => {
    const failures: string[] = [];
    for (const route of routes().filter((r) => !r.path.includes(':token'))) {
      for (const value of HOSTILE) {
        const url = withParam(route, value);
        const res = await send(route, url);
        if (!notFound(route, res)) failures.push(`${route.method} ${url.slice(0, 80)} → ${res.status}`);
      }
    }
    expect(failures).toEqual([]);
    // Hundreds of requests: near 30 s on a busy machine.
  }, 120000);

  it('a link token of any shape is the friendly "this link is not valid" page', async () => {
    const failures: string[] = [];
    for (const route of routes().filter((r) => r.path.includes(':token'))) {
      for (const value of HOSTILE) {
        const url = withParam(route, value);
        const res = route.method === 'POST' ? await linkPost(request(ctx.http), url) : await request(ctx.http).get(url);
        if (res.status !== 400 || !/link[^<]*(expired|not valid)/.test(res.text))
          failures.push(`${route.method} ${url.slice(0, 80)} → ${res.status}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('a percent-escape that does not decode is a calm 400, in the staff area too', async () => {
    const failures: string[] = [];
    for (const route of routes()) {
      for (const value of MALFORMED) {
        const url = withParam(route, value);
        const res = await send(route, url);
        if (!badAddress(route, res)) failures.push(`${route.method} ${url} → ${res.status}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('the development mail pages answer 404 for an id that is not a caught message', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'assent-mail-'));
    const sessionPool = new pg.Pool({ connectionString: ctx.database.url, max: 1 });
    try {
      const app = buildApp({ config: ctx.config, db: ctx.db, logger: createLogger('silent'), sessionPool, devMailDir: dir });
      const mailRoutes = appRoutes(app).filter((r) => r.path.startsWith('/dev/mail/:'));
      expect(mailRoutes.length).toBeGreaterThan(0);
      for (const route of mailRoutes)
        for (const value of [...HOSTILE, '1700000000000-0123abcd', '..%2F..%2Fetc%2Fpasswd'])
          await request(app).get(withParam(route, value)).expect(404);
    } finally {
      await sessionPool.end();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
