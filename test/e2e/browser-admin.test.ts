import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generate } from 'otplib';
import { ADMIN_ROUTES, areasFor, can } from '../../src/admin/guards.js';
import type { TestContext } from '../helpers/app.js';
import { axeViolations, launchBrowser, serve, walkInBrowser } from '../helpers/browser.js';
import { startSeededContext } from '../helpers/seeded.js';
import { createStaff, signInStaffInBrowser, STAFF_PASSWORD } from '../helpers/staff.js';

/**
 * Each role signs in through the real staff pages in a real browser (password, then TOTP code),
 * opens every area its home page lists, and is refused the areas it may not open (C11). Every
 * staff screen passes axe-core's WCAG 2.1 AA rules and works without JavaScript (none is served).
 */
let ctx: TestContext;
let memberId: string;
beforeAll(async () => {
  const seeded = await startSeededContext({ worker: false });
  ctx = seeded.ctx;
  memberId = seeded.member['ada@example.org']!;
});
afterAll(() => ctx.close());

/**
 * Screens axe-core has checked in an earlier role's walk: a screen differs between roles only in
 * the buttons and links a role may use, so each screen is checked once, in the first walk that
 * opens it (the walks run in the order listed); every role's home page is checked in its own walk.
 */
const checkedScreens = new Set<string>();

