import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestContext } from '../helpers/app.js';
import { walkInBrowser } from '../helpers/browser.js';
import { startSeededContext } from '../helpers/seeded.js';
import { makeServiceContext } from '../../src/context.js';

/** Issue 13.3 in a real browser: the preference page reached from an e-mail leads on to the account. */
let ctx: TestContext;
let ada: string;
beforeAll(async () => {
  let member: Record<string, string>;
  ({ ctx, member } = await startSeededContext());
  ada = member['ada@example.org']!;
}, 60000);
afterAll(() => ctx?.close());

describe('from the e-mail’s preference page to the account', () => {
  it('C9: the cookieless page e-mails a sign-in link to the address on file; the link signs in to details, data and removal; each page passes axe-core', async () => {
    const managePath = new URL(makeServiceContext(ctx.config, ctx.db).links.manage(ada)).pathname;
    await walkInBrowser(ctx.app, async ({ page, url, check }) => {
      await page.goto(`${url}${managePath}`);
      await check('preferences from link');
      await page.getByRole('button', { name: 'E-mail me a sign-in link' }).click();
      expect(await page.locator('h1').innerText()).toBe('Check your e-mail');
      expect(await page.locator('.lead').innerText()).toContain('We have sent a sign-in link to ada@example.org');
      await check('link sent');
      const mail = await ctx.smtp.waitFor((m) => m.envelopeTo.includes('ada@example.org') && /sign-in link/.test(m.parsed.subject ?? ''));
      const signInPath = /https?:\/\/[^\s/]+(\/signin\/[^\s]+)/.exec(mail.parsed.text ?? '')?.[1];
      expect(signInPath).toBeDefined();
      await page.goto(`${url}${signInPath}`);
      await Promise.all([page.waitForURL(`${url}/account`), page.getByRole('button', { name: 'Sign in' }).click()]);
      for (const name of ['Your details', 'Your data', 'Remove your data'])
        expect(await page.getByRole('link', { name }).count()).toBeGreaterThan(0);
    });
  }, 60000);
});
