import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import pg from 'pg';
import request from 'supertest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createDb } from '../../src/db.js';
import { startMailCatcher } from '../../src/mail/catcher.js';
import { createMailer } from '../../src/mail/mailer.js';
import { Links } from '../../src/shared/links.js';
import { createLogger } from '../../src/shared/logger.js';
import { seedDatabase } from '../../src/shared/migrate.js';
import { errorHandler } from '../../src/shared/http/error-handler.js';
import { useViews } from '../../src/shared/http/views.js';
import { startTestContext, TEST_SECRET, type TestContext } from '../helpers/app.js';
import { sampleNotice } from '../helpers/emails.js';
import { solidPng } from '../helpers/email-samples.js';
import { insertPolicy } from '../helpers/fixtures.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await startTestContext();
  await seedDatabase(ctx.db);
});
afterAll(() => ctx.close());

describe('public pages', () => {
  it('the home page names the organisation and links to join, manage and the privacy statement', async () => {
    const res = await request(ctx.http).get('/').expect(200);
    expect(res.text).toContain('Test Society');
    for (const href of ['/join', '/manage', '/privacy']) expect(res.text).toContain(`href="${href}"`);
  });

  it('C4: the home page promises an unsubscribe link in bulk mail only, and a way to manage choices in every e-mail (proven for every kind in email-kinds.test.ts)', async () => {
    const res = await request(ctx.http).get('/').expect(200);
    expect(res.text).toContain(
      'Every newsletter, announcement, offer and policy notice we send has a link to unsubscribe, which works without signing in. Every other e-mail is about your own account or a question you asked us, and says how to manage your choices.',
    );
    expect(res.text).not.toContain('Every e-mail we send has a link to unsubscribe');
  });

  it('C7: /privacy shows the version in force and the public history of versions', async () => {
    const res = await request(ctx.http).get('/privacy').expect(200);
    expect(res.text).toContain('Version 1.0');
    expect(res.text).toContain('in force since');
    expect(res.text).toContain('href="/privacy/versions/1.0"');
    await request(ctx.http).get('/privacy/versions/1.0').expect(200);
    const missing = await request(ctx.http).get('/privacy/versions/9.9').expect(404);
    expect(missing.text).toContain('There is no published policy version with that number.');
  });

  it('C9: reading pages sets no cookie at all', async () => {
    for (const url of ['/', '/privacy', '/privacy/versions/1.0', '/no-such-page']) {
      const res = await request(ctx.http).get(url);
      expect(res.headers['set-cookie']).toBeUndefined();
    }
  });

  it('C9: pages load no third-party or inline script: the Content-Security-Policy forbids it', async () => {
    const res = await request(ctx.http).get('/');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.text).not.toMatch(/<script/i);
  });

  it('an unknown page gets the calm 404 page with the site around it', async () => {
    const res = await request(ctx.http).get('/no-such-page').expect(404);
    expect(res.text).toContain('Page not found');
    expect(res.text).toContain('href="/privacy"');
  });

  it('/healthz answers ok while the database answers', async () => {
    await request(ctx.http).get('/healthz').expect(200, { status: 'ok', database: 'ok' });
  });
});

describe('C7: an upcoming policy version is announced on every page during its notice period', () => {
  it('C7: shows the banner with the version and its effective date on every page, and none while no version is upcoming', async () => {
    const before = await request(ctx.http).get('/');
    expect(before.text).not.toContain('Our privacy policy is changing');
    await insertPolicy(ctx.db, { version: '2.0', publishedDaysAgo: 1, effectiveInDays: 10 });
    for (const url of ['/', '/privacy', '/no-such-page']) {
      const res = await request(ctx.http).get(url);
      expect(res.text).toContain('Our privacy policy is changing');
      expect(res.text).toContain('Version 2.0 takes effect on');
    }
    const privacy = await request(ctx.http).get('/privacy');
    expect(privacy.text).toContain('(upcoming)');
    expect(privacy.text).toContain('Version 1.0');
  });
});

describe('C10: request logs carry a request id and nothing personal', () => {
  it('C10: logs the path without its query string, a truncated IP and no cookie or header', async () => {
    const res = await request(ctx.http)
      .get('/privacy?email=ada@example.org')
      .set('X-Forwarded-For', '203.0.113.77')
      .set('Cookie', 'assent.sid=abc');
    const line = ctx.logLines.find((l) => (l.req as { id?: string } | undefined)?.id === res.headers['x-request-id']);
    expect(line).toBeDefined();
    const text = JSON.stringify(line);
    expect(text).not.toContain('ada@example.org');
    expect(text).not.toContain('assent.sid');
    expect(line?.req).toEqual({ id: res.headers['x-request-id'], method: 'GET', path: '/privacy', ip: expect.stringMatching(/\.0$|::$/) });
  });
});

describe('C11: forms are CSRF-protected', () => {
  it('C11: a POST without a valid token is refused with a calm page and changes nothing', async () => {
    const res = await request(ctx.http).post('/privacy').type('form').send({ _csrf: 'forged' }).expect(403);
    expect(res.text).toContain('This form has expired');
    expect(res.headers['set-cookie']).toBeUndefined();
  });
});