describe('the staff screens in a real browser', () => {
  it.each(['admin', 'support', 'auditor', 'editor'] as const)(
    'C11: %s signs in, walks every screen the role may open, is refused the others, and each passes axe-core WCAG 2.1 AA',
    async (role) => {
      const email = `browser-${role}@example.org`;
      await createStaff(ctx, email, role);
      const site = await serve(ctx.app);
      const browser = await launchBrowser({ cookies: true });
      const violations: Record<string, string[]> = {};
      const statuses: Record<string, number> = {};
      try {
        const page = await browser.context.newPage();
        await signInStaffInBrowser(ctx, page, site.url, email);
        violations['/admin'] = await axeViolations(page);
        const listed = await page.locator('ul.admin-areas a').evaluateAll((links) => links.map((a) => a.getAttribute('href')));
        expect(listed).toEqual(areasFor(role).map((a) => a.href));

        // Every screen the role may open: the listed areas and, for roles that work with members, a member's record.
        const record = can(role, 'GET /admin/members/:id') ? [`/admin/members/${memberId}`] : [];
        const screens = [...listed.map(String), ...record].filter((p) => !p.includes('/totp/'));
        const overflowing: string[] = [];
        for (const path of screens) {
          const res = await page.goto(`${site.url}${path}`);
          statuses[path] = res?.status() ?? 0;
          const screen = path.replace(memberId, ':id');
          if (!checkedScreens.has(screen)) violations[path] = await axeViolations(page);
          checkedScreens.add(screen);
          // Issue 13.7: every screen fits 1280 px; tables wrap instead of widening the page.
          if (await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth)) overflowing.push(path);
          // The navigation bar marks where you are.
          expect([path, await page.locator('.staff-nav a[aria-current="page"], .staff-who a[aria-current="page"]').count()]).toEqual([
            path,
            path.includes('/totp/') ? 0 : 1,
          ]);
        }
        expect(page.viewportSize()?.width).toBe(1280);
        expect(overflowing).toEqual([]);
        // Every list screen the role may NOT open answers 403 with a calm page, asked with this
        // browser's own session (its cookies) but not drawn: the refusal is the server's, and
        // drawing a page costs Chromium ~80 ms of CPU, 48 times over in the four walks.
        const refused = ADMIN_ROUTES.filter((r) => r.method === 'GET' && !r.path.includes(':') && !r.roles.includes(role));
        const calm: Record<string, boolean> = {};
        for (const route of refused) {
          const res = await page.request.get(`${site.url}${route.path}`, { maxRedirects: 0 });
          statuses[route.path] = res.status();
          calm[route.path] = (await res.text()).includes('Your role does not give access to this page.');
        }
        expect(Object.entries(calm).filter(([, said]) => !said)).toEqual([]);
        expect(browser.errors).toEqual([]);
      } finally {
        await browser.close();
        await site.close();
      }
      const expected = Object.fromEntries(
        Object.keys(statuses).map((p) => [
          p,
          ADMIN_ROUTES.some((r) => r.method === 'GET' && r.path === p && !r.roles.includes(role)) ? 403 : 200,
        ]),
      );
      expect(statuses).toEqual(expected);
      expect(Object.entries(violations).filter(([, v]) => v.length > 0)).toEqual([]);
    },
    90000,
  );

  it('C11: a new support user enrols two-factor in the browser, saves the recovery codes, signs in with one later; each page passes axe-core', async () => {
    await createStaff(ctx, 'browser-new@example.org', 'support', 'New Support', { twoFactor: false });
    await walkInBrowser(ctx.app, async ({ page, url, check }) => {
      await page.goto(`${url}/admin/login`);
      await check('login');
      await page.getByLabel('E-mail address').fill('browser-new@example.org');
      await page.getByLabel('Password').fill(STAFF_PASSWORD);
      await Promise.all([page.waitForURL(`${url}/admin/totp/setup`), page.getByRole('button', { name: 'Sign in' }).click()]);
      await check('setup');
      const secret = await page.locator('#totp-secret').innerText();
      await page.getByLabel('Code').fill(await generate({ secret }));
      await page.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
      await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
      await check('codes');
      const codes = await page.locator('ol.recovery-codes code').allInnerTexts();
      expect(codes).toHaveLength(10);
      await Promise.all([page.waitForURL(`${url}/admin`), page.getByRole('link', { name: 'I have saved them: continue' }).click()]);
      await page.getByRole('button', { name: 'Sign out' }).click();

      await page.goto(`${url}/admin/login`);
      await page.getByLabel('E-mail address').fill('browser-new@example.org');
      await page.getByLabel('Password').fill(STAFF_PASSWORD);
      await Promise.all([page.waitForURL(`${url}/admin/login/totp`), page.getByRole('button', { name: 'Sign in' }).click()]);
      await check('totp');
      await page.getByLabel('Recovery code').fill(codes[3]!);
      await Promise.all([
        page.waitForURL(`${url}/admin?recovered=1`),
        page.getByRole('button', { name: 'Sign in with a recovery code' }).click(),
      ]);
      expect(await page.getByRole('status').innerText()).toContain('You signed in with a recovery code');
    });
  }, 90000);

  it('irreversible steps ask first in the browser: retiring a topic (then bringing it back), publishing a policy after sending the notice to me first; each page passes axe-core', async () => {
    const email = 'browser-steps@example.org';
    await createStaff(ctx, email, 'admin');
    const [draft] = await ctx
      .db('policy_versions')
      .insert({ version: '9.0-browser', title: 'Browser draft', summary: 'Small changes.', body: 'Text.' })
      .returning('id');
    const draftId = (draft as { id: number }).id;
    await walkInBrowser(ctx.app, async ({ page, url, check }) => {
      await signInStaffInBrowser(ctx, page, url, email);

      await page.goto(`${url}/admin/topics`);
      await page.getByRole('button', { name: 'Retire… Research digest' }).click();
      expect(await page.locator('h1').innerText()).toBe('Retire “Research digest”?');
      await check('retire confirm');
      await page.getByRole('link', { name: 'Go back without doing it' }).click();
      expect(page.url()).toBe(`${url}/admin/topics`);
      expect((await ctx.db('topics').where({ slug: 'research-digest' }).first()).retired_at).toBeNull();
      await page.getByRole('button', { name: 'Retire… Research digest' }).click();
      await page.getByRole('button', { name: /^Retire it for \d+ members?$/ }).click();
      expect(await page.getByRole('status').innerText()).toContain('The topic is retired');
      expect((await ctx.db('topics').where({ slug: 'research-digest' }).first()).retired_at).not.toBeNull();
      await page.getByRole('button', { name: 'Bring back Research digest' }).click();
      expect(await page.getByRole('status').innerText()).toContain('The topic is back');
      expect((await ctx.db('topics').where({ slug: 'research-digest' }).first()).retired_at).toBeNull();

      await page.goto(`${url}/admin/policies/${draftId}`);
      await page.getByRole('button', { name: 'Send the notice to me first' }).click();
      expect(await page.getByRole('status').innerText()).toContain(`A test copy of the notice is on its way to ${email}`);
      await page.getByRole('button', { name: 'Publish and notify members…' }).click();
      expect(await page.locator('h1').innerText()).toBe('Publish policy version 9.0-browser?');
      await check('publish confirm');
      expect((await ctx.db('policy_versions').where({ id: draftId }).first()).published_at).toBeNull();
      await page.getByRole('button', { name: /^Publish and e-mail \d+ members?$/ }).click();
      expect(await page.getByRole('status').innerText()).toContain('Version 9.0-browser is published');
      expect((await ctx.db('policy_versions').where({ id: draftId }).first()).published_at).not.toBeNull();
    });
  }, 90000);
});
