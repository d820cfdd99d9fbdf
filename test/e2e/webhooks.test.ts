import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config.js';
import { setPreferences } from '../../src/consent/consent.service.js';
import { makeServiceContext, type ServiceContext } from '../../src/context.js';
import { deliverOnce, postSigned } from '../../src/integrations/webhooks.deliver.js';
import { updateDetails } from '../../src/members/details.service.js';
import { startTestContext, TEST_SECRET, type TestContext } from '../helpers/app.js';
import { insertMember, insertPolicy, insertTopic } from '../helpers/fixtures.js';
import { waitFor } from '../helpers/jobs.js';
import { csrfFrom } from '../helpers/session.js';
import { signedInStaff, type Agent } from '../helpers/staff.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

let ctx: TestContext;
let svc: ServiceContext;
let admin: { id: string; agent: Agent };
let receiver: WebhookReceiver;
let endpointId: number;
let topicId: number;
let memberId: string;

// Retries one second apart, so an outage of several attempts passes in seconds (the real schedule is unit-tested).
beforeAll(async () => {
  ctx = await startTestContext({ WEBHOOK_RETRY_SCHEDULE: '1,1,1,1,1,1,1', MAIL_MAX_ATTEMPTS: '1' });
  svc = makeServiceContext(ctx.config, ctx.db);
  admin = await signedInStaff(ctx, 'hooks-admin@example.org', 'admin');
  receiver = await startWebhookReceiver();
  const policyId = await insertPolicy(ctx.db, { version: '2026-01' });
  topicId = await insertTopic(ctx.db, { slug: 'news', kind: 'newsletter', policyId });
  memberId = await insertMember(ctx.db, 'grace@example.org', 'Grace Hopper');
});
afterAll(async () => {
  await receiver.close();
  await ctx.close();
});

const deliveriesOf = (id: number) => ctx.db('webhook_deliveries').where({ endpoint_id: id }).orderBy('id');

async function addEndpoint(agent: Agent, url: string, events: string[], status: number) {
  const _csrf = await csrfFrom(agent, '/admin/webhooks/new');
  return agent.post('/admin/webhooks').type('form').send({ _csrf, url, description: 'CRM', events }).expect(status);
}

