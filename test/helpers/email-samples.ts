import { deflateSync } from 'node:zlib';
import { failedSignInsEmail, recoveryCodeUsedEmail, twoFactorResetEmail } from '../../src/auth/sign-in.emails.js';
import {
  bulletinCopies,
  bulletinEmail,
  bulletinTestEmail,
  renderBulletinBody,
  type BulletinParts,
} from '../../src/bulletins/bulletins.emails.js';
import { preferencesChangedEmail } from '../../src/consent/consent.emails.js';
import { invitationEmail } from '../../src/imports/imports.emails.js';
import { webhookDisabledEmail } from '../../src/integrations/webhooks.emails.js';
import { inquiryReplyEmail } from '../../src/inquiries/inquiries.emails.js';
import type { BuiltEmail, MailContext } from '../../src/mail/email.js';
import { passwordRemovedEmail, passwordSetEmail } from '../../src/members/account.emails.js';
import { dataLinkEmail } from '../../src/members/data.emails.js';
import {
  detailsChangedEmail,
  emailChangedEmail,
  emailChangedNoticeEmail,
  emailChangeRequestedEmail,
  emailInUseEmail,
  verifyNewEmail,
} from '../../src/members/details.emails.js';
import { alreadyMemberEmail, preferencesLinkEmail, signupConfirmEmail, welcomeEmail } from '../../src/members/join.emails.js';
import { signInLinkEmail } from '../../src/members/signin.emails.js';
import { policyNoticeEmail, policyNoticeTestEmail } from '../../src/policies/policies.emails.js';
import { removalCompletedEmail, removalHeldEmail, removalReleasedEmail } from '../../src/removal/erasure.emails.js';
import { removalCancelledEmail, removalConfirmedEmail, removalConfirmEmail } from '../../src/removal/removal.emails.js';
import { Links } from '../../src/shared/links.js';

/**
 * One sample of every e-mail builder in src/**\/*.emails.ts, keyed by its exported name (and
 * `name:variant` for a builder that makes more than one kind), with the
 * longest realistic inputs: real signed links (long, unbreakable), a long topic name and long
 * names. test/e2e/email-kinds.test.ts fails when a builder is exported that has no sample here.
 */
export const SAMPLE_BASE = 'https://members.example-society.org';
const links = new Links(SAMPLE_BASE, ['sample-secret-key-0123456789abcdefghijklmnop']);
const member = { to: 'maximiliana.longname-example@example-society.org', memberId: '0b9f3c1e-5d2a-4c7b-9e61-2f0a8d4b7c35' };
const name = 'Maximiliana Alexandrovna Longname-Example';
const manageUrl = links.manage(member.memberId);
const unsubscribe = links.unsubscribe(member.memberId, 'all');
const action = (path: string) => links.action(path, 'Zq3kVb0yXcPnL2m8RtW4sH6jD1fG9aE5uY7iO0pKlMnBvCxZ');
const at = new Date('2026-07-14T23:30:00Z');
const topic = { id: 7, slug: 'research-digest', name: 'Research digest and conference announcements for practitioners' };

const bulletin = (): BulletinParts => ({
  bulletinId: 42,
  subject: 'Research digest: July',
  preheader: 'Three papers and a conference',
  topic,
  body: renderBulletinBody(
    [
      '# July',
      '',
      'Read the report at https://example.org/reports/2026/07/a-very-long-path-that-does-not-break-on-its-own-accord-ever?id=0123456789abcdef0123456789abcdef',
      '',
      '| Paper | Authors | Pages |',
      '| --- | --- | --- |',
      '| On preferences | Ada, Bob | 12 |',
      '',
      '```',
      'const preference = await centre.ask({ member, topic, channel: "email", policyVersion: "2.0" });',
      '```',
    ].join('\n'),
  ),
  webUrl: `${SAMPLE_BASE}/bulletins/research-digest/42`,
  orgAddress: '1 Society Street, Exampletown EX1 2AB',
});

type Sample = (ctx: MailContext) => BuiltEmail;

