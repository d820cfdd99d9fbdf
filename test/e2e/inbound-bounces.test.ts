import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { confirmSend, createBulletin } from '../../src/bulletins/bulletins.service.js';
import { bulletinCounts } from '../../src/bulletins/bulletins.repository.js';
import { makeServiceContext } from '../../src/context.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { insertOptedInMembers, insertPolicy, insertTopic } from '../helpers/fixtures.js';
import { waitFor } from '../helpers/jobs.js';
import { startFakeSns, type FakeSns } from '../helpers/sns.js';
import { createStaff, signedInStaff, type Agent } from '../helpers/staff.js';

const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:assent-feedback';
const POSTMARK = { user: 'postmark-hooks', password: 'a long postmark webhook password' };

let ctx: TestContext;
let sns: FakeSns;
let admin: { id: string; agent: Agent };
let bulletinId: number;
let topicId: number;
let otherTopicId: number;
/** The bulletin's message per recipient address: its Message-ID and member. */
const sent = new Map<string, { messageId: string; memberId: string }>();

beforeAll(async () => {
  sns = await startFakeSns();
  ctx = await startTestContext({
    SES_SNS_TOPIC_ARNS: TOPIC_ARN,
    // Our own certificate is served from localhost; production keeps the AWS hosts only.
    SNS_CERT_HOST_PATTERN: '^localhost:\\d+$',
    POSTMARK_WEBHOOK_USER: POSTMARK.user,
    POSTMARK_WEBHOOK_PASSWORD: POSTMARK.password,
    SOFT_BOUNCE_LIMIT: '2',
  });
  const svc = makeServiceContext(ctx.config, ctx.db);
  admin = await signedInStaff(ctx, 'bounce-admin@example.org', 'admin');
  const policyId = await insertPolicy(ctx.db, { version: '1.0' });
  topicId = await insertTopic(ctx.db, { slug: 'feedback-news', kind: 'newsletter', policyId });
  otherTopicId = await insertTopic(ctx.db, { slug: 'feedback-announce', kind: 'announcement', policyId });
  await insertOptedInMembers(ctx.db, { count: 5, topicId, policyId, prefix: 'reader', domain: 'example.com' });
  // reader2 is opted in to a second topic too: a complaint opts them out of both.
  const reader2 = (await ctx.db('members').where({ email: 'reader2@example.com' }).first('id')) as { id: string };
  await ctx.db.raw(
    `WITH ev AS (INSERT INTO consent_ledger (member_id, topic_id, to_status, source, channel, policy_version_id)
       VALUES (?, ?, 'opted_in', 'signup', 'web', ?) RETURNING id)
     INSERT INTO consents (member_id, topic_id, status, policy_version_id, last_event_id) SELECT ?, ?, 'opted_in', ?, id FROM ev`,
    [reader2.id, otherTopicId, policyId, reader2.id, otherTopicId, policyId],
  );
  const editor = await createStaff(ctx, 'bounce-editor@example.org', 'editor');
  bulletinId = await createBulletin(svc, editor, {
    topic_id: topicId,
    subject: 'Feedback test',
    preheader: '',
    body: 'Hello.',
    web_version: false,
  });
  await ctx.startWorker();
  await confirmSend(svc, editor, bulletinId, { when: 'now', at: undefined, audience: 5 });
  await ctx.smtp.waitForCount(5, 20000);
  await waitFor(async () => (await bulletinCounts(ctx.db, bulletinId)).sent === 5, 'the bulletin to be sent', 20000);
  const rows = (await ctx.db('email_messages').where({ kind: 'bulletin' }).select('recipient', 'message_id', 'member_id')) as {
    recipient: string;
    message_id: string;
    member_id: string;
  }[];
  for (const r of rows) sent.set(r.recipient, { messageId: r.message_id, memberId: r.member_id });
}, 60000);
afterAll(async () => {
  await ctx.close();
  await sns.close();
});

const member = (email: string) => ctx.db('members').where({ email }).first();
const stripBrackets = (id: string) => id.replace(/^<|>$/g, '');