describe('outgoing webhooks', () => {
  it('an admin adds an endpoint; its secret is shown once; other roles cannot open the screens', async () => {
    const res = await addEndpoint(admin.agent, receiver.url, ['consent.changed', 'member.updated', 'policy.published'], 303);
    const location = String(res.headers.location);
    expect(location).toMatch(/^\/admin\/webhooks\/\d+$/);
    endpointId = Number(location.split('/').pop());
    const page = await admin.agent.get(location).expect(200);
    const secret = /<code id="webhook-secret">(whsec_[A-Za-z0-9+/=]+)<\/code>/.exec(page.text)?.[1];
    expect(secret).toBeDefined();
    receiver.secret = secret;
    const again = await admin.agent.get(location).expect(200);
    expect(again.text).not.toContain(secret!);
    expect(again.text).not.toContain('webhook-secret');

    const support = await signedInStaff(ctx, 'hooks-support@example.org', 'support');
    await support.agent.get('/admin/webhooks').expect(403);
    await support.agent.get(location).expect(403);
    const audit = await ctx.db('audit_log').where({ action: 'webhook.created' }).first();
    expect(audit).toBeDefined();
  });

  it('refuses a form without events or with a URL that is not one, field by field, input kept', async () => {
    const _csrf = await csrfFrom(admin.agent, '/admin/webhooks/new');
    const res = await admin.agent
      .post('/admin/webhooks')
      .type('form')
      .send({ _csrf, url: 'not a url', description: 'kept words' })
      .expect(422);
    expect(res.text).toContain('Enter a full URL starting with https://');
    expect(res.text).toContain('Choose at least one event.');
    expect(res.text).toContain('kept words');
  });

  it('each event reaches the receiver exactly once, signed, after an outage of several attempts', async () => {
    receiver.failNext = 4;
    await setPreferences(svc, { memberId, optedIn: [topicId], source: 'member_web', channel: 'web' });
    await updateDetails(svc, memberId, { name: 'Grace B. Hopper', postal_address: null, phone: '+1 555 0100' });
    await ctx.startWorker();
    await waitFor(async () => receiver.events.length >= 2 && receiver.failNext === 0, 'both events to arrive', 30000);
    const rows = await waitFor(
      async () => {
        const r = await deliveriesOf(endpointId);
        return r.every((d: { status: string }) => d.status === 'delivered') && r;
      },
      'the deliveries to be recorded delivered',
      15000,
    );
    await new Promise((r) => setTimeout(r, 2500));
    await ctx.stopWorker();

    expect(receiver.refusedSignatures).toBe(0);
    expect(receiver.requests).toBe(6);
    expect(receiver.events.map((e) => e.type).sort()).toEqual(['consent.changed', 'member.updated']);
    expect(new Set(receiver.events.map((e) => e.id)).size).toBe(2);
    const consent = receiver.events.find((e) => e.type === 'consent.changed')!;
    expect(consent.data).toEqual({
      member_id: memberId,
      source: 'member_web',
      channel: 'web',
      changes: [{ topic: 'news', from: 'opted_out', to: 'opted_in' }],
    });
    // Names of the changed fields, never their values.
    const updated = receiver.events.find((e) => e.type === 'member.updated')!;
    expect(updated.data).toEqual({ member_id: memberId, fields: ['name', 'phone'] });
    expect(JSON.stringify(receiver.events)).not.toContain('Hopper');
    expect(rows.reduce((n: number, d: { attempts: number }) => n + d.attempts, 0)).toBe(6);
  }, 60000);

  it('an event is not recorded, nor sent, when the change it reports is rolled back', async () => {
    const before = Number(((await ctx.db('webhook_events').count({ n: '*' }).first()) as { n: number }).n);
    await expect(
      ctx.db.transaction(async (trx) => {
        await setPreferences(svc, { memberId, optedIn: [], source: 'member_web', channel: 'web' }, trx);
        expect(Number(((await trx('webhook_events').count({ n: '*' }).first()) as { n: number }).n)).toBe(before + 1);
        throw new Error('the change fails after the event was written');
      }),
    ).rejects.toThrow('the change fails');
    expect(Number(((await ctx.db('webhook_events').count({ n: '*' }).first()) as { n: number }).n)).toBe(before);
    expect(await ctx.db('consents').where({ member_id: memberId, topic_id: topicId }).first('status')).toEqual({ status: 'opted_in' });
  });

  it('the delivery log shows status, answer, attempts; resend delivers the event again', async () => {
    const page = await admin.agent.get(`/admin/webhooks/${endpointId}`).expect(200);
    expect(page.text).toContain('consent.changed');
    expect(page.text).toContain('Delivered');
    const [first] = (await deliveriesOf(endpointId)) as { id: number; event_id: string }[];
    expect(page.text).toContain(`/admin/webhooks/deliveries/${first!.id}/resend`);
    const _csrf = await csrfFrom(admin.agent, `/admin/webhooks/${endpointId}`);
    await admin.agent
      .post(`/admin/webhooks/deliveries/${first!.id}/resend`)
      .type('form')
      .send({ _csrf })
      .expect(303)
      .expect('Location', `/admin/webhooks/${endpointId}?resent`);
    const n = receiver.events.length;
    await ctx.startWorker();
    await waitFor(async () => receiver.events.length > n, 'the resent event');
    await ctx.stopWorker();
    expect(receiver.events.at(-1)!.id).toBe(first!.event_id);
    expect(await ctx.db('audit_log').where({ action: 'webhook.resent' }).first()).toBeDefined();
  });

  it('an endpoint failing for 3 days is disabled and every admin is told by e-mail', async () => {
    await ctx
      .db('webhook_endpoints')
      .where({ id: endpointId })
      .update({ failing_since: ctx.db.raw(`now() - interval '73 hours'`) });
    receiver.failNext = 1;
    await setPreferences(svc, { memberId, optedIn: [], source: 'member_web', channel: 'web' });
    await ctx.startWorker();
    const mail = await waitFor(
      async () =>
        ctx.smtp.messages.find((m) => m.envelopeTo.includes('hooks-admin@example.org') && /disabled/.test(m.parsed.subject ?? '')),
      'the admin to be told',
      20000,
    );
    await ctx.stopWorker();
    expect(mail.parsed.text).toContain(receiver.url);
    const endpoint = await ctx.db('webhook_endpoints').where({ id: endpointId }).first();
    expect(endpoint.enabled).toBe(false);
    expect(endpoint.disabled_reason).toContain('HTTP 503');
    expect(await ctx.db('webhook_deliveries').where({ endpoint_id: endpointId, status: 'pending' })).toHaveLength(0);
    // No more events are recorded for a disabled endpoint; an admin may enable it again.
    const page = await admin.agent.get(`/admin/webhooks/${endpointId}`).expect(200);
    expect(page.text).toContain('Disabled');
    const _csrf = await csrfFrom(admin.agent, `/admin/webhooks/${endpointId}`);
    await admin.agent.post(`/admin/webhooks/${endpointId}/enable`).type('form').send({ _csrf }).expect(303);
    expect((await ctx.db('webhook_endpoints').where({ id: endpointId }).first()).enabled).toBe(true);
  });
});