export const EMAIL_SAMPLES: Record<string, Sample> = {
  invitationEmail: (ctx) => invitationEmail(ctx, { to: member.to, url: `${SAMPLE_BASE}/join/invited/${'x'.repeat(43)}`, days: 30 }),
  webhookDisabledEmail: (ctx) =>
    webhookDisabledEmail(ctx, {
      to: member.to,
      name,
      endpointId: 7,
      url: `https://crm.example.org/hooks/assent/${'y'.repeat(60)}`,
      failingSince: at,
      lastError: 'HTTP 502 Bad Gateway',
    }),
  failedSignInsEmail: (ctx) => failedSignInsEmail(ctx, { ...member, name, staff: false, count: 12 }),
  'failedSignInsEmail:staff': (ctx) => failedSignInsEmail(ctx, { to: member.to, memberId: null, name, staff: true, count: 12 }),
  recoveryCodeUsedEmail: (ctx) => recoveryCodeUsedEmail(ctx, { to: member.to, name, left: 1 }),
  twoFactorResetEmail: (ctx) => twoFactorResetEmail(ctx, { to: member.to, name }),
  bulletinEmail: (ctx) =>
    bulletinEmail(
      ctx,
      bulletin(),
      { memberId: member.memberId, email: member.to, name, chosenAt: at },
      { unsubscribe: links.unsubscribe(member.memberId, topic.id, 42), manage: manageUrl },
    ),
  bulletinCopies: (ctx) =>
    bulletinCopies(ctx, bulletin())(
      { memberId: member.memberId, email: member.to, name, chosenAt: at },
      { unsubscribe: links.unsubscribe(member.memberId, topic.id, 42), manage: manageUrl },
    ),
  bulletinTestEmail: (ctx) => bulletinTestEmail(ctx, bulletin(), 'editor@example-society.org', at),
  preferencesChangedEmail: (ctx) =>
    preferencesChangedEmail(ctx, {
      ...member,
      name,
      changes: [
        { topic: { ...topic, kind: 'newsletter' }, from: null, to: 'opted_in' },
        {
          topic: { id: 8, slug: 'offers', name: 'Offers from Example Events Ltd', kind: 'third_party_offer' },
          from: 'opted_in',
          to: 'opted_out',
        },
      ] as never,
      manageUrl,
      how: 'on your preferences page, from a link we e-mailed you',
    }),
  inquiryReplyEmail: (ctx) =>
    inquiryReplyEmail(ctx, { to: member.to, body: 'Thank you for asking.\n\nWe hold your name and address only.', asked: at }),
  passwordSetEmail: (ctx) => passwordSetEmail(ctx, { ...member, name, changed: true, manageUrl }),
  passwordRemovedEmail: (ctx) => passwordRemovedEmail(ctx, { ...member, name, manageUrl }),
  dataLinkEmail: (ctx) => dataLinkEmail(ctx, { ...member, name, url: action('/l/data'), minutes: 30, manageUrl }),
  detailsChangedEmail: (ctx) =>
    detailsChangedEmail(ctx, {
      ...member,
      name,
      changes: [
        { field: 'name', from: 'Max Longname', to: name },
        { field: 'postal_address', from: null, to: 'x' },
      ],
      manageUrl,
    }),
  verifyNewEmail: (ctx) => verifyNewEmail(ctx, { ...member, url: action('/l/email'), minutes: 60 }),
  emailInUseEmail: (ctx) => emailInUseEmail(ctx, { to: member.to }),
  emailChangeRequestedEmail: (ctx) => emailChangeRequestedEmail(ctx, { ...member, name, newEmail: 'new.address@example.org', minutes: 60 }),
  emailChangedEmail: (ctx) => emailChangedEmail(ctx, { ...member, name, oldEmail: 'old.address@example.org', manageUrl }),
  emailChangedNoticeEmail: (ctx) => emailChangedNoticeEmail(ctx, { ...member, name, newEmail: 'new.address@example.org' }),
  alreadyMemberEmail: (ctx) => alreadyMemberEmail(ctx, { ...member, name, manageUrl }),
  preferencesLinkEmail: (ctx) => preferencesLinkEmail(ctx, { ...member, name, manageUrl }),
  signupConfirmEmail: (ctx) =>
    signupConfirmEmail(ctx, {
      to: member.to,
      chosen: [topic.name, 'Offers from Example Events Ltd'],
      url: action('/join/confirm'),
      expiryHours: 48,
    }),
  welcomeEmail: (ctx) => welcomeEmail(ctx, { ...member, name, chosen: [topic.name], manageUrl }),
  signInLinkEmail: (ctx) => signInLinkEmail(ctx, { ...member, name, url: action('/signin/link'), minutes: 15, manageUrl }),
  policyNoticeEmail: (ctx) =>
    policyNoticeEmail(ctx, {
      ...member,
      memberName: name,
      version: '2.0',
      title: 'Privacy statement',
      summary: 'We add offers from partners, which nobody receives unless they choose them.',
      effectiveAt: at,
      introducesNewUse: true,
      manageUrl,
      unsubscribe,
    }),
  policyNoticeTestEmail: (ctx) =>
    policyNoticeTestEmail(ctx, 'editor@example-society.org', {
      version: '2.0',
      title: 'Privacy statement',
      summary: 'We add offers from partners.',
      effectiveAt: at,
      introducesNewUse: true,
    }),
  removalCompletedEmail: (ctx) => removalCompletedEmail(ctx, { ...member, name, completedAt: at, partners: ['Example Mutual'] }),
  removalHeldEmail: (ctx) => removalHeldEmail(ctx, { ...member, name, manageUrl }),
  removalReleasedEmail: (ctx) =>
    removalReleasedEmail(ctx, { ...member, name, manageUrl, dueAt: at, now: new Date('2026-07-01T00:00:00Z') }),
  removalConfirmEmail: (ctx) =>
    removalConfirmEmail(ctx, { ...member, name, manageUrl, url: action('/l/removal'), minutes: 60, graceDays: 30 }),
  removalConfirmedEmail: (ctx) => removalConfirmedEmail(ctx, { ...member, name, manageUrl, dueAt: at }),
  removalCancelledEmail: (ctx) => removalCancelledEmail(ctx, { ...member, name, manageUrl, dueAt: at }),
};

/** Exports of *.emails.ts that build no message: the parts and helpers of builders. */
export const NOT_BUILDERS = new Set([
  'renderBulletinBody',
  'INVITATION_KIND',
  'listIdHeader',
  'bulletinMessageId',
  'SAMPLE_MEMBER',
  'sampleLinks',
  'bulletinPreview',
  'describeChange',
  'describeDetailsChange',
  'REMOVAL_MEANS',
  'formatRemovalDate',
  'graceText',
  'greeting',
]);

/** A PNG of one colour (a logo for tests), made with zlib: no image library needed. */
export function solidPng(width: number, height: number, rgb: [number, number, number]): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => rgb).flat())]);
  const pixels = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(pixels)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