/** An SES notification (the shape of the AWS documentation's examples) for one of the bulletin's messages. */
function sesMail(to: string) {
  const messageId = stripBrackets(sent.get(to)!.messageId);
  return {
    timestamp: '2026-11-29T14:59:38.237Z',
    source: 'no-reply@assent.test',
    sourceArn: 'arn:aws:ses:us-east-1:123456789012:identity/assent.test',
    sourceIp: '127.0.3.0',
    sendingAccountId: '123456789012',
    messageId: '00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000',
    destination: [to],
    headersTruncated: false,
    headers: [
      { name: 'From', value: '"Test Society" <no-reply@assent.test>' },
      { name: 'To', value: to },
      { name: 'Subject', value: 'Feedback test' },
      { name: 'Message-ID', value: `<${messageId}>` },
      { name: 'Content-Type', value: 'text/plain; charset=UTF-8' },
    ],
    commonHeaders: {
      from: ['"Test Society" <no-reply@assent.test>'],
      date: 'Sun, 29 Nov 2026 14:59:37 +0000',
      to: [to],
      messageId: `<${messageId}>`,
      subject: 'Feedback test',
    },
  };
}

function sesBounce(to: string, bounceType: 'Permanent' | 'Transient', feedbackId: string) {
  return {
    notificationType: 'Bounce',
    bounce: {
      bounceType,
      reportingMTA: 'dns; email.example.com',
      bouncedRecipients: [{ emailAddress: to, status: '5.1.1', action: 'failed', diagnosticCode: `smtp; 550 5.1.1 <${to}>... User` }],
      bounceSubType: 'General',
      timestamp: '2026-11-29T14:59:38.237Z',
      feedbackId,
      remoteMtaIp: '127.0.2.0',
    },
    mail: sesMail(to),
  };
}

function sesComplaint(to: string, feedbackId: string) {
  return {
    notificationType: 'Complaint',
    complaint: {
      userAgent: 'AnyCompany Feedback Loop (V0.01)',
      complainedRecipients: [{ emailAddress: to }],
      complaintFeedbackType: 'abuse',
      arrivalDate: '2026-11-29T15:00:10.000Z',
      timestamp: '2026-11-29T15:00:10.000Z',
      feedbackId,
    },
    mail: sesMail(to),
  };
}

function snsNotification(message: unknown, id: string) {
  return sns.sign({
    Type: 'Notification',
    MessageId: id,
    TopicArn: TOPIC_ARN,
    Message: JSON.stringify(message),
    Timestamp: '2026-11-29T15:00:11.000Z',
    UnsubscribeURL: `${sns.origin}/unsubscribe`,
  });
}

// SNS posts JSON with Content-Type text/plain.
const postSns = (body: unknown) =>
  request(ctx.http).post('/inbound/ses').set('Content-Type', 'text/plain; charset=UTF-8').send(JSON.stringify(body));

