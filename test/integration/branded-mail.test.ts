import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BrandingCache } from '../../src/branding/branding.service.js';
import { makeServiceContext, type ServiceContext } from '../../src/context.js';
import { fromHeader } from '../../src/mail/branded.js';
import { requestDataLink } from '../../src/members/data.service.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { solidPng } from '../helpers/email-samples.js';
import { insertMember } from '../helpers/fixtures.js';
import { startSeededContext } from '../helpers/seeded.js';
import type { CaughtMessage } from '../helpers/smtp.js';

/**
 * Branding in e-mail (issue 13.11), through the outbox, the worker and a real SMTP server: the
 * sender name in From with the configured address, the primary colour in the HTML, and a PNG logo
 * as an inline attachment the HTML shows by its content id. An SVG logo is left out (many mail
 * programs show no SVG) and the heading shows the organisation's name.
 */
let ctx: TestContext;
let svc: ServiceContext;
let memberId: string;
const logo = solidPng(120, 40, [122, 31, 61]);

async function setBranding(row: { primary_colour: string; sender_name: string; logo: Buffer; logo_type: string }): Promise<void> {
  await ctx
    .db('branding')
    .insert({ id: true, ...row })
    .onConflict('id')
    .merge();
  await svc.brand.refresh();
  await (ctx.app.locals.brand as BrandingCache).refresh();
}

async function sendDataLink(): Promise<CaughtMessage> {
  const seen = ctx.smtp.messages.length;
  await requestDataLink(svc, memberId);
  const [mail] = (await ctx.smtp.waitForCount(seen + 1)).slice(seen);
  return mail!;
}

beforeAll(async () => {
  ctx = await startTestContext();
  svc = makeServiceContext(ctx.config, ctx.db);
  memberId = await insertMember(ctx.db, 'grace@example.org', 'Grace Hopper');
});
afterAll(() => ctx.close());

describe('e-mail carries the organisation’s branding', () => {
  it('a PNG logo goes inline as cid:brand-logo; From is the sender name with the configured address; the colour is in the HTML', async () => {
    await setBranding({ primary_colour: '#7a1f3d', sender_name: 'Société Example, membership', logo, logo_type: 'image/png' });
    await ctx.startWorker();
    try {
      const mail = await sendDataLink();
      expect(mail.parsed.from).toEqual({ name: 'Société Example, membership', address: 'no-reply@assent.test' });
      const html = mail.parsed.html!;
      expect(html).toContain('src="cid:brand-logo"');
      expect(html).toContain('background:#7a1f3d');
      expect(html).toContain('color:#7a1f3d');
      const inline = mail.parsed.attachments.filter((a) => a.contentId === '<brand-logo>');
      expect(inline).toHaveLength(1);
      expect(inline[0]).toMatchObject({ mimeType: 'image/png', disposition: 'inline' });
      expect(Buffer.from(inline[0]!.content as ArrayBuffer).equals(logo)).toBe(true);
      expect(mail.parsed.text).not.toContain('cid:');
    } finally {
      await ctx.stopWorker();
    }
  });

  it('an SVG logo is left out of the mail (the name shows), and a sender name with line breaks cannot add a header', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    await setBranding({
      primary_colour: '#2f5d50',
      sender_name: 'Example\r\nBcc: thief@example.net',
      logo: svg,
      logo_type: 'image/svg+xml',
    });
    await ctx.startWorker();
    try {
      const mail = await sendDataLink();
      expect(mail.parsed.html).not.toContain('cid:');
      expect(mail.parsed.html).toContain('Test Society');
      expect(mail.parsed.attachments).toEqual([]);
      expect(mail.parsed.from).toEqual({ name: 'Example Bcc: thief@example.net', address: 'no-reply@assent.test' });
      expect(mail.raw).not.toMatch(/^Bcc:/im);
      expect(mail.envelopeTo).toEqual(['grace@example.org']);
    } finally {
      await ctx.stopWorker();
    }
  });

  it('a message built with a logo that is gone by the time it is sent shows no broken image', async () => {
    await setBranding({ primary_colour: '#2f5d50', sender_name: 'Example', logo, logo_type: 'image/png' });
    const seen = ctx.smtp.messages.length;
    await requestDataLink(svc, memberId);
    await ctx.db('branding').update({ logo: null, logo_type: null });
    await ctx.startWorker();
    try {
      const [mail] = (await ctx.smtp.waitForCount(seen + 1)).slice(seen);
      expect(mail!.parsed.html).not.toContain('cid:brand-logo');
      expect(mail!.parsed.attachments).toEqual([]);
    } finally {
      await ctx.stopWorker();
    }
  });
});

describe('the demo organisation (seeds/)', () => {
  it('its caught mail wears the seeded branding: sender name, purple, and the logo inline', async () => {
    const { ctx: demo } = await startSeededContext();
    try {
      const member = await demo.db('members').where({ status: 'active' }).whereNotNull('email').first('id', 'email');
      const demoSvc = makeServiceContext(demo.config, demo.db);
      await demoSvc.brand.refresh();
      await requestDataLink(demoSvc, member.id);
      const mail = await demo.smtp.waitFor((m) => m.envelopeTo.includes(member.email));
      expect(mail.parsed.from?.name).toBe('Demo Society membership');
      expect(mail.parsed.html).toContain('background:#5b2a86');
      const inline = mail.parsed.attachments.find((a) => a.contentId === '<brand-logo>');
      const seeded = readFileSync(new URL('../../seeds/assets/demo-logo.png', import.meta.url));
      expect(Buffer.from(inline!.content as ArrayBuffer).equals(seeded)).toBe(true);
    } finally {
      await demo.close();
    }
  }, 60_000);
});

describe('the From header', () => {
  it('keeps MAIL_FROM as it is without a sender name, and takes only its address with one', () => {
    expect(fromHeader('"Test Society" <no-reply@assent.test>', null)).toBe('"Test Society" <no-reply@assent.test>');
    expect(fromHeader('"Test Society" <no-reply@assent.test>', '  ')).toBe('"Test Society" <no-reply@assent.test>');
    expect(fromHeader('no-reply@assent.test', 'Example\u2028Society\u0000')).toEqual({
      name: 'Example Society',
      address: 'no-reply@assent.test',
    });
  });
});
