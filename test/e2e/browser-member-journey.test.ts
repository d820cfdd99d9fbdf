import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import { findUpcomingPolicy } from '../../src/policies/policies.repository.js';
import { queuePolicyNotice } from '../../src/policies/notices.service.js';
import { makeServiceContext } from '../../src/context.js';
import type { TestContext } from '../helpers/app.js';
import { axeViolations, type Browsing, openSite, type BrowsedSite } from '../helpers/browser.js';
import { startSeededContext } from '../helpers/seeded.js';
import { insertPolicy } from '../helpers/fixtures.js';

/**
 * The member journey of issue 3, in a real browser with cookies BLOCKED, against real PostgreSQL
 * and a real SMTP server: every step is reached from a link in a caught e-mail.
 */
let ctx: TestContext;
let site: BrowsedSite;
let browser: Browsing;
const accessibility: Record<string, string[]> = {};

beforeAll(async () => {
  ({ ctx } = await startSeededContext());
  site = await openSite(ctx, { cookies: false });
  browser = site.browser;
  // The one-click URL is taken from the notice's header, so it must name the served site.
  ctx = { ...ctx, config: { ...ctx.config, baseUrl: site.url } };
}, 60000);
afterAll(async () => {
  await site?.close();
  await ctx?.close();
});

async function check(page: Page, label: string): Promise<void> {
  accessibility[label] = await axeViolations(page);
}
const mailTo = (to: string, subject: string) =>
  ctx.smtp.waitFor((m) => m.envelopeTo.includes(to) && (m.parsed.subject ?? '').includes(subject));
const linkIn = (text: string, path: string) => {
  const m = new RegExp(`https?://[^\\s]+(${path.replace(/\//g, '\\/')}[^\\s]*)`).exec(text);
  if (!m) throw new Error(`no ${path} link in ${text}`);
  return m[1] as string;
};

describe('a new member, with cookies blocked, from joining to one-click unsubscribe', () => {
  it('C15 C1 C13 C14 C4 C9: join → confirm from the e-mail → change preferences → confirmation e-mail → one-click → ledger and page show the opt-out', async () => {
    const page = await browser.context.newPage();

    await page.goto(`${site.url}/join`);
    await check(page, 'join');
    // C1: nothing is pre-ticked.
    expect(await page.locator('input[name="topics"]').count()).toBeGreaterThanOrEqual(4);
    expect(await page.locator('input[name="topics"]:checked').count()).toBe(0);
    await page.getByLabel('Your name').fill('Emmy Noether');
    await page.getByLabel('E-mail address').fill('emmy@example.org');
    await page.getByLabel('Monthly bulletin').check();
    await page.getByLabel('Offers from our conference partner').check();
    expect(await page.getByLabel('Share my details with our insurance partner').isChecked()).toBe(false);
    await page.getByRole('button', { name: 'Join' }).click();
    expect(await page.locator('h1').innerText()).toBe('Join Test Society');
    expect(await page.getByRole('alert').innerText()).toContain('Please confirm that you are 16 or older');
    expect(await page.getByLabel('Your name').inputValue()).toBe('Emmy Noether');
    expect(await page.getByLabel('Monthly bulletin').isChecked()).toBe(true);
    await check(page, 'join with errors');
    await page.getByLabel('I am 16 or older').check();
    await page.getByRole('button', { name: 'Join' }).click();
    expect(await page.locator('h1').innerText()).toBe('Check your e-mail');
    await check(page, 'join sent');

    const confirm = await mailTo('emmy@example.org', 'please confirm your membership');
    await page.goto(`${site.url}${linkIn(confirm.parsed.text ?? '', '/join/confirm/')}`);
    await check(page, 'join confirm');
    await page.getByRole('button', { name: 'Confirm my membership' }).click();
    expect(await page.getByRole('status').innerText()).toContain('Your membership is confirmed');
    await check(page, 'welcome');
    await mailTo('emmy@example.org', 'welcome');

    await page.getByRole('link', { name: 'Choose what we send you' }).click();
    expect(await page.locator('h1').innerText()).toBe('What we send you');
    expect(await page.getByLabel('Monthly bulletin').isChecked()).toBe(true);
    await check(page, 'preferences from link');
    await page.getByLabel('Offers from our conference partner').uncheck();
    await page.getByLabel('Research digest').check();
    await page.getByRole('button', { name: 'Save my choices' }).click();
    expect(await page.getByRole('status').innerText()).toContain('Your choices are saved (2 changes)');

    const changed = await mailTo('emmy@example.org', 'preferences have changed');
    expect(changed.parsed.text).toContain('Research digest: now subscribed (before: not subscribed)');
    expect(changed.parsed.text).toContain('Offers from our conference partner: now not subscribed (before: subscribed)');

    // A non-transactional member e-mail (the notice of a policy change) carries List-Unsubscribe.
    const member = await ctx.db('members').where({ email: 'emmy@example.org' }).first('id');
    await insertPolicy(ctx.db, { version: '2.0', publishedDaysAgo: 0, effectiveInDays: 14 });
    const upcoming = await findUpcomingPolicy(ctx.db);
    await ctx.db.transaction((trx) => queuePolicyNotice(trx, makeServiceContext(ctx.config, ctx.db), member.id, upcoming!));
    const notice = await mailTo('emmy@example.org', 'our privacy policy changes');
    const header = notice.parsed.headers.find((h) => h.key === 'list-unsubscribe')?.value ?? '';
    expect(notice.parsed.headers.find((h) => h.key === 'list-unsubscribe-post')?.value).toBe('List-Unsubscribe=One-Click');
    const oneClickUrl = /<(https?:[^>]+)>/.exec(header)?.[1];
    expect(oneClickUrl).toBeDefined();
    const res = await fetch(oneClickUrl!, {
      method: 'POST',
      body: 'List-Unsubscribe=One-Click',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      redirect: 'manual',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('set-cookie')).toBeNull();

    const ledger = await ctx.db('consent_ledger').where({ member_id: member.id }).orderBy('id');
    expect(ledger.map((e: { source: string; to_status: string }) => `${e.source}:${e.to_status}`).sort()).toEqual([
      'member_link:opted_in',
      'member_link:opted_out',
      'one_click:opted_out',
      'one_click:opted_out',
      'signup:opted_in',
      'signup:opted_in',
    ]);
    await page.reload();
    for (const name of ['Monthly bulletin', 'Research digest', 'Offers from our conference partner'])
      expect(await page.getByLabel(name).isChecked()).toBe(false);

    const unsubscribeUrl = linkIn(notice.parsed.text ?? '', '/unsubscribe/');
    await page.goto(`${site.url}${unsubscribeUrl}`);
    await check(page, 'unsubscribe');
    await page.getByRole('button', { name: 'Unsubscribe' }).click();
    expect(await page.getByRole('status').innerText()).toContain('You were already unsubscribed');
    await check(page, 'unsubscribed');

    expect(await browser.context.cookies()).toEqual([]);
    // The form sent without the age confirmation answered 422 on purpose; Chromium logs that status.
    expect(browser.errors.filter((e) => !/\/join: Failed to load resource: .* 422/.test(e))).toEqual([]);
    await page.close();
  }, 60000);

  it('every member page visited passes axe-core WCAG 2.1 AA', () => {
    const failing = Object.fromEntries(Object.entries(accessibility).filter(([, v]) => v.length));
    expect(Object.keys(accessibility).length).toBeGreaterThanOrEqual(8);
    expect(failing).toEqual({});
  });
});
