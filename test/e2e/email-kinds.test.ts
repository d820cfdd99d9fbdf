import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import type { Page } from 'playwright-core';
import { LEDGER_CHANNELS, LEDGER_SOURCES } from '../../src/consent/consent.repository.js';
import { TOPIC_KINDS } from '../../src/consent/topics.schemas.js';
import { LOGO_CID, type BuiltEmail, type MailContext } from '../../src/mail/email.js';
import { CANCEL_TEXT } from '../../src/mail/outbox.repository.js';
import { FONT_STACK } from '../../src/mail/render.js';
import { EMAIL_STATUSES } from '../../src/outbox/outbox.repository.js';
import {
  CHANGE_CHANNEL_NAMES,
  EMAIL_KIND_NAMES,
  KIND_NAMES,
  MEMBER_CHANNEL_NAMES,
  MEMBER_KIND_NAMES,
  MEMBER_SOURCE_NAMES,
  SOURCE_NAMES,
  STATUS_NAMES,
} from '../../src/shared/words.js';
import { axeViolations, launchBrowser, serve, type Browsing } from '../helpers/browser.js';
import { EMAIL_SAMPLES, NOT_BUILDERS, SAMPLE_BASE, solidPng } from '../helpers/email-samples.js';

/**
 * Every kind of e-mail Assent can send (issue 13.4–13.6, 13.11), built from its builder with long
 * realistic inputs and rendered in headless Chromium at a 375 px phone width: it fits, it passes
 * axe, its plain text names no button by position, its footer says how to manage one's choices,
 * and no internal code shows. The builders are found by reading src/**\/*.emails.ts, so a new one
 * without a sample fails here.
 */
const srcDir = path.resolve(import.meta.dirname, '../../src');
const ctx: MailContext = {
  orgName: 'Demo Society',
  baseUrl: SAMPLE_BASE,
  privacyContact: 'privacy@example-society.org',
  timeZone: 'Europe/London',
  brand: { colour: '#5b2a86', inlineLogo: true },
};
/** A logo far wider than a phone, as a mail program shows the inline attachment. */
const logoDataUrl = `data:image/png;base64,${solidPng(900, 60, [91, 42, 134]).toString('base64')}`;

async function emailModules(): Promise<Map<string, Record<string, unknown>>> {
  const files = (readdirSync(srcDir, { recursive: true }) as string[]).filter((f) => f.endsWith('.emails.ts'));
  const modules = new Map<string, Record<string, unknown>>();
  for (const f of files) modules.set(f, (await import(path.join(srcDir, f))) as Record<string, unknown>);
  return modules;
}

/** Codes as they are stored, from the code's own lists; those with an underscore cannot pass for words. */
function internalCodes(kinds: readonly string[]): string[] {
  const all = [
    ...TOPIC_KINDS,
    ...LEDGER_SOURCES,
    ...LEDGER_CHANNELS,
    ...EMAIL_STATUSES,
    ...Object.keys(CANCEL_TEXT),
    ...Object.values(STATUS_NAMES).flatMap((s) => Object.keys(s)),
    ...kinds,
  ];
  return [...new Set(all)].filter((c) => c.includes('_'));
}

const footerOf = (text: string) => text.slice(text.lastIndexOf('\n--\n'));

let built: [string, BuiltEmail][];
let browsing: Browsing;
let page: Page;
/** Each sample's HTML at /mail/<index>, the inline logo as a data: URL: axe-core then loads from the browser's cache. */
let mails: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  built = Object.entries(EMAIL_SAMPLES).map(([name, build]) => [name, build(ctx)]);
  const site = express();
  site.get('/mail/:i', (req, res) => {
    const e = built[Number(req.params.i)]?.[1];
    if (!e) return void res.sendStatus(404);
    res.type('html').send(e.html.replaceAll(`cid:${LOGO_CID}`, logoDataUrl));
  });
  mails = await serve(site);
  browsing = await launchBrowser({ cookies: true });
  page = await browsing.context.newPage();
  await page.setViewportSize({ width: 375, height: 800 });
}, 60_000);

afterAll(async () => {
  await browsing?.close();
  await mails?.close();
});

