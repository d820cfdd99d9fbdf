import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeServiceContext, type ServiceContext } from '../../src/context.js';
import { confirmJoin } from '../../src/members/join.service.js';
import { insertPendingSignup } from '../../src/members/join.repository.js';
import { createPolicyDraft, publishPolicy } from '../../src/policies/versions.service.js';
import { carryOutRemovalNow } from '../../src/removal/erasure.service.js';
import { confirmRemovalRequest, openRemovalRequest } from '../../src/removal/removal.repository.js';
import { suppressReportedAddress } from '../../src/integrations/suppressions.service.js';
import { WEBHOOK_EVENT_TYPES } from '../../src/events/webhook-events.js';
import { enqueueEmail } from '../../src/mail/outbox.js';
import { pruneWebhookLog } from '../../src/integrations/webhooks.repository.js';
import { hashToken, newSecretToken } from '../../src/shared/secrets.js';
import { addressHash } from '../../src/shared/suppression.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { sampleNotice } from '../helpers/emails.js';
import { insertMember, insertPolicy, insertTopic } from '../helpers/fixtures.js';
import { waitFor } from '../helpers/jobs.js';
import { createStaff } from '../helpers/staff.js';

let ctx: TestContext;
let svc: ServiceContext;
let staffId: string;
let policyId: number;
let topicId: number;

beforeAll(async () => {
  ctx = await startTestContext();
  svc = makeServiceContext(ctx.config, ctx.db);
  staffId = await createStaff(ctx, 'events-admin@example.org', 'admin');
  policyId = await insertPolicy(ctx.db, { version: '1.0' });
  topicId = await insertTopic(ctx.db, { slug: 'events-news', kind: 'newsletter', policyId });
  await ctx
    .db('webhook_endpoints')
    .insert({ url: 'http://127.0.0.1:9/hooks', events: [...WEBHOOK_EVENT_TYPES], secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });
  // A disabled endpoint receives nothing.
  await ctx.db('webhook_endpoints').insert({
    url: 'http://127.0.0.1:9/off',
    events: [...WEBHOOK_EVENT_TYPES],
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    enabled: false,
  });
});
afterAll(() => ctx.close());

const eventsOf = async (type: string) =>
  (
    (await ctx.db('webhook_events').where({ type }).orderBy('created_at')) as {
      id: string;
      payload: { type: string; data: Record<string, unknown> };
    }[]
  ).map((e) => ({ ...e.payload, id: e.id }));