describe('Amazon SES through SNS', () => {
  it('confirms the SNS subscription of an allowed topic, after checking its signature', async () => {
    const message = sns.sign({
      Type: 'SubscriptionConfirmation',
      MessageId: '165545c9-2a5c-472c-8df2-7ff2be2b3b1b',
      Token: 'token-1234',
      TopicArn: TOPIC_ARN,
      Message: `You have chosen to subscribe to the topic ${TOPIC_ARN}.`,
      SubscribeURL: `${sns.origin}/confirm?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(TOPIC_ARN)}&Token=token-1234`,
      Timestamp: '2026-11-29T14:00:00.000Z',
    });
    await postSns(message).expect(200);
    expect(sns.confirmations).toHaveLength(1);
    expect(sns.confirmations[0]).toContain('Token=token-1234');
  });

  it('refuses a message whose signature does not verify, from another topic, or with its certificate elsewhere', async () => {
    const good = snsNotification(sesBounce('reader5@example.com', 'Permanent', 'forged-1'), 'm-forged');
    await postSns({ ...good, Message: good.Message!.replace('Permanent', 'Permanent ') }).expect(403);
    await postSns({ ...good, TopicArn: 'arn:aws:sns:us-east-1:999999999999:other' }).expect(403);
    await postSns({ ...good, SigningCertURL: 'https://evil.example/SimpleNotificationService-x.pem' }).expect(403);
    await postSns('not json at all').expect(400);
    expect(await ctx.db('mail_feedback')).toHaveLength(0);
    expect((await member('reader5@example.com')).email_undeliverable_at).toBeNull();
  });

  it('C12, C6, C3: a hard bounce marks the address undeliverable and counts on the bulletin it answered; a repeat changes nothing', async () => {
    const body = snsNotification(
      sesBounce('reader1@example.com', 'Permanent', '00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000001'),
      'm-bounce-1',
    );
    await postSns(body).expect(200);
    await postSns(body).expect(200);
    const m = await member('reader1@example.com');
    expect(m.email_undeliverable_at).not.toBeNull();
    expect(await ctx.db('mail_feedback').where({ member_id: m.id })).toHaveLength(1);
    const counts = await bulletinCounts(ctx.db, bulletinId);
    expect(counts.bounced_after_sending).toBe(1);
    // Audiences leave the address out from now on (C12): it is not in the CSV export of the topic.
    const csv = await admin.agent.get(`/admin/audiences/${topicId}/csv`).expect(200);
    expect(csv.text).not.toContain('reader1@example.com');
    expect(csv.text).toContain('reader3@example.com');
  });

  it('C14: a complaint opts the member out of every topic (ledger source complaint) and mails them the confirmation; staff see a note', async () => {
    await postSns(
      snsNotification(sesComplaint('reader2@example.com', '0000013786031775-163e3910-53eb-4c8e-a04a-f29debf88a84-000001'), 'm-complaint-1'),
    ).expect(200);
    const m = await member('reader2@example.com');
    const consents = (await ctx.db('consents').where({ member_id: m.id }).select('topic_id', 'status')) as {
      topic_id: number;
      status: string;
    }[];
    expect(consents.sort((a, b) => a.topic_id - b.topic_id)).toEqual([
      { topic_id: topicId, status: 'opted_out' },
      { topic_id: otherTopicId, status: 'opted_out' },
    ]);
    const ledger = await ctx.db('consent_ledger').where({ member_id: m.id, source: 'complaint' });
    expect(ledger).toHaveLength(2);
    expect(ledger.every((e: { channel: string; to_status: string }) => e.channel === 'email' && e.to_status === 'opted_out')).toBe(true);
    const confirmation = await ctx.smtp.waitFor(
      (msg) => msg.envelopeTo.includes('reader2@example.com') && /spam/.test(msg.parsed.text ?? ''),
      15000,
    );
    expect(confirmation.parsed.text).toContain('feedback-news');
    expect((await bulletinCounts(ctx.db, bulletinId)).complaints).toBe(1);

    const page = await admin.agent.get(`/admin/members/${m.id}`).expect(200);
    expect(page.text).toContain('Spam complaint');
    expect(page.text).toContain('The member was opted out of every topic');
    expect(page.text).toContain('Spam complaint, reported by the sending service');
  });

  it('the database refuses an opt-in with source complaint', async () => {
    const m = await member('reader4@example.com');
    const policy = (await ctx.db('policy_versions').first('id')) as { id: number };
    await expect(
      ctx.db('consent_ledger').insert({
        member_id: m.id,
        topic_id: otherTopicId,
        to_status: 'opted_in',
        source: 'complaint',
        channel: 'email',
        policy_version_id: policy.id,
      }),
    ).rejects.toThrow(/consent_ledger_complaint_only_opts_out/);
  });
});

