import { describe, expect, it } from '@jest/globals';
import { bulletinCopies, bulletinEmail, renderBulletinBody, type BulletinParts } from '../../src/bulletins/bulletins.emails.js';
import type { MailContext } from '../../src/mail/email.js';
import { Links } from '../../src/shared/links.js';
import { mailCtx } from '../helpers/emails.js';

/**
 * A bulletin's copies are built by mail merge in the snapshot (the templates run once, each member's
 * values are put in): every copy must be exactly what the plain builder makes for that member, the
 * HTML part escaped as the templates escape, the text part as written.
 */
// An organisation name to escape, a zone with summer time and an inline logo: what the merge must keep.
const ctx: MailContext = {
  ...mailCtx,
  orgName: 'Test & Sons Society',
  timeZone: 'Europe/London',
  brand: { ...mailCtx.brand, inlineLogo: true },
};
const links = new Links(ctx.baseUrl, ['test-secret-key-0123456789abcdefghijklmnop']);
const parts = (webUrl: string | null): BulletinParts => ({
  bulletinId: 9,
  subject: 'News & views <July>',
  preheader: 'Fish "and" chips',
  topic: { id: 3, name: 'Research “digest” & <more>', slug: 'digest' },
  body: renderBulletinBody('# July\n\nDear all: **Tom & Jerry** say <hi> and $& $1 `a < b`.\n\n- one\n- two'),
  webUrl,
  orgAddress: '1 High St, Town & Gown',
});

const members = [
  { name: 'Ada Lovelace', chosenAt: new Date('2026-03-03T09:00:00Z') },
  { name: null, chosenAt: new Date('2026-07-14T23:30:00Z') },
  { name: `Zoë O'Brien & "Sons" <b>bold</b>`, chosenAt: new Date('2025-12-31T23:59:59Z') },
  { name: 'Dollar $& $1 $$ Person', chosenAt: new Date('2024-02-29T12:00:00Z') },
  { name: 'Name with \u2060 word joiner 0', chosenAt: new Date('2026-10-25T00:30:00Z') },
  { name: '李小龍 🐉', chosenAt: new Date('2026-01-01T00:00:00Z') },
].map((m, i) => {
  const memberId = `0b9f3c1e-5d2a-4c7b-9e61-2f0a8d4b7c3${i}`;
  return {
    recipient: { memberId, email: `m${i}@example.org`, ...m },
    links: { unsubscribe: links.unsubscribe(memberId, 3, 9), manage: links.manage(memberId, Date.UTC(2026, 6, i + 1)) },
  };
});

describe('bulletin copies by mail merge', () => {
  it.each([
    ['with a web version', `${mailCtx.baseUrl}/bulletins/digest/9`],
    ['without one', null],
  ])('C4: each member’s copy is exactly the plain builder’s, %s', (_, webUrl) => {
    const b = parts(webUrl);
    const copyFor = bulletinCopies(ctx, b);
    for (const m of members) expect(copyFor(m.recipient, m.links)).toEqual(bulletinEmail(ctx, b, m.recipient, m.links));
  });

  it('C4: each copy carries its own member’s links, name and date, and no other member’s', () => {
    const copyFor = bulletinCopies(ctx, parts(null));
    const [a, b] = [members[0]!, members[2]!];
    const copy = copyFor(a.recipient, a.links);
    expect(copy.text).toContain('Dear Ada Lovelace,');
    expect(copy.text).toContain(a.links.unsubscribe.url);
    expect(copy.text).toContain(a.links.manage);
    expect(copy.text).toContain('on 3 March 2026');
    expect(copy.headers['List-Unsubscribe']).toContain(a.links.unsubscribe.url);
    expect(copy.html).not.toContain(b.links.unsubscribe.url);
    expect(copyFor(b.recipient, b.links).html).toContain('Dear Zoë O&#39;Brien &amp; &#34;Sons&#34; &lt;b&gt;bold&lt;/b&gt;,');
  });
});
