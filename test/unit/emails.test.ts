import { describe, expect, it } from '@jest/globals';
import { failedSignInsEmail, recoveryCodeUsedEmail, twoFactorResetEmail } from '../../src/auth/sign-in.emails.js';
import { signInLinkEmail } from '../../src/members/signin.emails.js';
import { preferencesChangedEmail } from '../../src/consent/consent.emails.js';
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
import { alreadyMemberEmail, signupConfirmEmail, welcomeEmail } from '../../src/members/join.emails.js';
import { policyNoticeEmail } from '../../src/policies/policies.emails.js';
import { removalCompletedEmail, removalHeldEmail, removalReleasedEmail } from '../../src/removal/erasure.emails.js';
import { removalCancelledEmail, removalConfirmedEmail, removalConfirmEmail } from '../../src/removal/removal.emails.js';

/**
 * E-mail builders are pure functions (DESIGN rule 8): the same data gives the same message, time
 * is an argument, and only non-transactional mail carries the unsubscribe headers (C4).
 */
const ctx: MailContext = {
  orgName: 'Test Society',
  baseUrl: 'https://members.example',
  privacyContact: 'privacy@example.org',
  timeZone: 'UTC',
  brand: { colour: '#2f5d50', inlineLogo: false },
};
const m = { to: 'ada@example.org', memberId: '0b9f3c1e-5d2a-4c7b-9e61-2f0a8d4b7c35', name: 'Ada Lovelace' };
const manageUrl = 'https://members.example/p/token';
const topic = { id: 1, slug: 'bulletin', name: 'Monthly bulletin', kind: 'newsletter' } as never;
const day = new Date('2026-12-24T10:00:00Z');

const transactional: [string, () => BuiltEmail][] = [
  ['failed sign-ins', () => failedSignInsEmail(ctx, { ...m, staff: false, count: 12 })],
  ['recovery code used', () => recoveryCodeUsedEmail(ctx, { to: m.to, name: m.name, left: 9 })],
  ['two-factor reset', () => twoFactorResetEmail(ctx, { to: m.to, name: m.name })],
  ['sign-in link', () => signInLinkEmail(ctx, { ...m, url: 'https://members.example/signin/x', minutes: 15, manageUrl })],
  [
    'preferences changed',
    () => preferencesChangedEmail(ctx, { ...m, changes: [{ topic, from: null, to: 'opted_in' }], manageUrl, how: 'on the web' }),
  ],
  ['password set', () => passwordSetEmail(ctx, { ...m, changed: false, manageUrl })],
  ['password removed', () => passwordRemovedEmail(ctx, { ...m, manageUrl })],
  ['data link', () => dataLinkEmail(ctx, { ...m, url: 'https://members.example/l/data/x', minutes: 30, manageUrl })],
  ['details changed', () => detailsChangedEmail(ctx, { ...m, changes: [{ field: 'phone', from: null, to: '123' }], manageUrl })],
  [
    'verify new e-mail',
    () => verifyNewEmail(ctx, { to: 'new@example.org', memberId: m.memberId, url: 'https://members.example/l/email/x', minutes: 60 }),
  ],
  ['e-mail in use', () => emailInUseEmail(ctx, { to: 'taken@example.org' })],
  ['e-mail change requested', () => emailChangeRequestedEmail(ctx, { ...m, newEmail: 'new@example.org', minutes: 60 })],
  ['e-mail changed', () => emailChangedEmail(ctx, { ...m, to: 'new@example.org', oldEmail: m.to, manageUrl })],
  ['e-mail changed notice', () => emailChangedNoticeEmail(ctx, { ...m, newEmail: 'new@example.org' })],
  ['already a member', () => alreadyMemberEmail(ctx, { ...m, manageUrl })],
  [
    'sign-up confirmation',
    () =>
      signupConfirmEmail(ctx, { to: m.to, chosen: ['Monthly bulletin'], url: 'https://members.example/join/confirm/x', expiryHours: 48 }),
  ],
  ['welcome', () => welcomeEmail(ctx, { ...m, chosen: ['Monthly bulletin'], manageUrl })],
  ['removal completed', () => removalCompletedEmail(ctx, { ...m, completedAt: day, partners: ['Acme'] })],
  ['removal held', () => removalHeldEmail(ctx, { ...m, manageUrl })],
  ['removal released', () => removalReleasedEmail(ctx, { ...m, manageUrl, dueAt: day, now: day })],
  [
    'removal confirm',
    () => removalConfirmEmail(ctx, { ...m, manageUrl, url: 'https://members.example/l/removal/x', minutes: 60, graceDays: 30 }),
  ],
  ['removal confirmed', () => removalConfirmedEmail(ctx, { ...m, manageUrl, dueAt: day })],
  ['removal cancelled', () => removalCancelledEmail(ctx, { ...m, manageUrl, dueAt: null })],
];

