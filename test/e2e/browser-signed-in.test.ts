import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestContext } from '../helpers/app.js';
import { axeViolations, type Browsing, openSite, type BrowsedSite } from '../helpers/browser.js';
import { startSeededContext } from '../helpers/seeded.js';

/** A member who accepts cookies signs in by link and uses the members' area, on a desktop and a phone. */
let ctx: TestContext;
let site: BrowsedSite;
let browser: Browsing;

beforeAll(async () => {
  ({ ctx } = await startSeededContext());
  site = await openSite(ctx, { cookies: true });
  browser = site.browser;
}, 60000);
afterAll(async () => {
  await site?.close();
  await ctx?.close();
});

describe('the signed-in members area in a real browser', () => {
  it('C9 C14: sign in by e-mail link, change preferences, set a password, sign out; every page passes axe-core at 1280 and 375 px', async () => {
    const page = await browser.context.newPage();
    const violations: Record<string, string[]> = {};
    const check = async (label: string) => {
      for (const width of [1280, 375]) {
        await page.setViewportSize({ width, height: 800 });
        violations[`${label} @${width}`] = await axeViolations(page);
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
      }
      await page.setViewportSize({ width: 1280, height: 800 });
    };

    await page.goto(`${site.url}/manage`);
    await check('manage');
    await page.getByLabel('Your e-mail address').fill('grace@example.org');
    await page.getByRole('button', { name: 'Send me a sign-in link' }).click();
    expect(await page.locator('h1').innerText()).toBe('Check your e-mail');
    await check('link sent');
    const mail = await ctx.smtp.waitFor(
      (m) => m.envelopeTo.includes('grace@example.org') && (m.parsed.subject ?? '').includes('sign-in link'),
    );
    const link = /https?:\/\/\S+\/signin\/\S+/.exec(mail.parsed.text ?? '')?.[0];
    await page.goto(`${site.url}${new URL(link!).pathname}`);
    await check('sign in');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${site.url}/account`);
    expect(await page.locator('main').innerText()).toContain('Grace Hopper');
    await check('account');
    const cookies = await browser.context.cookies();
    // The session id, and the sign-in page's CSRF nonce (C9: opaque, CSRF material only).
    expect(cookies.map((c) => c.name).sort()).toEqual(['assent.csrf', 'assent.sid']);
    for (const c of cookies) {
      expect(c.httpOnly).toBe(true);
      expect(c.value).not.toMatch(/grace|hopper|@/i);
    }

    await page.getByRole('link', { name: 'What we send you' }).click();
    await check('preferences');
    await page.getByLabel('Monthly bulletin').check();
    await page.getByRole('button', { name: 'Save my choices' }).click();
    expect(await page.getByRole('status').innerText()).toContain('Your choices are saved (1 change)');
    await check('preferences saved');
    await ctx.smtp.waitFor(
      (m) => m.envelopeTo.includes('grace@example.org') && (m.parsed.subject ?? '').includes('preferences have changed'),
    );

    await page.goto(`${site.url}/account/password`);
    await page.getByLabel('New password').fill('short');
    await page.getByLabel('The same password again').fill('other');
    await page.getByRole('button', { name: 'Set password' }).click();
    expect(await page.getByRole('alert').innerText()).toContain('Use at least 10 characters.');
    await check('password with errors');

    await page.goto(`${site.url}/account`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${site.url}/signed-out`);
    await page.goto(`${site.url}/preferences`);
    await page.waitForURL(`${site.url}/manage`);

    expect(Object.fromEntries(Object.entries(violations).filter(([, v]) => v.length))).toEqual({});
    expect(browser.errors.filter((e) => !/Failed to load resource: .* 422/.test(e))).toEqual([]);
    await page.close();
  }, 60000);
});