describe('every e-mail Assent can send', () => {
  it('has a sample for every builder in src/**/*.emails.ts, and a name in words for every kind they make', async () => {
    const modules = await emailModules();
    expect(modules.size).toBeGreaterThanOrEqual(10);
    const exported = [...modules.values()].flatMap((m) => Object.keys(m));
    const sampled = new Set(Object.keys(EMAIL_SAMPLES).map((key) => key.split(':')[0]!));
    const unclassified = exported.filter((name) => !sampled.has(name) && !NOT_BUILDERS.has(name));
    expect(unclassified).toEqual([]);
    expect([...sampled].filter((name) => !exported.includes(name))).toEqual([]);
    const kinds = [...new Set(built.map(([, e]) => e.kind))].sort();
    expect(kinds).toEqual(Object.keys(EMAIL_KIND_NAMES).sort());
  });

  it('the shared words name every stored code: topic kinds, ledger sources and channels', () => {
    const missing = (codes: readonly string[], names: Readonly<Record<string, string>>) => codes.filter((c) => !(c in names));
    expect([
      missing(TOPIC_KINDS, KIND_NAMES),
      missing(TOPIC_KINDS, MEMBER_KIND_NAMES),
      missing(LEDGER_SOURCES, SOURCE_NAMES),
      missing(LEDGER_SOURCES, MEMBER_SOURCE_NAMES),
      missing(LEDGER_CHANNELS, CHANGE_CHANNEL_NAMES),
      missing(LEDGER_CHANNELS, MEMBER_CHANNEL_NAMES),
      missing(EMAIL_STATUSES, STATUS_NAMES.email),
    ]).toEqual([[], [], [], [], [], [], []]);
  });

  it('plain text never points at a button by position, and every footer says how to manage one’s choices', () => {
    for (const [name, e] of built) {
      expect([name, /button (above|below)/i.test(e.text)]).toEqual([name, false]);
      const footer = footerOf(e.text);
      expect([name, /^Manage your choices\b.*(https?:\/\/\S+|\/manage|\/join)/m.test(footer)]).toEqual([name, true]);
      expect([name, e.html.includes('Manage your choices')]).toEqual([name, true]);
    }
  });

  it('C4: what the home page promises: bulk mail (bulletins, the policy notice) carries an unsubscribe link and its headers; all other mail is transactional and says how to manage choices', () => {
    const withUnsubscribe = built.filter(([, e]) => 'List-Unsubscribe' in e.headers).map(([, e]) => e.kind);
    expect([...new Set(withUnsubscribe)].sort()).toEqual(['bulletin', 'policy_notice']);
    for (const [name, e] of built) {
      const bulk = 'List-Unsubscribe' in e.headers;
      expect([name, /^Unsubscribe[^:\n]*: https:\/\/\S+\/unsubscribe\//m.test(footerOf(e.text))]).toEqual([name, bulk]);
      if (!bulk) expect([name, /whatever your choices|went only to you|only say what a member/.test(e.text)]).toEqual([name, true]);
    }
  });

  it('no internal code shows in the text or the HTML', () => {
    const codes = internalCodes(built.map(([, e]) => e.kind));
    expect(codes).toEqual(expect.arrayContaining(['data_link', 'member_link', 'third_party_offer', 'opted_in']));
    const found = built.flatMap(([name, e]) =>
      codes
        .filter((c) => new RegExp(`(?<![A-Za-z0-9_-])${c}(?![A-Za-z0-9_-])`).test(`${e.subject}\n${e.text}\n${e.html}`))
        .map((c) => `${name}: ${c}`),
    );
    expect(found).toEqual([]);
  });

  it('uses the system sans-serif, the brand colour and the inline logo, and writes times in the organisation’s zone', () => {
    for (const [name, e] of built) {
      expect([name, e.html.includes(`font-family:${FONT_STACK}`), /Georgia|Times New Roman/.test(e.html)]).toEqual([name, true, false]);
      expect([name, e.html.includes('#5b2a86'), e.html.includes(`src="cid:${LOGO_CID}"`)]).toEqual([name, true, true]);
    }
    // 23:30 UTC on 14 July is 15 July, 00:30 in London (summer time).
    const notice = Object.fromEntries(built).policyNoticeEmail!;
    expect(notice.text).toContain('It takes effect on 15 July 2026, 00:30 British Summer Time.');
    expect(Object.fromEntries(built).bulletinEmail!.text).toContain('on 15 July 2026.');
  });

  it('fits a 375 px phone without sideways scrolling and passes axe (WCAG 2.1 AA) with no serious or critical violation', async () => {
    const problems: string[] = [];
    for (const [i, [name]] of built.entries()) {
      await page.goto(`${mails.url}/mail/${i}`, { waitUntil: 'load' });
      const widths = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        font: getComputedStyle(document.body).fontFamily,
      }));
      if (widths.scroll > 375) problems.push(`${name}: ${widths.scroll} px wide`);
      if (!widths.font.endsWith('sans-serif')) problems.push(`${name}: font ${widths.font}`);
      for (const v of await axeViolations(page, { impacts: ['serious', 'critical'] })) problems.push(`${name}: ${v}`);
    }
    expect(problems).toEqual([]);
  }, 400_000);
});