const notice = () =>
  policyNoticeEmail(ctx, {
    to: m.to,
    memberId: m.memberId,
    memberName: m.name,
    version: '2.0',
    title: 'Privacy statement',
    summary: 'What changes.',
    effectiveAt: day,
    introducesNewUse: true,
    manageUrl,
    unsubscribe: { url: 'https://members.example/unsubscribe/tok', token: 'tok' },
  });

describe('e-mail builders', () => {
  it.each(transactional)(
    '%s: a complete transactional message, the same for the same data, without unsubscribe headers',
    (_label, build) => {
      const a = build();
      expect(a).toEqual(build());
      expect([a.kind.length > 0, a.subject.startsWith('Test Society: '), a.text.length > 20, a.html.includes('<html')]).toEqual([
        true,
        true,
        true,
        true,
      ]);
      expect(a.headers).toEqual({});
      expect(a.topicId).toBeNull();
    },
  );

  it('C4: the policy notice is bulk mail: one-line List-Unsubscribe with an https URI and a mailto, and List-Unsubscribe-Post', () => {
    const n = notice();
    expect(n).toEqual(notice());
    expect(n.headers['List-Unsubscribe']).toBe(
      '<https://members.example/unsubscribe/tok>, <mailto:privacy@example.org?subject=unsubscribe%20tok>',
    );
    expect(n.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    expect(n.text).toContain('https://members.example/unsubscribe/tok');
    expect(n.subject).toBe('Test Society: our privacy policy changes on 24 December 2026');
  });

  it('C15: mail to an address not yet confirmed greets nobody by name', () => {
    for (const e of [
      signupConfirmEmail(ctx, { to: 'x@example.org', chosen: [], url: 'https://members.example/join/confirm/x', expiryHours: 48 }),
      verifyNewEmail(ctx, { to: 'x@example.org', memberId: m.memberId, url: 'https://members.example/l/email/x', minutes: 60 }),
      emailInUseEmail(ctx, { to: 'x@example.org' }),
      // A question from /contact: the name in it was typed by whoever sent the form (C12).
      inquiryReplyEmail(ctx, { ...m, body: 'We hold nothing about you.', asked: day }),
    ])
      expect([e.kind, e.text.includes('Ada'), e.html.includes('Ada'), e.subject.includes('Ada'), e.text.startsWith('Hello,')]).toEqual([
        e.kind,
        false,
        false,
        false,
        true,
      ]);
  });

  it('time is an argument: a release due already says "within the next hour", a later one gives its date', () => {
    const now = new Date('2026-12-01T00:00:00Z');
    expect(removalReleasedEmail(ctx, { ...m, manageUrl, dueAt: new Date('2026-11-30T00:00:00Z'), now }).text).toContain(
      'within the next hour',
    );
    expect(removalReleasedEmail(ctx, { ...m, manageUrl, dueAt: day, now }).text).toContain('on 24 December 2026');
  });
});
