import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestContext } from '../helpers/app.js';
import { axeViolations, launchBrowser, serve } from '../helpers/browser.js';
import { waitForStatus } from '../helpers/imports.js';
import { startSeededContext } from '../helpers/seeded.js';
import { createStaff, signInStaffInBrowser } from '../helpers/staff.js';

/**
 * Issue 14 in a real browser, without JavaScript (none is served): an admin uploads a sheet of
 * its own layout, maps its columns, reads the dry run and imports with evidence; every import
 * screen, the mapping screen's field errors included, passes axe-core's WCAG 2.1 AA rules.
 */
let ctx: TestContext;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'assent-browser-imports-'));
  ({ ctx } = await startSeededContext({ env: { DATA_DIR: dir } }));
});
afterAll(async () => {
  await ctx?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('imports in a real browser', () => {
  it('an admin uploads, maps, checks and imports a sheet; each screen passes axe-core', async () => {
    await createStaff(ctx, 'browser-importer@example.org', 'admin');
    const file = path.join(dir, 'members-2024.csv');
    await writeFile(
      file,
      'Mail;Full name;Newsletter\nivy.import@example.net;Ivy Import;yes\njon.import@example.net;Jon Import;no\nnot-an-address;Bad Row;yes\n',
    );
    const site = await serve(ctx.app);
    const browser = await launchBrowser({ cookies: true });
    const violations: Record<string, string[]> = {};
    try {
      const page = await browser.context.newPage();
      await signInStaffInBrowser(ctx, page, site.url, 'browser-importer@example.org');
      await page.goto(`${site.url}/admin/imports`);
      violations.list = await axeViolations(page);
      // No file chosen: the error is said on the form.
      await page.getByRole('button', { name: 'Upload and check' }).click();
      expect(await page.locator('.error-summary').innerText()).toContain('Choose a CSV file to upload.');
      violations.uploadError = await axeViolations(page);

      await page.locator('input#file').setInputFiles(file);
      await Promise.all([page.waitForURL(/\/admin\/imports\/\d+$/), page.getByRole('button', { name: 'Upload and check' }).click()]);
      violations.uploaded = await axeViolations(page);
      await page.getByRole('link', { name: 'Map its columns' }).click();
      await page.waitForURL(/\/mapping$/);
      violations.mapping = await axeViolations(page);
      // Without the e-mail column the mapping is refused field by field, the choices kept.
      await page.getByLabel('Name (whole)').selectOption({ label: 'Full name — e.g. Ivy Import' });
      await page.getByRole('button', { name: 'Check the file' }).click();
      expect(await page.locator('#map-email-error').isVisible()).toBe(true);
      expect(await page.getByLabel('Name (whole)').inputValue()).toBe('2');
      violations.mappingError = await axeViolations(page);
      await page.getByLabel('E-mail address').selectOption('1');
      await page.getByLabel('Monthly bulletin').selectOption({ label: 'Column: Newsletter — e.g. yes' });
      await Promise.all([page.waitForURL(/\/admin\/imports\/\d+$/), page.getByRole('button', { name: 'Check the file' }).click()]);
      violations.checked = await axeViolations(page);
      expect(await page.locator('#count-new').innerText()).toBe('2');

      await page.getByLabel('Evidence held elsewhere').check();
      await page.getByLabel('Where and how consent was collected').fill('Paper membership forms');
      await page.getByLabel('When').fill('2020–2024');
      await page.getByLabel('Reference to the evidence').fill('Cabinet 3, folder B');
      // The form answers with a redirect to the same address: wait until the new document is in,
      // or the reload below races the submission's navigation.
      await Promise.all([
        page.waitForEvent('framenavigated', (frame) => frame === page.mainFrame()),
        page.getByRole('button', { name: 'Import', exact: true }).click(),
      ]);
      await page.waitForLoadState('load');
      const id = Number(/\/admin\/imports\/(\d+)/.exec(page.url())![1]);
      await waitForStatus(ctx, id, 'applied');
      await page.reload();
      violations.applied = await axeViolations(page);
      expect(await page.locator('#count-created').innerText()).toBe('2');
      // The two refused forms answered 422, as they should; nothing else went wrong in the page.
      expect(browser.errors.filter((e) => !e.includes('status of 422'))).toEqual([]);
    } finally {
      await browser.close();
      await site.close();
    }
    expect(Object.entries(violations).filter(([, v]) => v.length > 0)).toEqual([]);
    const ivy = await ctx.db('members').where({ email: 'ivy.import@example.net' }).first('id');
    expect(await ctx.db('consent_ledger').where({ member_id: ivy.id, source: 'import' })).toHaveLength(1);
  }, 90000);
});