describe('Postmark', () => {
  const postmark = (body: unknown, auth = POSTMARK) =>
    request(ctx.http)
      .post('/inbound/postmark')
      .auth(auth.user, auth.password)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(body));

  /** The shape of Postmark's bounce webhook (its documentation's example), for one of our messages. */
  function postmarkBounce(to: string, type: string, id: number) {
    return {
      RecordType: 'Bounce',
      MessageStream: 'outbound',
      ID: id,
      Type: type,
      TypeCode: type === 'HardBounce' ? 1 : 4096,
      Name: type === 'HardBounce' ? 'Hard bounce' : 'Soft bounce/Undeliverable',
      Tag: 'bulletin',
      MessageID: '883953f4-6105-42a2-a16a-77a8eac79483',
      Metadata: {},
      ServerID: 23,
      Description: 'The server was unable to deliver your message (ex: unknown user, mailbox not found).',
      Details: 'smtp;550 5.1.1 The email account that you tried to reach does not exist.',
      Email: to,
      From: 'no-reply@assent.test',
      BouncedAt: '2026-11-29T16:33:54.9070259Z',
      DumpAvailable: true,
      Inactive: type === 'HardBounce',
      CanActivate: true,
      Subject: 'Feedback test',
      Content: `Return-Path: <>\r\nMessage-ID: ${sent.get(to)?.messageId ?? '<unknown@assent.test>'}\r\nSubject: Feedback test\r\n\r\nHello.`,
    };
  }

  it('refuses a request without the configured credentials', async () => {
    await request(ctx.http).post('/inbound/postmark').send({ RecordType: 'Bounce' }).expect(401).expect('WWW-Authenticate', /Basic/);
    await postmark(postmarkBounce('reader3@example.com', 'HardBounce', 1), { user: POSTMARK.user, password: 'wrong' }).expect(401);
    expect((await member('reader3@example.com')).email_undeliverable_at).toBeNull();
  });

  it('C12: soft bounces are counted; the configured number in a row marks the address undeliverable; a delivery resets the count', async () => {
    await postmark(postmarkBounce('reader3@example.com', 'SoftBounce', 101)).expect(200);
    expect((await member('reader3@example.com')).soft_bounces_in_row).toBe(1);
    await postmark({
      RecordType: 'Delivery',
      ServerID: 23,
      MessageStream: 'outbound',
      MessageID: 'd-1',
      Recipient: 'reader3@example.com',
      Tag: '',
      DeliveredAt: '2026-11-29T16:40:00Z',
      Details: 'Test delivery webhook details',
      Metadata: {},
    }).expect(200);
    expect((await member('reader3@example.com')).soft_bounces_in_row).toBe(0);
    await postmark(postmarkBounce('reader3@example.com', 'SoftBounce', 102)).expect(200);
    expect((await member('reader3@example.com')).email_undeliverable_at).toBeNull();
    await postmark(postmarkBounce('reader3@example.com', 'Transient', 103)).expect(200);
    const m = await member('reader3@example.com');
    expect(m.soft_bounces_in_row).toBe(2);
    expect(m.email_undeliverable_at).not.toBeNull();
    expect((await bulletinCounts(ctx.db, bulletinId)).soft_bounced).toBe(1);
  });

  it('C12: a hard bounce marks the address undeliverable; staff see it on the member record', async () => {
    await postmark(postmarkBounce('reader4@example.com', 'HardBounce', 201)).expect(200);
    const m = await member('reader4@example.com');
    expect(m.email_undeliverable_at).not.toBeNull();
    expect((await bulletinCounts(ctx.db, bulletinId)).bounced_after_sending).toBe(2);
    const page = await admin.agent.get(`/admin/members/${m.id}`).expect(200);
    expect(page.text).toContain('Address undeliverable');
    expect(page.text).toContain('Bounced (permanent)');
    expect(page.text).toContain('Postmark');
  });

  it('C14: a spam complaint opts the member out, as with SES', async () => {
    await postmark({
      ...postmarkBounce('reader5@example.com', 'SpamComplaint', 301),
      RecordType: 'SpamComplaint',
      TypeCode: 512,
      Name: 'Spam complaint',
    }).expect(200);
    const m = await member('reader5@example.com');
    expect(await ctx.db('consents').where({ member_id: m.id, status: 'opted_in' })).toHaveLength(0);
    expect(await ctx.db('consent_ledger').where({ member_id: m.id, source: 'complaint' })).toHaveLength(1);
  });
});
