import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestContext } from '../helpers/app.js';
import { axeViolations, launchBrowser, serve } from '../helpers/browser.js';
import { insertOptedInMembers } from '../helpers/fixtures.js';
import { startSeededContext } from '../helpers/seeded.js';
import { createStaff, signInStaffInBrowser } from '../helpers/staff.js';

/**
 * An editor writes, previews and sends a bulletin in a real browser, without JavaScript (none is
 * served); every bulletin screen passes axe-core's WCAG 2.1 AA rules, and the e-mail's HTML part
 * fits a 375 px phone, long links included.
 */
let ctx: TestContext;
let topicId: number;
beforeAll(async () => {
  const seeded = await startSeededContext({ env: { SEND_RATE_PER_SECOND: '1000' } });
  ctx = seeded.ctx;
  topicId = seeded.topic['monthly-bulletin']!;
  const policyId = (await ctx.db('policy_versions').whereNotNull('published_at').first('id')).id as number;
  await insertOptedInMembers(ctx.db, { count: 5, topicId, policyId, prefix: 'reader', domain: 'example.org' });
});
afterAll(() => ctx.close());

describe('bulletins in a real browser', () => {
  it('C11: an editor composes, previews, confirms and sends; each screen passes axe-core; the HTML part fits 375 px', async () => {
    await createStaff(ctx, 'browser-editor@example.org', 'editor');
    const site = await serve(ctx.app);
    const browser = await launchBrowser({ cookies: true });
    const violations: Record<string, string[]> = {};
    try {
      const page = await browser.context.newPage();
      await signInStaffInBrowser(ctx, page, site.url, 'browser-editor@example.org');
      await page.goto(`${site.url}/admin/bulletins/new`);
      violations.form = await axeViolations(page);
      await page.getByLabel('Topic').selectOption(String(topicId));
      await page.getByLabel('Subject').fill('Spring news');
      await page.getByLabel('Preview text (optional)').fill('Three things this spring');
      await page
        .getByLabel('Body (Markdown)')
        .fill(`## Spring\n\nSee https://example.org/${'very-long-segment-'.repeat(12)}end for the details.\n\n- one\n- two`);
      await page.getByLabel('Publish a web version').check();
      await Promise.all([page.waitForURL(/\/admin\/bulletins\/\d+\?created$/), page.getByRole('button', { name: 'Save draft' }).click()]);
      const id = /\/admin\/bulletins\/(\d+)/.exec(page.url())![1];
      violations.show = await axeViolations(page);

      await page.goto(`${site.url}/admin/bulletins/${id}/preview`);
      violations.preview = await axeViolations(page);
      const phone = await browser.context.newPage();
      await phone.setViewportSize({ width: 375, height: 800 });
      await phone.goto(`${site.url}/admin/bulletins/${id}/preview/html`);
      const width = await phone.evaluate(() => document.documentElement.scrollWidth);
      expect(width).toBeLessThanOrEqual(375);
      expect(await phone.getByText('Spring', { exact: true }).isVisible()).toBe(true);

      await page.goto(`${site.url}/admin/bulletins/${id}/send`);
      violations.send = await axeViolations(page);
      expect(await page.locator('#audience').innerText()).toContain('This goes to 7 members');
      await Promise.all([page.waitForURL(/\/confirm\?when=now/), page.getByRole('button', { name: 'Continue' }).click()]);
      violations.confirm = await axeViolations(page);
      await page.getByLabel(/I have checked the preview/).check();
      await Promise.all([page.waitForURL(/\?sent$/), page.getByRole('button', { name: 'Send to 7 members now' }).click()]);
      // The five readers and the two demo members opted in to the topic.
      await ctx.smtp.waitFor(() => ctx.smtp.messages.filter((x) => x.parsed.subject === 'Spring news').length === 7, 20000);
      await page.reload();
      violations.progress = await axeViolations(page);
      await page.goto(`${site.url}/bulletins/monthly-bulletin`);
      violations.archive = await axeViolations(page);
      await page.goto(`${site.url}/bulletins/monthly-bulletin/${id}`);
      violations.web = await axeViolations(page);
      expect(browser.errors).toEqual([]);
    } finally {
      await browser.close();
      await site.close();
    }
    expect(Object.entries(violations).filter(([, v]) => v.length > 0)).toEqual([]);
  }, 90000);
});
