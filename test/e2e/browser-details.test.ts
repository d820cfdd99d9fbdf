import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { issueMemberToken } from '../../src/identity/member-tokens.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { axeViolations, launchBrowser, serve, signInInBrowser } from '../helpers/browser.js';
import { insertMember } from '../helpers/fixtures.js';
import { linkIn } from '../helpers/session.js';

/**
 * The details pages (C5) in a real browser, signed in with cookies, no script involved: each
 * page on the way, and the form with errors, must pass axe-core's WCAG 2.1 AA rules.
 */
let ctx: TestContext;
beforeAll(async () => {
  ctx = await startTestContext();
  await ctx.startWorker();
});
afterAll(() => ctx.close());

const mailTo = (to: string, subject: string) =>
  ctx.smtp.waitFor((m) => m.envelopeTo.includes(to) && (m.parsed.subject ?? '').includes(subject));
const member = (id: string) => ctx.db('members').where({ id }).first('email');

describe('the details pages in a real browser', () => {
  it('work without JavaScript and pass axe-core WCAG 2.1 AA checks: the page, its errors, the sent page and both link pages', async () => {
    const id = await insertMember(ctx.db, 'katherine@example.org', 'Katherine Johnson');
    const site = await serve(ctx.app);
    const browser = await launchBrowser({ cookies: true });
    const violations: Record<string, string[]> = {};
    try {
      const page = await browser.context.newPage();
      await signInInBrowser(page, site.url, await issueMemberToken(ctx.db, id, 'signin', 15));
      await page.goto(`${site.url}/account/details`);
      violations.details = await axeViolations(page);
      await page.getByLabel('Phone number').fill('call me');
      await page.getByRole('button', { name: 'Save details' }).click();
      expect(await page.getByRole('alert').innerText()).toContain('Use only digits');
      violations['details with errors'] = await axeViolations(page);
      await page.getByLabel('Phone number').fill('+1 757 864 1000');
      await page.getByRole('button', { name: 'Save details' }).click();
      expect(await page.getByRole('status').innerText()).toContain('Your details are saved.');
      violations['details saved'] = await axeViolations(page);
      await page.getByLabel('New e-mail address').fill('katherine.new@example.org');
      await page.getByRole('button', { name: 'Change e-mail address' }).click();
      expect(await page.locator('h1').innerText()).toBe('Check your new address');
      violations['email sent'] = await axeViolations(page);
      const verify = await mailTo('katherine.new@example.org', 'confirm your new');
      await page.goto(`${site.url}${linkIn(verify.parsed.text ?? '', '/l/email/')}`);
      violations['email confirm'] = await axeViolations(page);
      await page.getByRole('button', { name: 'Confirm my new address' }).click();
      expect(await page.locator('h1').innerText()).toBe('Your address is changed');
      violations['email changed'] = await axeViolations(page);
      // Chromium reports the 422 of the refused form as a console error; anything else would be a fault.
      expect(browser.errors.filter((e) => !e.includes('status of 422'))).toEqual([]);
    } finally {
      await browser.close();
      await site.close();
    }
    expect(violations).toEqual({
      details: [],
      'details with errors': [],
      'details saved': [],
      'email sent': [],
      'email confirm': [],
      'email changed': [],
    });
    expect((await member(id))?.email).toBe('katherine.new@example.org');
  }, 60000);
});
