import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/db.js';
import { policyNoticeEmail } from '../../src/policies/policies.emails.js';
import type { BuiltEmail, MailContext } from '../../src/mail/email.js';
import { insertEmailMessage } from '../../src/mail/outbox.repository.js';

export const mailCtx: MailContext = {
  orgName: 'Test Society',
  baseUrl: 'http://assent.test',
  privacyContact: 'privacy@assent.test',
  timeZone: 'UTC',
  brand: { colour: '#2f5d50', inlineLogo: false },
};

/** A real non-transactional message (the policy notice) addressed to a member. */
export function sampleNotice(to: string, memberId: string, over: Partial<BuiltEmail> = {}): BuiltEmail {
  const token = 'eyJwIjoidW5zdWJzY3JpYmUifQ.kid12345.' + 'm'.repeat(43);
  return {
    ...policyNoticeEmail(mailCtx, {
      to,
      memberId,
      memberName: 'Ada',
      version: '2.0',
      title: 'Privacy statement',
      summary: 'We add a partner offer.',
      effectiveAt: new Date('2026-12-24T00:00:00Z'),
      introducesNewUse: true,
      manageUrl: 'http://assent.test/manage/link-token',
      unsubscribe: { url: `http://assent.test/unsubscribe/${token}`, token },
    }),
    ...over,
  };
}

/** An outbox row alone, without a send job: the test adds the job, or runs or reads the send itself. */
export async function insertQueuedRow(db: Db, recipient: string, subject: string, memberId: string | null = null): Promise<string> {
  const id = randomUUID();
  await insertEmailMessage(db, {
    id,
    kind: 'details_changed',
    recipient,
    member_id: memberId,
    topic_id: null,
    message_id: `<${id}@assent.test>`,
    subject,
    text_body: 'x',
    html_body: '<p>x</p>',
    headers: {},
  });
  return id;
}
