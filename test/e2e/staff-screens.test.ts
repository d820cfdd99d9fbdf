import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { areasFor } from '../../src/admin/guards.js';
import { DESCRIBED_ACTIONS } from '../../src/audit/audit.sentences.js';
import type { TestContext } from '../helpers/app.js';
import { ensurePartner, insertTopic } from '../helpers/fixtures.js';
import { startSeededContext } from '../helpers/seeded.js';
import { csrfFrom } from '../helpers/session.js';
import { createStaff, signedInStaff, STAFF_PASSWORD, type Agent } from '../helpers/staff.js';

/**
 * Issue 13.7: the staff screens read as words. A navigation bar of the role's areas with the
 * current one marked, the signed-in user in the header on every screen, human labels instead of
 * codes, the audit log as sentences, and banners that say what went wrong when no field is at fault.
 */
let ctx: TestContext;
let ada: string;
let admin: { id: string; agent: Agent };
beforeAll(async () => {
  let member: Record<string, string>;
  ({ ctx, member } = await startSeededContext({ worker: false }));
  ada = member['ada@example.org']!;
  admin = await signedInStaff(ctx, 'screens-admin@example.org', 'admin');
}, 60000);
afterAll(() => ctx?.close());

const navLinks = (html: string) =>
  [
    ...(html.match(/<nav class="staff-nav"[\s\S]*?<\/nav>/)?.[0] ?? '').matchAll(/<a href="([^"]+)"( aria-current="page")?>([^<]+)<\/a>/g),
  ].map((m) => ({ href: m[1], current: Boolean(m[2]), text: m[3] }));

