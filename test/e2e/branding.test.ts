import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { TestContext } from '../helpers/app.js';
import { walkInBrowser } from '../helpers/browser.js';
import { startSeededContext } from '../helpers/seeded.js';
import { startTestContext } from '../helpers/app.js';
import { csrfFrom } from '../helpers/session.js';
import { signedInStaff, signInStaffInBrowser, createStaff, type Agent } from '../helpers/staff.js';

/** Issue 13.11: the organisation's logo, colour and sender name, set by an admin, on every page. */
let ctx: TestContext;
let admin: Agent;
// A 1×1 PNG.
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360f8cfc0f01f0005fe02fea7d6d1c90000000049454e44ae426082',
  'hex',
);

beforeAll(async () => {
  ({ ctx } = await startSeededContext({ worker: false }));
  ({ agent: admin } = await signedInStaff(ctx, 'brand-admin@example.org', 'admin'));
}, 60000);
afterAll(() => ctx?.close());

async function save(fields: Record<string, string>, logo?: { bytes: Buffer; name: string }) {
  const _csrf = await csrfFrom(admin, '/admin/branding');
  let req = admin.post('/admin/branding').field('_csrf', _csrf);
  for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
  if (logo) req = req.attach('logo', logo.bytes, logo.name);
  return req;
}

describe('branding', () => {
  it('a new install wears Assent’s own colour and no logo; no cookie for either', async () => {
    const fresh = await startTestContext();
    try {
      const css = await request(fresh.app).get('/brand.css').expect(200);
      expect(css.headers['content-type']).toMatch(/^text\/css/);
      expect(css.text).toContain('--accent: #2f5d50;');
      expect(css.headers['set-cookie']).toBeUndefined();
      await request(fresh.app).get('/brand/logo').expect(404);
      const home = await request(fresh.app).get('/').expect(200);
      expect(home.text).toMatch(/<link rel="stylesheet" href="\/brand.css\?v=0">/);
      expect(home.text).not.toContain('class="brand-logo"');
    } finally {
      await fresh.close();
    }
  });

  it('the demo organisation shows its own colour, logo and sender name', async () => {
    const css = await request(ctx.http).get('/brand.css').expect(200);
    expect(css.text).toContain('--accent: #5b2a86;');
    const logo = await request(ctx.http).get('/brand/logo').expect(200);
    expect(logo.headers['content-type']).toMatch(/^image\/png/);
    expect((await request(ctx.http).get('/').expect(200)).text).toContain('class="brand-logo"');
    expect((await admin.get('/admin/branding').expect(200)).text).toContain('Demo Society membership');
  });

  it('refuses a colour white text cannot be read on, saying the ratio, and keeps what was typed', async () => {
    const res = await save({ primary_colour: '#FFCC00', sender_name: 'Example Society membership' });
    expect(res.status).toBe(422);
    expect(res.text).toMatch(/White text on #ffcc00 has a contrast of 1\.\d\d:1; it needs at least 4\.5:1/);
    expect(res.text).toContain('value="Example Society membership"');
    expect((await ctx.db('branding').first()).primary_colour).toBe('#5b2a86');
    for (const [colour, message] of [
      ['blue', 'Enter the colour as # and six hexadecimal digits'],
      ['#12345', 'Enter the colour as # and six hexadecimal digits'],
    ] as const)
      expect((await save({ primary_colour: colour })).text).toContain(message);
    expect((await save({ sender_name: 'Evil" <x@evil.example>' })).text).toContain('cannot contain quotes');
  });

  it('saves a readable colour, a sender name and a PNG logo: every page links the new colour and shows the logo; audited', async () => {
    const res = await save({ primary_colour: '#6A2C70', sender_name: 'Example Society membership' }, { bytes: PNG, name: 'logo.png' });
    expect(res.status).toBe(303);
    const row = await ctx.db('branding').first();
    expect(row).toMatchObject({ primary_colour: '#6a2c70', sender_name: 'Example Society membership', logo_type: 'image/png' });
    const version = String(row.updated_at.getTime());
    const css = await request(ctx.http).get(`/brand.css?v=${version}`).expect(200);
    expect(css.text).toContain('--accent: #6a2c70;');
    expect(css.headers['cache-control']).toContain('immutable');
    for (const path of ['/', '/join', '/privacy', '/contact']) {
      const page = await request(ctx.http).get(path).expect(200);
      expect(page.text).toContain(`href="/brand.css?v=${version}"`);
      expect(page.text).toContain(`<img class="brand-logo" src="/brand/logo?v=${version}" alt=""`);
    }
    expect((await admin.get('/admin').expect(200)).text).toContain(`src="/brand/logo?v=${version}"`);
    const logo = await request(ctx.http).get(`/brand/logo?v=${version}`).expect(200);
    expect(logo.headers['content-type']).toBe('image/png');
    expect(Buffer.compare(logo.body as Buffer, PNG)).toBe(0);
    expect(logo.headers['content-security-policy']).toContain('sandbox');
    expect(logo.headers['x-content-type-options']).toBe('nosniff');
    const audit = await ctx.db('audit_log').where({ action: 'branding.updated' });
    expect(audit).toHaveLength(1);
    expect(audit[0].details).toEqual({ colour: '#6a2c70', logo: 'new' });
  });

  it('refuses a file that is not an image, and one over 256 kB, keeping the other fields and the logo it had', async () => {
    const fake = await save({ primary_colour: '#6a2c70' }, { bytes: Buffer.from('<script>alert(1)</script>'), name: 'logo.png' });
    expect(fake.status).toBe(422);
    expect(fake.text).toContain('The logo must be a PNG, JPEG or SVG image.');
    const big = await save(
      { primary_colour: '#6a2c70', sender_name: 'Kept name' },
      { bytes: Buffer.concat([PNG, Buffer.alloc(300 * 1024)]), name: 'big.png' },
    );
    expect(big.status).toBe(422);
    expect(big.text).toContain('The file is larger than 256 kB.');
    expect(big.text).toContain('value="Kept name"');
    expect((await ctx.db('branding').first()).logo_type).toBe('image/png');
  });

  it('removes the logo; only an admin opens the screen; a post without the CSRF token changes nothing', async () => {
    expect((await save({ primary_colour: '#6a2c70', remove_logo: 'yes' })).status).toBe(303);
    await request(ctx.http).get('/brand/logo').expect(404);
    const { agent: support } = await signedInStaff(ctx, 'brand-support@example.org', 'support');
    await support.get('/admin/branding').expect(403);
    await admin.post('/admin/branding').field('primary_colour', '#000000').expect(403);
    expect((await ctx.db('branding').first()).primary_colour).toBe('#6a2c70');
  });

  it('in a browser, the header wears the colour and the branding screen passes axe-core', async () => {
    await createStaff(ctx, 'brand-browser@example.org', 'admin');
    await walkInBrowser(
      ctx.app,
      async ({ page, url, check }) => {
        await page.goto(`${url}/`);
        expect(await page.evaluate(() => getComputedStyle(document.querySelector('.site-header')!).backgroundColor)).toBe(
          'rgb(106, 44, 112)',
        );
        await signInStaffInBrowser(ctx, page, url, 'brand-browser@example.org');
        await page.goto(`${url}/admin/branding`);
        await check('branding');
        await page.getByLabel('Primary colour').fill('#fafafa');
        await page.getByRole('button', { name: 'Save the branding' }).click();
        expect(await page.getByRole('alert').innerText()).toContain('Choose a darker colour');
        await check('branding with an error');
      },
      { expectedErrors: /\/admin\/branding: Failed to load resource: .* 422/ },
    );
  }, 60000);
});