describe('webhook events are written by the services, in their transactions', () => {
  it('member.confirmed: a confirmed sign-up, with the topics chosen; one delivery for the enabled endpoint only, with its job', async () => {
    const token = newSecretToken();
    await insertPendingSignup(ctx.db, {
      email: 'ada@example.org',
      name: 'Ada',
      postal_address: null,
      phone: null,
      topic_ids: [topicId],
      policy_version_id: policyId,
      token_hash: hashToken(token),
      expiresInHours: 1,
    });
    const confirmed = await confirmJoin(svc, token);
    if (!('memberId' in confirmed)) throw new Error('the sign-up should have been confirmed');
    const { memberId } = confirmed;
    const [event] = await eventsOf('member.confirmed');
    expect(event).toMatchObject({ type: 'member.confirmed', data: { member_id: memberId, topics: ['events-news'] } });
    const deliveries = await ctx.db('webhook_deliveries').where({ event_id: event!.id });
    expect(deliveries).toHaveLength(1);
    const { rows } = await ctx.db.raw(`SELECT key FROM graphile_worker.jobs WHERE task_identifier = 'deliver_webhook'`);
    expect(rows).toContainEqual({ key: `webhook:${deliveries[0].id}` });
    expect(JSON.stringify(event)).not.toContain('ada@example.org');
  });

  it('member.erased and suppression.added: the member id and the keyed hash the suppression list keeps, never the address', async () => {
    const member = (await ctx.db('members').where({ email: 'ada@example.org' }).first('id')) as { id: string };
    const request = await openRemovalRequest(ctx.db, member.id);
    await confirmRemovalRequest(ctx.db, request.id, member.id, 0);
    await carryOutRemovalNow(svc, request.id, staffId);
    const hash = addressHash('ada@example.org', svc.keys.suppression.write);
    expect(await ctx.db('suppression_list').where({ address_hash: hash })).toHaveLength(1);
    const [erased] = await eventsOf('member.erased');
    expect(erased!.data).toEqual({ member_id: member.id, address_hash: hash });
    const [suppressed] = await eventsOf('suppression.added');
    expect(suppressed!.data).toEqual({ address_hash: hash, reason: 'erased' });
    const all = JSON.stringify(await ctx.db('webhook_events').select('payload'));
    expect(all).not.toContain('ada@example.org');
  });

  it('suppression.added: an address the SMTP server refused for good (reason smtp_refused), and one another system reports', async () => {
    const memberId = await insertMember(ctx.db, 'gone@example.org', 'Gone');
    ctx.smtp.refuseAddress('gone@example.org');
    await ctx.db.transaction((trx) => enqueueEmail(trx, sampleNotice('gone@example.org', memberId), ctx.outbox));
    await ctx.startWorker();
    try {
      await waitFor(
        async () => (await ctx.db('email_messages').where({ recipient: 'gone@example.org' }).first())?.status === 'failed',
        'the refusal',
      );
    } finally {
      await ctx.stopWorker();
    }
    // A 5xx is final at once: one attempt, the address marked, and the event says so.
    expect(await ctx.db('email_messages').where({ recipient: 'gone@example.org' }).first('attempts', 'refused_permanently')).toEqual({
      attempts: 1,
      refused_permanently: true,
    });
    expect((await ctx.db('members').where({ id: memberId }).first()).email_undeliverable_at).toBeInstanceOf(Date);
    const refused = (await eventsOf('suppression.added')).filter((e) => e.data.reason === 'smtp_refused');
    expect(refused.map((e) => e.data)).toEqual([
      { address_hash: addressHash('gone@example.org', svc.keys.suppression.write), reason: 'smtp_refused', member_id: memberId },
    ]);

    // Reported by another system (the REST API): one event, however often it is reported.
    await suppressReportedAddress(svc, { email: 'Spam.Report@example.org', reason: 'complaint' });
    await suppressReportedAddress(svc, { email: 'spam.report@example.org', reason: 'complaint' });
    const reported = (await eventsOf('suppression.added')).filter((e) => e.data.reason === 'complaint');
    expect(reported.map((e) => e.data)).toEqual([
      { address_hash: addressHash('spam.report@example.org', svc.keys.suppression.write), reason: 'complaint' },
    ]);
  });

  it('policy.published: the version and when it takes effect', async () => {
    const draft = await createPolicyDraft(svc, staffId, {
      version: '2.0',
      title: 'New terms',
      summary: '',
      body: 'Text.',
      introduces_new_use: false,
    });
    const effective = new Date(Date.now() + 8 * 24 * 3600 * 1000);
    await publishPolicy(svc, staffId, draft.id, effective);
    const [event] = await eventsOf('policy.published');
    expect(event!.data).toMatchObject({
      policy_version_id: draft.id,
      version: '2.0',
      introduces_new_use: false,
      effective_at: effective.toISOString(),
    });
  });

  it('maintenance drops events older than the delivery log keeps, unless a delivery is still being tried', async () => {
    const endpoint = (await ctx.db('webhook_endpoints').where({ enabled: true }).first('id')) as { id: number };
    for (const [id, status] of [
      ['msg_old_done', 'failed'],
      ['msg_old_pending', 'pending'],
    ] as const) {
      await ctx
        .db('webhook_events')
        .insert({ id, type: 'member.updated', payload: JSON.stringify({}), created_at: ctx.db.raw(`now() - interval '31 days'`) });
      await ctx.db('webhook_deliveries').insert({ event_id: id, endpoint_id: endpoint.id, status });
    }
    expect(await pruneWebhookLog(ctx.db)).toBe(1);
    expect(await ctx.db('webhook_events').where({ id: 'msg_old_done' })).toHaveLength(0);
    expect(await ctx.db('webhook_deliveries').where({ event_id: 'msg_old_done' })).toHaveLength(0);
    expect(await ctx.db('webhook_events').where({ id: 'msg_old_pending' })).toHaveLength(1);
  });
});
