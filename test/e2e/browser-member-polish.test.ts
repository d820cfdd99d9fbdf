import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestContext } from '../helpers/app.js';
import { checkAtWidths, type Browsing, openSite, type BrowsedSite } from '../helpers/browser.js';
import { startSeededContext } from '../helpers/seeded.js';
import { linkIn } from '../helpers/session.js';
import { formatRemovalDate } from '../../src/removal/removal.emails.js';

/**
 * Issue 13.10 in a real browser (cookies on), from joining to signing out: every "check your
 * e-mail" page names the address, a used confirmation link says the membership is confirmed and
 * mails the preference link, the header says who is signed in, the account page shows a pending
 * removal with its date, destructive buttons look dangerous, and the partner topics fit a phone.
 * Every page passes axe-core (WCAG 2.1 AA) at 1280 and 375 px without horizontal scrolling.
 */
let ctx: TestContext;
let site: BrowsedSite;
let browser: Browsing;
const EMAIL = 'sophie@example.org';
const LONG_PARTNER = 'Example Mutual Assurance and Friendly Society of Northern Europe (Incorporated)';

beforeAll(async () => {
  ({ ctx } = await startSeededContext());
  await ctx.db('partners').where({ name: 'Example Mutual' }).update({ name: LONG_PARTNER });
  site = await openSite(ctx, { cookies: true });
  browser = site.browser;
}, 60000);
afterAll(async () => {
  await site?.close();
  await ctx?.close();
});

const mailTo = (to: string, subject: string) =>
  ctx.smtp.waitFor((m) => m.envelopeTo.includes(to) && (m.parsed.subject ?? '').includes(subject));

