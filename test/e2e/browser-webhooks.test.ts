import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { axeViolations, launchBrowser, serve } from '../helpers/browser.js';
import { insertMember } from '../helpers/fixtures.js';
import { createStaff, signInStaffInBrowser } from '../helpers/staff.js';

/**
 * The webhook screens and the member record's bounces in a real browser: an admin adds an endpoint
 * with the form (no JavaScript), sees the secret once and the delivery log; every page passes
 * axe-core's WCAG 2.1 AA rules and fits 1280 px.
 */
let ctx: TestContext;
beforeAll(async () => {
  ctx = await startTestContext();
});
afterAll(() => ctx.close());

describe('webhook screens in a real browser', () => {
  it('an admin adds an endpoint, reads its secret once and its delivery log; each page passes axe-core and fits 1280 px', async () => {
    await createStaff(ctx, 'browser-hooks@example.org', 'admin');
    const memberId = await insertMember(ctx.db, 'bounced@example.org', 'Bounced Member');
    await ctx.db('members').where({ id: memberId }).update({ email_undeliverable_at: ctx.db.fn.now() });
    await ctx.db('mail_feedback').insert({
      provider: 'ses',
      provider_event_id: 'f-1',
      kind: 'hard_bounce',
      detail: 'Permanent/General',
      member_id: memberId,
      outcome: 'marked_undeliverable',
    });
    const site = await serve(ctx.app);
    const browser = await launchBrowser({ cookies: true });
    const violations: Record<string, string[]> = {};
    const overflowing: string[] = [];
    const check = async (page: import('playwright-core').Page, name: string) => {
      violations[name] = await axeViolations(page);
      if (await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth)) overflowing.push(name);
    };
    try {
      const page = await browser.context.newPage();
      await signInStaffInBrowser(ctx, page, site.url, 'browser-hooks@example.org');
      await page.goto(`${site.url}/admin/webhooks`);
      await check(page, 'index');
      await page.goto(`${site.url}/admin/webhooks/new`);
      await check(page, 'new');
      await page.fill('#url', 'http://127.0.0.1:9/hooks');
      await page.check('#event-member-updated');
      await page.click('button[type="submit"]:has-text("Add endpoint")');
      await page.waitForURL(/\/admin\/webhooks\/\d+$/);
      expect(await page.textContent('#webhook-secret')).toMatch(/^whsec_/);
      await check(page, 'show');
      await page.reload();
      expect(await page.locator('#webhook-secret').count()).toBe(0);
      await page.goto(`${site.url}/admin/members/${memberId}`);
      expect(await page.textContent('#deliverability')).toContain('Address undeliverable');
      await check(page, 'member');
    } finally {
      await browser.close();
      await site.close();
    }
    expect(violations).toEqual({ index: [], new: [], show: [], member: [] });
    expect(overflowing).toEqual([]);
  }, 180000);
});