describe('deleting an endpoint', () => {
  it('asks first, then deletes the endpoint with its log (audited)', async () => {
    const _csrf = await csrfFrom(admin.agent, `/admin/webhooks/${endpointId}`);
    const ask = await admin.agent.post(`/admin/webhooks/${endpointId}/delete`).type('form').send({ _csrf }).expect(200);
    expect(ask.text).toContain(`Delete webhook endpoint ${endpointId}?`);
    expect(await ctx.db('webhook_endpoints').where({ id: endpointId })).toHaveLength(1);
    await admin.agent
      .post(`/admin/webhooks/${endpointId}/delete`)
      .type('form')
      .send({ _csrf, confirmed: 'yes' })
      .expect(303)
      .expect('Location', '/admin/webhooks?deleted');
    expect(await ctx.db('webhook_endpoints').where({ id: endpointId })).toHaveLength(0);
    expect(await ctx.db('webhook_deliveries').where({ endpoint_id: endpointId })).toHaveLength(0);
    expect(await ctx.db('audit_log').where({ action: 'webhook.deleted' })).toHaveLength(1);
  });
});

describe('SSRF: webhooks reach public addresses only (outside development and test)', () => {
  it('the flag that allows private targets is refused in production', () => {
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
        DATABASE_URL: 'postgres://x@db/x',
        SMTP_URL: 'smtp://mail',
        SECRET_KEYS: TEST_SECRET,
        BASE_URL: 'https://assent.example',
        ORG_ADDRESS: '1 Street',
      }),
    ).toThrow(/WEBHOOK_ALLOW_PRIVATE_TARGETS/);
  });

  describe('with private targets not allowed', () => {
    let strict: TestContext;
    let strictAdmin: { id: string; agent: Agent };
    beforeAll(async () => {
      strict = await startTestContext({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false' });
      strictAdmin = await signedInStaff(strict, 'strict-admin@example.org', 'admin');
    });
    afterAll(() => strict.close());

    it.each([
      ['http://127.0.0.1:8080/hook', 'loopback'],
      ['https://10.1.2.3/hook', 'private'],
      ['https://169.254.169.254/latest/meta-data', 'linkLocal'],
      ['https://[::1]/hook', 'loopback'],
      ['https://[::ffff:10.0.0.1]/hook', 'private'],
      ['http://localhost:8080/hook', 'loopback'],
    ])('refuses %s at creation (%s)', async (url, range) => {
      const res = await addEndpoint(strictAdmin.agent, url, ['member.erased'], 422);
      expect(res.text).toContain(`a ${range} address: webhooks go to public addresses only`);
      expect(await strict.db('webhook_endpoints')).toHaveLength(0);
    });

    it('refuses at delivery time too: an endpoint saved while allowed is not connected to', async () => {
      const before = receiver.requests;
      const result = await postSigned(
        { url: receiver.url, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
        { id: 'msg_test', body: '{}', at: new Date() },
        { allowPrivate: false, timeoutMs: 2000 },
      );
      expect(result).toEqual({ ok: false, code: null, error: expect.stringContaining('loopback address') as unknown as string });

      // Through the worker's own path: the delivery fails with the reason and nothing reaches the receiver.
      const [row] = (await strict
        .db('webhook_endpoints')
        .insert({ url: receiver.url, events: ['member.erased'], secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' })
        .returning('id')) as { id: number }[];
      await strict.db('webhook_events').insert({ id: 'msg_ssrf', type: 'member.erased', payload: JSON.stringify({}) });
      const [d] = (await strict.db('webhook_deliveries').insert({ event_id: 'msg_ssrf', endpoint_id: row!.id }).returning('id')) as {
        id: number;
      }[];
      const strictSvc = makeServiceContext(strict.config, strict.db);
      await deliverOnce(strictSvc, d!.id, strict.logger);
      const delivery = await strict.db('webhook_deliveries').where({ id: d!.id }).first();
      expect(delivery.attempts).toBe(1);
      expect(delivery.last_error).toContain('loopback address');
      expect(receiver.requests).toBe(before);
    });
  });
});