describe('the member pages of issue 13.10 in a real browser', () => {
  it('C9 C14 C6: addresses on every check-your-e-mail page, a used join link, the header, the pending removal, danger buttons, signed out; axe-clean at 1280 and 375 px', async () => {
    const page = await browser.context.newPage();
    const violations: Record<string, string[]> = {};
    const check = async (label: string) =>
      expect({ label, overflowing: await checkAtWidths(page, label, violations) }).toEqual({ label, overflowing: [] });
    const lead = () => page.locator('main').innerText();
    const isDanger = async (name: string | RegExp) => {
      const button = page.getByRole('button', { name });
      expect(await button.getAttribute('class')).toContain('button-danger');
      // The same red as the staff screens' danger buttons (--error), white text.
      expect(await button.evaluate((b) => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color])).toEqual([
        'rgb(164, 38, 44)',
        'rgb(255, 255, 255)',
      ]);
    };

    // Join: the check-your-e-mail page names the address.
    await page.goto(`${site.url}/join`);
    await page.getByLabel('Your name').fill('Sophie Germain');
    await page.getByLabel('E-mail address').fill(EMAIL);
    await page.getByLabel('I am 16 or older').check();
    await page.getByRole('button', { name: 'Join' }).click();
    expect(await page.locator('h1').innerText()).toBe('Check your e-mail');
    expect(await page.locator('.lead strong').innerText()).toBe(EMAIL);
    await check('join sent');

    const confirmPath = linkIn((await mailTo(EMAIL, 'please confirm your membership')).parsed.text ?? '', '/join/confirm/');
    await page.goto(`${site.url}${confirmPath}`);
    await page.getByRole('button', { name: 'Confirm my membership' }).click();
    expect(await page.getByRole('status').innerText()).toContain('Your membership is confirmed');

    // The same link again: already confirmed, no "sign up again", the preference link offered by e-mail.
    await page.goto(`${site.url}${confirmPath}`);
    expect(await page.locator('h1').innerText()).toBe('Your membership is already confirmed');
    expect(await lead()).not.toMatch(/sign up again/i);
    expect(await page.locator('main a[href^="/p/"]').count()).toBe(0);
    await check('used join link');
    await page.getByRole('button', { name: 'E-mail me the link to my preferences' }).click();
    expect(await page.locator('h1').innerText()).toBe('Check your e-mail');
    expect(await page.locator('.lead strong').innerText()).toBe(EMAIL);
    await check('preferences link sent');
    const prefsPath = linkIn((await mailTo(EMAIL, 'the link to your preferences')).parsed.text ?? '', '/p/');

    // The preference page from the link: the partner topics fit a 375 px screen.
    await page.goto(`${site.url}${prefsPath}`);
    expect(await page.locator('h1').innerText()).toBe('What we send you');
    await check('preferences from link');
    await page.setViewportSize({ width: 375, height: 800 });
    const partnerGroup = page.locator('fieldset', { has: page.locator('legend', { hasText: 'Sharing your details with a partner' }) });
    expect(await partnerGroup.innerText()).toContain(LONG_PARTNER);
    for (const part of [partnerGroup, partnerGroup.locator('legend'), partnerGroup.locator('.hint').last()]) {
      const box = await part.boundingBox();
      expect(box!.x + box!.width).toBeLessThanOrEqual(375);
    }
    await page.setViewportSize({ width: 1280, height: 800 });

    // The manage link's sign-in request names the address on file.
    await page.getByRole('button', { name: 'E-mail me a sign-in link' }).click();
    expect(await page.locator('.lead strong').innerText()).toBe(EMAIL);
    await check('sign-in link sent from the preference page');
    const signInPath = linkIn((await mailTo(EMAIL, 'your sign-in link')).parsed.text ?? '', '/signin/');
    await page.goto(`${site.url}${signInPath}`);
    await Promise.all([page.waitForURL(`${site.url}/account`), page.getByRole('button', { name: 'Sign in' }).click()]);

    // The header says who is signed in, on every page.
    const who = page.locator('header .member-who');
    expect(await who.innerText()).toContain(`Signed in as Sophie Germain (${EMAIL})`);
    await check('account');
    await page.goto(`${site.url}/privacy`);
    expect(await who.innerText()).toContain('Signed in as Sophie Germain');

    // Data request: names the address.
    await page.goto(`${site.url}/account/data`);
    await page.getByRole('button', { name: 'E-mail me a link to my data' }).click();
    expect(await page.locator('h1').innerText()).toBe('Check your e-mail');
    expect(await page.locator('.lead strong').innerText()).toBe(EMAIL);
    await check('data link sent');

    // E-mail change: names the new address.
    await page.goto(`${site.url}/account/details`);
    await check('details');
    await page.getByLabel('New e-mail address').fill('sophie.germain@example.org');
    await page.getByRole('button', { name: 'Change e-mail address' }).click();
    expect(await page.locator('.lead strong').innerText()).toBe('sophie.germain@example.org');
    await check('email change sent');

    // Removal: a danger button, the page names the address, and once confirmed the account page shows the date.
    await page.goto(`${site.url}/account/removal`);
    await isDanger('Ask us to remove my data');
    await check('removal');
    await page.getByRole('button', { name: 'Ask us to remove my data' }).click();
    expect(await page.locator('h1').innerText()).toBe('Check your e-mail');
    expect(await page.locator('.lead strong').innerText()).toBe(EMAIL);
    await check('removal link sent');
    await page.goto(`${site.url}/account`);
    expect(await page.locator('#pending-removal').innerText()).toContain('Nothing happens until you confirm it');
    const removalPath = linkIn((await mailTo(EMAIL, 'please confirm that we should remove your data')).parsed.text ?? '', '/l/removal/');
    await page.goto(`${site.url}${removalPath}`);
    await isDanger('Yes, remove my data');
    await check('removal confirm');
    await page.getByRole('button', { name: 'Yes, remove my data' }).click();
    const { due_at: dueAt } = (await ctx.db('removal_requests').where({ status: 'confirmed' }).first('due_at')) as { due_at: Date };
    await page.goto(`${site.url}/account`);
    const pending = page.locator('#pending-removal');
    expect(await pending.innerText()).toContain(`We will remove your data on ${formatRemovalDate(dueAt, ctx.config.orgTimeZone)}`);
    expect(await pending.locator('time').getAttribute('datetime')).toBe(dueAt.toISOString());
    await check('account with a pending removal');

    // The password's removal is a danger button too.
    await page.goto(`${site.url}/account/password`);
    await page.getByLabel('New password', { exact: true }).fill('a long enough password');
    await page.getByLabel('The same password again').fill('a long enough password');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.goto(`${site.url}/account/password/remove`);
    await isDanger('Remove my password');
    await check('password remove');

    // Signing out says so, and the header no longer names anyone.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${site.url}/signed-out`);
    expect(await page.locator('h1').innerText()).toBe('You are signed out');
    expect(await page.locator('header .member-who').count()).toBe(0);
    await check('signed out');

    // The sign-in form's check-your-e-mail page names the typed address.
    await page.goto(`${site.url}/manage`);
    await page.getByLabel('Your e-mail address').fill(EMAIL);
    await page.getByRole('button', { name: 'Send me a sign-in link' }).click();
    expect(await page.locator('.lead strong').innerText()).toBe(EMAIL);
    await check('sign-in link sent');

    expect(Object.fromEntries(Object.entries(violations).filter(([, v]) => v.length > 0))).toEqual({});
    expect(browser.errors).toEqual([]);
    await page.close();
  }, 180000);
});
