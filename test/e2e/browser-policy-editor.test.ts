import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestContext } from '../helpers/app.js';
import { axeViolations, launchBrowser, serve } from '../helpers/browser.js';
import { startSeededContext } from '../helpers/seeded.js';
import { createStaff, signInStaffInBrowser } from '../helpers/staff.js';
import { comparePolicyText } from '../../src/policies/policy-diff.js';

/**
 * Issue 13.9: a new policy version starts from the published text, the draft page shows what it
 * changes (<ins>/<del> with a legend) before publishing, and the public page renders the text as
 * sanitised Markdown, in a real browser.
 */
let ctx: TestContext;
beforeAll(async () => {
  ({ ctx } = await startSeededContext({ worker: false }));
}, 60000);
afterAll(() => ctx.close());

const NEW_TEXT = `This statement explains what we hold about our members and what we do with it.

## What we collect

- your name and e-mail address;
- optionally a postal address and phone number.

Questions? See [our contact page](https://example.org/contact).

<script>window.__pwned = true</script>
<img src=x onerror="window.__pwned = true">
[a trap](javascript:window.__pwned=true)`;

describe('the policy editor and the public privacy page', () => {
  it('C7: the editor starts from the current text, the draft shows its changes as <ins>/<del> with a legend, and the published page renders headings, lists and links with raw HTML inert', async () => {
    await createStaff(ctx, 'policy-editor@example.org', 'admin');
    const current = (await ctx.db('policy_versions').whereNotNull('published_at').first()) as {
      version: string;
      title: string;
      body: string;
    };
    const site = await serve(ctx.app);
    const browser = await launchBrowser({ cookies: true });
    const violations: Record<string, string[]> = {};
    try {
      const page = await browser.context.newPage();
      await signInStaffInBrowser(ctx, page, site.url, 'policy-editor@example.org');

      await page.goto(`${site.url}/admin/policies/new`);
      expect(await page.getByLabel('Text of the policy').inputValue()).toBe(current.body);
      expect(await page.getByLabel('Title', { exact: true }).inputValue()).toBe(current.title);
      expect(await page.locator('#starting-point').innerText()).toContain(`version ${current.version}`);
      violations['new version'] = await axeViolations(page);

      await page.getByLabel('Version label').fill('2.0');
      await page.getByLabel('Summary of what changes').fill('Lists what we collect.');
      await page.getByLabel('Text of the policy').fill(NEW_TEXT);
      await page.getByRole('button', { name: 'Save draft' }).click();
      await page.waitForURL(/\/admin\/policies\/\d+\?saved/);

      // Before publishing: the comparison, with insertions and deletions as <ins>/<del> and a text legend.
      const changes = page.locator('#changes');
      expect(await changes.locator('h2').innerText()).toBe(`What this version changes, compared with version ${current.version}`);
      expect(await page.locator('#changes-summary').innerText()).toMatch(/^\d+ words added and \d+ words removed\.$/);
      const texts = (sel: string) => changes.locator(sel).evaluateAll((els) => els.map((e) => e.textContent ?? ''));
      const added = await texts('.policy-diff ins');
      const removed = await texts('.policy-diff del');
      expect(added.every((t) => t.startsWith('[added: ') && t.endsWith(']'))).toBe(true);
      expect(added.join(' ')).toContain('optionally a postal address');
      expect(added.join(' ')).toContain('<script>');
      expect(removed.join(' ')).toContain('Our web server logs');
      expect(await page.locator('#diff-legend').innerText()).toMatch(/underlined.*new in this version.*struck-through.*not in this one/s);
      // Readable without colour: underline and strike-through, not only a background.
      expect(
        await changes
          .locator('.policy-diff ins')
          .first()
          .evaluate((e) => getComputedStyle(e).textDecorationLine),
      ).toBe('underline');
      expect(
        await changes
          .locator('.policy-diff del')
          .first()
          .evaluate((e) => getComputedStyle(e).textDecorationLine),
      ).toBe('line-through');
      // The comparison comes before the publish form.
      const order = await page.evaluate(() => {
        const c = document.getElementById('changes')!;
        const p = document.getElementById('publish-title')!;
        return c.compareDocumentPosition(p) & Node.DOCUMENT_POSITION_FOLLOWING;
      });
      expect(order).toBeTruthy();
      // The staff preview renders the Markdown, scripts inert.
      expect(await page.locator('.preview .policy-body h2').first().innerText()).toBe('What we collect');
      violations['draft with changes'] = await axeViolations(page);

      await page.getByRole('button', { name: 'Publish and notify members…' }).click();
      await page.getByRole('button', { name: /^Publish and e-mail/ }).click();
      await page.waitForURL(/\?published/);
      expect(await page.locator('#changes').count()).toBe(0);

      await page.goto(`${site.url}/privacy/versions/2.0`);
      const body = page.locator('.policy-body');
      expect(await body.locator('h2').innerText()).toBe('What we collect');
      expect(await body.locator('ul > li').allInnerTexts()).toEqual([
        'your name and e-mail address;',
        'optionally a postal address and phone number.',
      ]);
      expect(await body.getByRole('link', { name: 'our contact page' }).getAttribute('href')).toBe('https://example.org/contact');
      // XSS: the raw HTML is shown as text or dropped, never run; a javascript: link is not a link.
      expect(await body.locator('script, img, [onerror]').count()).toBe(0);
      expect(await body.innerText()).toContain('<script>window.__pwned = true</script>');
      expect(await body.locator('a[href^="javascript"]').count()).toBe(0);
      expect(await page.evaluate(() => (window as unknown as { __pwned?: boolean }).__pwned)).toBeUndefined();
      // The one h1 is the page title; the text's headings sit under it.
      expect(await page.locator('h1').count()).toBe(1);
      for (const width of [1280, 375]) {
        await page.setViewportSize({ width, height: 800 });
        violations[`privacy page @${width}`] = await axeViolations(page);
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
      }
      expect(browser.errors).toEqual([]);
    } finally {
      await browser.close();
      await site.close();
    }
    expect(Object.fromEntries(Object.entries(violations).filter(([, v]) => v.length > 0))).toEqual({});
  }, 120000);

  it('C7: an edited paragraph is compared word by word, a rewritten one shows as replaced, identical text as the same', () => {
    const same = comparePolicyText('One two.\nThree.', 'One two.\nThree.');
    expect([same.wordsAdded, same.wordsRemoved, same.parts.map((p) => p.kind)]).toEqual([0, 0, ['same']]);
    const changed = comparePolicyText('We keep your address.', 'We keep your postal address for a year.');
    expect(changed.parts.filter((p) => p.kind === 'added').map((p) => p.text.trim())).toEqual(['postal', 'for a year']);
    expect([changed.wordsAdded, changed.wordsRemoved]).toEqual([4, 0]);
    const rewritten = comparePolicyText('Intro.\nWe keep your address.\nEnd.', 'Intro.\nNothing at all is stored by us.\nEnd.');
    expect(rewritten.parts).toEqual([
      { kind: 'same', text: 'Intro.\n' },
      { kind: 'removed', text: 'We keep your address.\n' },
      { kind: 'added', text: 'Nothing at all is stored by us.\n' },
      { kind: 'same', text: 'End.' },
    ]);
  });
});