describe('failures are calm', () => {
  it('when the database is down, pages answer 503 with Retry-After and a calm page, one-click a line of text, /healthz 503', async () => {
    const logger = createLogger('silent');
    const deadDb = createDb('postgres://postgres@127.0.0.1:1/none', logger);
    const pool = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none' });
    const app = buildApp({
      config: ctx.config,
      db: deadDb,
      logger,
      sessionPool: pool,
      workerHealth: () => ({ status: 'restarting', lastHeartbeatAt: null }),
    });
    const res = await request(app).get('/').set('Accept', 'text/html,application/xhtml+xml').expect(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.text).toContain('Back in a moment');
    expect(res.text).toContain('Nothing was changed; please try again in a few seconds.');
    expect(res.text).toContain(String(res.headers['x-request-id']));
    expect(res.text).not.toMatch(/ECONNREFUSED|at .*\.ts:\d+|check your input|could not understand/i);
    // C4: a mail provider's one-click POST gets a short answer it can retry on, not a page.
    // A genuine link: a forged one is refused as such without asking the database.
    const link = new Links(ctx.config.baseUrl, ctx.config.secretKeys).unsubscribe('00000000-0000-4000-8000-000000000001', 'all');
    const oneClick = await request(app).post(new URL(link.url).pathname).type('form').send('List-Unsubscribe=One-Click').expect(503);
    expect(oneClick.headers['retry-after']).toBe('5');
    expect(oneClick.headers['content-type']).toMatch(/^text\/plain/);
    expect(oneClick.text).toBe('We cannot reach our database for a moment. Nothing was changed; please try again in a few seconds.\n');
    const health = await request(app).get('/healthz').expect(503);
    expect(health.headers['retry-after']).toBe('5');
    expect(health.body).toEqual({
      status: 'unavailable',
      database: 'unreachable',
      worker: { status: 'restarting', lastHeartbeatAt: null, heartbeatAgeSeconds: null },
    });
    await deadDb.destroy();
    await pool.end();
  });

  it('an error nobody expected still gets the calm 500 page, without its details', async () => {
    const app = express();
    useViews(app, { cache: false });
    app.get('/explode', () => {
      throw new Error('a bug with details');
    });
    app.use(errorHandler);
    const res = await request(app).get('/explode').set('Accept', 'text/html').expect(500);
    expect(res.headers['retry-after']).toBeUndefined();
    expect(res.text).toContain('Something went wrong');
    expect(res.text).not.toContain('a bug with details');
  });
});

describe('C11: production refuses plain HTTP', () => {
  it('C11: redirects plain HTTP to the https origin and sends HSTS', async () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      BASE_URL: 'https://members.example.org',
      DATABASE_URL: ctx.database.url,
      SMTP_URL: ctx.smtp.url,
      SECRET_KEYS: TEST_SECRET,
      ORG_ADDRESS: '1 Test Street, Testtown',
    });
    const pool = new pg.Pool({ connectionString: ctx.database.url, max: 1 });
    const app = buildApp({ config, db: ctx.db, logger: createLogger('silent'), sessionPool: pool });
    const plain = await request(app).get('/privacy?x=1').expect(308);
    expect(plain.headers.location).toBe('https://members.example.org/privacy?x=1');
    await request(app).post('/privacy').expect(403);
    const tls = await request(app).get('/').set('X-Forwarded-Proto', 'https');
    expect(tls.status).toBe(308);
    const trusted = buildApp({ config: { ...config, trustProxy: 1 }, db: ctx.db, logger: createLogger('silent'), sessionPool: pool });
    const ok = await request(trusted).get('/').set('X-Forwarded-Proto', 'https').expect(200);
    expect(ok.headers['strict-transport-security']).toContain('max-age=31536000');
    await request(trusted).get('/dev/mail').set('X-Forwarded-Proto', 'https').expect(404);
    await pool.end();
  });
});

describe('the development mail catcher', () => {
  it('lists caught mail and shows subject, recipient, headers, both bodies and clickable links', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'assent-mail-'));
    const catcher = await startMailCatcher(dir, createLogger('silent'));
    const mailer = createMailer(catcher.smtpUrl, { devCatcher: true });
    const notice = sampleNotice('ada@example.org', '00000000-0000-4000-8000-000000000000');
    const logo = solidPng(20, 10, [91, 42, 134]);
    await mailer.sendMail({
      from: { name: 'Demo Society membership', address: 'no-reply@assent.test' },
      to: notice.to,
      subject: notice.subject,
      text: notice.text,
      html: notice.html.replace(/(<body[^>]*>)/, '$1<img src="cid:brand-logo" alt="">'),
      headers: notice.headers,
      attachments: [{ filename: 'logo.png', content: logo, contentType: 'image/png', cid: 'brand-logo', contentDisposition: 'inline' }],
    });
    mailer.close();
    await catcher.stop();

    const app = buildApp({
      config: ctx.config,
      db: ctx.db,
      logger: createLogger('silent'),
      sessionPool: new pg.Pool({ connectionString: ctx.database.url, max: 1 }),
      devMailDir: dir,
    });
    const list = await request(app).get('/dev/mail').expect(200);
    expect(list.text).toContain('ada@example.org');
    const id = /href="\/dev\/mail\/([0-9a-f-]+)"/.exec(list.text)?.[1];
    expect(id).toBeDefined();
    const show = await request(app).get(`/dev/mail/${id}`).expect(200);
    expect(show.text).toContain('our privacy policy changes');
    expect(show.text).toContain('List-Unsubscribe');
    expect(show.text).toMatch(/<a href="http:\/\/assent\.test\/unsubscribe\/[^"]+">/);
    expect(show.text).toContain(`src="/dev/mail/${id}/html"`);
    const html = await request(app).get(`/dev/mail/${id}/html`).expect(200);
    expect(html.text).toContain('Review my choices');
    // The branding shows as a mail program shows it: the sender's name, and the inline logo.
    expect(show.text).toContain('Demo Society membership &lt;no-reply@assent.test&gt;');
    expect(html.text).toContain(`src="data:image/png;base64,${logo.toString('base64')}"`);
    expect(html.text).not.toContain('cid:');
    expect(html.headers['content-security-policy']).toContain("default-src 'none'");
    await request(app).get('/dev/mail/not-an-id').expect(404);
  });
});
