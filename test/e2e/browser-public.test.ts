import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestContext } from '../helpers/app.js';
import { axeViolations, type Browsing, openSite, type BrowsedSite } from '../helpers/browser.js';
import { startSeededContext } from '../helpers/seeded.js';
import { insertPolicy } from '../helpers/fixtures.js';

let ctx: TestContext;
let site: BrowsedSite;
let browser: Browsing;

beforeAll(async () => {
  ({ ctx } = await startSeededContext({ worker: false }));
  await insertPolicy(ctx.db, { version: '2.0', publishedDaysAgo: 1, effectiveInDays: 12, title: 'Privacy statement (new partner)' });
  site = await openSite(ctx, { cookies: false });
  browser = site.browser;
}, 60000);
afterAll(async () => {
  await site?.close();
  await ctx?.close();
});

describe('a visitor with cookies blocked reads the public pages in a real browser', () => {
  it('C9: the browser really refuses cookies in this profile', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${site.url}/`);
    // navigator.cookieEnabled does not reflect the content setting; writing a cookie does.
    expect(await page.evaluate(() => ((document.cookie = 'probe=1'), document.cookie))).toBe('');
    await page.close();
  });

  it('C9: loads the home page, follows the link to the privacy statement, with no console error and nothing stored', async () => {
    const page = await browser.context.newPage();
    const res = await page.goto(`${site.url}/`);
    expect(res?.status()).toBe(200);
    expect(await page.locator('h1').innerText()).toContain('Test Society');
    await page.getByRole('link', { name: 'Read our privacy statement' }).click();
    await page.waitForURL(`${site.url}/privacy`);
    expect(await page.locator('h1').innerText()).toBe('Privacy statement');
    expect(await page.getByRole('table').innerText()).toContain('1.0');
    expect(await browser.context.cookies()).toEqual([]);
    expect(browser.errors).toEqual([]);
    await page.close();
  });

  it('C7: the banner for the upcoming version shows on each page and leads to that version', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${site.url}/`);
    const banner = page.getByRole('complementary', { name: 'Upcoming privacy policy change' });
    expect(await banner.innerText()).toContain('Version 2.0 takes effect on');
    await banner.getByRole('link', { name: 'Read what changes' }).click();
    await page.waitForURL(`${site.url}/privacy/versions/2.0`);
    expect(await page.locator('h1').innerText()).toBe('Privacy statement (new partner)');
    expect(browser.errors).toEqual([]);
    await page.close();
  });

  it('the home, privacy, version and not-found pages pass axe-core WCAG 2.1 AA checks, on a phone-sized screen too', async () => {
    const page = await browser.context.newPage();
    for (const size of [
      { width: 1280, height: 900 },
      { width: 375, height: 740 },
    ]) {
      await page.setViewportSize(size);
      for (const url of ['/', '/privacy', '/privacy/versions/1.0', '/no-such-page']) {
        await page.goto(`${site.url}${url}`);
        expect({ url, size, violations: await axeViolations(page) }).toEqual({ url, size, violations: [] });
      }
    }
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(scrollWidth).toBeLessThanOrEqual(375);
    // The not-found page reports its own 404 status in the console; nothing else may appear.
    expect(browser.errors.filter((e) => !/\/no-such-page: Failed to load resource: .* 404/.test(e))).toEqual([]);
    await page.close();
  });
});