describe('the staff screens read as words', () => {
  it.each(['admin', 'support', 'editor', 'auditor'] as const)(
    'C11: %s sees a navigation bar of exactly their areas, the current one marked, and who is signed in on every screen',
    async (role) => {
      const { agent } = await signedInStaff(ctx, `nav-${role}@example.org`, role);
      const areas = areasFor(role).filter((a) => !a.own);
      for (const area of areas) {
        const page = await agent.get(area.href).expect(200);
        const links = navLinks(page.text);
        expect(links.map((l) => l.href)).toEqual(areas.map((a) => a.href));
        expect(links.filter((l) => l.current).map((l) => l.href)).toEqual([area.href]);
        expect(page.text).toContain(
          `Signed in as <strong>Staff ${role}</strong> (${{ admin: 'Administrator', support: 'Support', editor: 'Editor', auditor: 'Auditor' }[role]})`,
        );
      }
      if (role !== 'editor') {
        // A page inside an area marks the area.
        const record = await agent.get(`/admin/members/${ada}`).expect(200);
        expect(
          navLinks(record.text)
            .filter((l) => l.current)
            .map((l) => l.href),
        ).toEqual(['/admin/members']);
      }
    },
    60000,
  );

  it('the staff accounts page shows the signed-in user in the header, not "()"', async () => {
    const page = await admin.agent.get('/admin/staff').expect(200);
    expect(page.text).toContain('Signed in as <strong>Staff admin</strong> (Administrator)');
    expect(page.text).not.toMatch(/<span>\s*\(\)\s*<\/span>|> \(\)</);
    expect(page.text).toMatch(/<td>Administrator<\/td>/);
  });

  it('a member’s record and the outbox show kinds, sources, channels and statuses in words, and times with their zone', async () => {
    await request(ctx.http).post('/manage').type('form').send({ email: 'ada@example.org' }).expect(200);
    const record = await admin.agent.get(`/admin/members/${ada}`).expect(200);
    for (const code of ['third_party_offer', 'signin_link', '>signup<', '>import<', '>system<', '>active<', 'opted in<'])
      expect([code, record.text.includes(code)]).toEqual([code, false]);
    for (const words of ['Third-party offer', 'Sign-in link', 'Sign-up form', 'Import', 'Active', 'Opted in', 'Waiting to be sent'])
      expect([words, record.text.includes(words)]).toEqual([words, true]);
    expect(record.text).toMatch(/\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC/);
    expect(record.text).not.toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d/);
    const outbox = await admin.agent.get('/admin/outbox').expect(200);
    expect(outbox.text).toContain('Sign-in link');
    expect(outbox.text).not.toContain('signin_link');
    expect(outbox.text).toMatch(/<option value="queued">Waiting to be sent<\/option>/);
  });

  it('C11: the audit log tells each entry as a sentence, not JSON, and its filter names the actions in words', async () => {
    const topic = await insertTopic(ctx.db, {
      slug: 'audit-words',
      kind: 'newsletter',
      policyId: (await ctx.db('policy_versions').first('id')).id,
    });
    const _csrf = await csrfFrom(admin.agent, '/admin/topics');
    await admin.agent.post(`/admin/topics/${topic}/retire`).type('form').send({ _csrf, confirmed: 'yes' }).expect(303);
    const log = await admin.agent.get('/admin/audit').expect(200);
    expect(log.text).toContain('<strong>Topic retired.</strong> Retired the topic “audit-words”.');
    expect(log.text).toContain('Topic id: <code>');
    expect(log.text).not.toMatch(/\{&#34;|\{"/);
    expect(log.text).toMatch(/<option value="topic.retired">Topic retired<\/option>/);
  });

  it('C11: every action any feature writes to the audit log has its sentence', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(dir, e.name));
        else if (e.name.endsWith('.ts')) files.push(path.join(dir, e.name));
      }
    };
    walk('src');
    const written = new Set<string>();
    for (const file of files) {
      // Webhook event names (member.erased …) look like audit actions: they are not written to the audit log.
      const text = readFileSync(file, 'utf8').replace(/recordWebhookEvent\([^,]*,\s*'[^']*'/g, '');
      if (!text.includes('appendAudit(') || file.endsWith('audit.repository.ts')) continue;
      for (const m of text.matchAll(
        /'((?:staff|member|removal|follow_up|topic|policy|partner|disclosure|audience|email|inquiry|bulletin|branding)\.[a-z_]+)'/g,
      ))
        written.add(m[1]!);
      for (const m of text.matchAll(/`(member)\.\$\{/g)) ['viewed', 'exported'].forEach((how) => written.add(`${m[1]}.${how}`));
    }
    expect(written.size).toBeGreaterThan(40);
    expect([...written].filter((a) => !DESCRIBED_ACTIONS.includes(a))).toEqual([]);
  });

  it('a banner says what went wrong when no field is at fault: a wrong password, nobody to export', async () => {
    await createStaff(ctx, 'banner@example.org', 'support');
    const login = await request
      .agent(ctx.http)
      .get('/admin/login')
      .then(async (res) => {
        const agent = request.agent(ctx.http);
        await agent.get('/admin/login');
        const csrf = /name="_csrf" value="([^"]+)"/.exec((await agent.get('/admin/login')).text)?.[1];
        void res;
        return agent
          .post('/admin/login')
          .type('form')
          .send({ _csrf: csrf, email: 'banner@example.org', password: `${STAFF_PASSWORD}!` });
      });
    expect(login.status).toBe(422);
    expect(login.text).toContain('<h2 id="error-summary-title">That e-mail address and password do not match.');
    expect(login.text).not.toContain('Please correct the highlighted fields');
    expect(login.text).toContain('value="banner@example.org"');

    const partner = await ensurePartner(ctx.db, 'Nobody Yet Ltd', { reference: 'DPA-9', termsDate: '2026-01-01' });
    const _csrf = await csrfFrom(admin.agent, `/admin/partners/${partner}`);
    const exported = await admin.agent.post(`/admin/partners/${partner}/disclosures`).type('form').send({ _csrf, purpose: 'Survey' });
    expect(exported.status).toBe(422);
    expect(exported.text).toMatch(/<h2 id="error-summary-title">Nobody is opted in to sharing their data with this partner/);
    expect(exported.text).not.toContain('Please correct the highlighted fields');
    expect(exported.text).toMatch(/name="purpose"[^>]*>Survey<\/textarea>/);
  });
});
