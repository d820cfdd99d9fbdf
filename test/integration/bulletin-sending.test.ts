import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeServiceContext, type ServiceContext } from '../../src/context.js';
import { bulletinProgress, confirmSend, controlSending, createBulletin, findBulletinOr404 } from '../../src/bulletins/bulletins.service.js';
import { randomUUID } from 'node:crypto';
import { findMessagesToSend, insertEmailMessages } from '../../src/mail/outbox.repository.js';
import { releaseWindow, takeSendSlot } from '../../src/mail/send-rate.js';
import { runDispatch, runSnapshotBatch } from '../../src/bulletins/sending.service.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { insertOptedInMembers, insertPolicy, insertTopic } from '../helpers/fixtures.js';
import { lockWaiters } from '../helpers/db.js';
import { twoRunsSideBySide, waitFor } from '../helpers/jobs.js';
import { createStaff } from '../helpers/staff.js';

/**
 * Sending under the shared rate limit, pausing, resuming, cancelling, scheduling and bounces,
 * with a real worker, real PostgreSQL and a real SMTP server. The rate here is 5 a second.
 */
const RATE = 5;
let ctx: TestContext;
let svc: ServiceContext;
let staffId: string;
let policyId: number;

beforeAll(async () => {
  ctx = await startTestContext({ SEND_RATE_PER_SECOND: String(RATE), MAIL_MAX_ATTEMPTS: '1' });
  svc = makeServiceContext(ctx.config, ctx.db);
  staffId = await createStaff(ctx, 'editor@example.org', 'editor');
  policyId = await insertPolicy(ctx.db, { version: '1.0' });
  await ctx.startWorker();
});
afterAll(() => ctx.close());

/** A topic with `count` opted-in members `<slug><n>@example.org`, and a draft bulletin to it. */
async function draftTo(slug: string, count: number): Promise<{ id: number; emails: string[] }> {
  const topicId = await insertTopic(ctx.db, { slug, kind: 'newsletter', policyId });
  await insertOptedInMembers(ctx.db, { count, topicId, policyId, prefix: slug, domain: 'example.org' });
  const id = await createBulletin(svc, staffId, {
    topic_id: topicId,
    subject: `About ${slug}`,
    preheader: '',
    body: 'Hello.',
    web_version: false,
  });
  return { id, emails: Array.from({ length: count }, (_, i) => `${slug}${i + 1}@example.org`) };
}

const received = (subject: string) => ctx.smtp.messages.filter((x) => x.parsed.subject === subject).flatMap((x) => x.envelopeTo);
const statusOf = async (id: number) => (await ctx.db('bulletins').where({ id }).first('status')).status as string;

describe('the send rate limit, kept in PostgreSQL for every worker', () => {
  it('no more than SEND_RATE_PER_SECOND bulletin messages go in any second, and the page expects the finish accordingly', async () => {
    const { id, emails } = await draftTo('paced', 20);
    const t0 = Date.now();
    await confirmSend(svc, staffId, id, { when: 'now', at: undefined, audience: 20 });
    await waitFor(async () => (await ctx.db('bulletin_recipients').where({ bulletin_id: id }).first()) !== undefined, 'the snapshot');
    const progress = await bulletinProgress(svc, await findBulletinOr404(svc, id));
    expect(progress.expectedFinish).not.toBeNull();
    expect(progress.expectedFinish!.getTime() - progress.asOf.getTime()).toBeGreaterThanOrEqual(2000);
    await waitFor(async () => (await statusOf(id)) === 'sent', 'the bulletin to be sent', 20000);
    expect(received('About paced').sort()).toEqual([...emails].sort());
    const seconds = (await ctx.db('send_rate_seconds').select('sent')) as { sent: number }[];
    expect(Math.max(...seconds.map((s) => s.sent))).toBeLessThanOrEqual(RATE);
    expect(seconds.reduce((n, s) => n + s.sent, 0)).toBe(20);
    // 20 at 5 a second span at least four clock seconds.
    expect(seconds.length).toBeGreaterThanOrEqual(4);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3000);
  }, 30000);

  it('the hourly limit holds across the window: a taker past it is told when the first slot of the hour frees', async () => {
    const rate = { perSecond: 100, perHour: 3 };
    await ctx.db('send_rate_seconds').delete();
    const before = Date.now();
    for (let i = 0; i < 3; i++) expect(await takeSendSlot(ctx.db, rate)).toEqual({ taken: true });
    const refused = await takeSendSlot(ctx.db, rate);
    expect(refused.taken).toBe(false);
    const at = (refused as { retryAt: Date }).retryAt.getTime();
    expect(at).toBeGreaterThan(before + 3599_000 - 1000);
    expect(at).toBeLessThan(Date.now() + 3601_000);
    await ctx.db('send_rate_seconds').delete();
  });
  /**
   * A topic with one member still opted in to it and one opted in to another topic only, and a
   * maker of bulletin messages to either, held or released.
   */
  async function slotFixture(slug: string) {
    const topicId = await insertTopic(ctx.db, { slug, kind: 'newsletter', policyId });
    const otherTopic = await insertTopic(ctx.db, { slug: `other-${slug}`, kind: 'newsletter', policyId });
    await insertOptedInMembers(ctx.db, { count: 1, topicId, policyId, prefix: slug, domain: 'example.org' });
    // Opted in to another topic only: not (or no longer) to this one.
    await insertOptedInMembers(ctx.db, { count: 1, topicId: otherTopic, policyId, prefix: `${slug}-not`, domain: 'example.org' });
    const stays = (
      await ctx
        .db('members')
        .where({ email: `${slug}1@example.org` })
        .first('id')
    ).id as string;
    const leaves = (
      await ctx
        .db('members')
        .where({ email: `${slug}-not1@example.org` })
        .first('id')
    ).id as string;
    const message = (memberId: string, held: boolean) => {
      const id = randomUUID();
      return {
        id,
        kind: 'bulletin' as const,
        recipient: `${memberId}@example.org`,
        member_id: memberId,
        topic_id: topicId,
        message_id: `<${id}@example.org>`,
        subject: 'Slots',
        text_body: 'Hello.',
        html_body: '<p>Hello.</p>',
        headers: {},
        held,
        rate_limited: true,
      };
    };
    return { stays, leaves, message };
  }
  const slotsTaken = async () => Number(((await ctx.db('send_rate_seconds').sum('sent as n')) as { n: string | null }[])[0]!.n ?? 0);

  it('C3: reading a message to send takes its slot in the same statement, and only for a message that goes now', async () => {
    const { stays, leaves, message } = await slotFixture('slots');
    const [goes, held, optedOut] = [message(stays, false), message(stays, true), message(leaves, false)];
    await insertEmailMessages(ctx.db, [goes, held, optedOut]);
    const rate = { perSecond: 1, perHour: 1 };
    const read = async (id: string) => (await findMessagesToSend(ctx.db, [id], svc.keys.suppression, rate))[0];
    await ctx.db('send_rate_seconds').delete();
    // Held (not released yet) or no longer opted in: read, no slot used.
    expect(await read(held.id)).toMatchObject({ held: true, slot_taken: false });
    expect(await read(optedOut.id)).toMatchObject({ still_opted_in: false, slot_taken: false });
    expect(await slotsTaken()).toBe(0);
    // The one that goes takes the hour's only slot; read again, the rate is used up and nothing more is counted.
    expect(await read(goes.id)).toMatchObject({ still_opted_in: true, slot_taken: true });
    expect(await read(goes.id)).toMatchObject({ slot_taken: false });
    expect(await slotsTaken()).toBe(1);
    await ctx.db('send_rate_seconds').delete();
  });

  it('C3: one read of many messages takes slots for those that go now, no more than the second and the hour have left', async () => {
    const { stays, leaves, message } = await slotFixture('batch-slots');
    const going = Array.from({ length: 5 }, () => message(stays, false));
    const [held, optedOut] = [message(stays, true), message(leaves, false)];
    await insertEmailMessages(ctx.db, [...going, held, optedOut]);
    const all = [...going, held, optedOut].map((m) => m.id);
    await ctx.db('send_rate_seconds').delete();
    // Three a second: three of the five that go get a slot, the held and the opted-out ones none.
    const rows = await findMessagesToSend(ctx.db, all, svc.keys.suppression, { perSecond: 3, perHour: 100 });
    expect(rows.map((r) => r.id).sort()).toEqual([...all].sort());
    const slotted = rows.filter((r) => r.slot_taken).map((r) => r.id);
    expect(slotted).toHaveLength(3);
    expect(going.map((m) => m.id)).toEqual(expect.arrayContaining(slotted));
    expect(await slotsTaken()).toBe(3);
    // An hour that has room for one more: one slot, whatever the second would allow.
    await ctx.db('send_rate_seconds').delete();
    await ctx
      .db('send_rate_seconds')
      .insert({ second: ctx.db.raw(`date_trunc('second', clock_timestamp()) - interval '10 minutes'`), sent: 9 });
    const again = await findMessagesToSend(ctx.db, all, svc.keys.suppression, { perSecond: 100, perHour: 10 });
    expect(again.filter((r) => r.slot_taken)).toHaveLength(1);
    expect(await slotsTaken()).toBe(10);
    // The hour used up: no slot, nothing counted.
    const none = await findMessagesToSend(ctx.db, all, svc.keys.suppression, { perSecond: 100, perHour: 10 });
    expect(none.filter((r) => r.slot_taken)).toHaveLength(0);
    expect(await slotsTaken()).toBe(10);
    await ctx.db('send_rate_seconds').delete();
  });
});

describe('pause, resume, cancel and schedule until every message has gone', () => {
  it('pausing stops further sends at once; resuming sends the rest, each member once; both are audited', async () => {
    const { id, emails } = await draftTo('paused', 15);
    await confirmSend(svc, staffId, id, { when: 'now', at: undefined, audience: 15 });
    await waitFor(async () => received('About paused').length >= 3, 'three sent');
    await controlSending(svc, staffId, id, 'pause');
    expect(await statusOf(id)).toBe('paused');
    // A send already past its checks when the pause came may still finish.
    await new Promise((r) => setTimeout(r, 300));
    const atPause = received('About paused').length;
    await new Promise((r) => setTimeout(r, 2000));
    expect(received('About paused').length).toBe(atPause);
    expect(atPause).toBeLessThan(15);
    await controlSending(svc, staffId, id, 'resume');
    await waitFor(async () => (await statusOf(id)) === 'sent', 'the bulletin to be sent', 20000);
    expect(received('About paused').sort()).toEqual([...emails].sort());
    const actions = await ctx
      .db('audit_log')
      .where({ staff_user_id: staffId })
      .whereIn('action', ['bulletin.paused', 'bulletin.resumed'])
      .pluck('action');
    expect(actions.sort()).toEqual(['bulletin.paused', 'bulletin.resumed']);
  }, 40000);

  it('cancelling withdraws every message not yet gone; none goes after; it is audited', async () => {
    const { id } = await draftTo('cancelled', 12);
    await confirmSend(svc, staffId, id, { when: 'now', at: undefined, audience: 12 });
    await waitFor(async () => received('About cancelled').length >= 2, 'two sent');
    await controlSending(svc, staffId, id, 'cancel');
    await new Promise((r) => setTimeout(r, 300));
    const atCancel = received('About cancelled').length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(received('About cancelled').length).toBe(atCancel);
    const c = (await bulletinProgress(svc, await findBulletinOr404(svc, id))).counts;
    expect(c.sent).toBe(atCancel);
    expect(c.sent + c.withdrawn).toBe(12);
    expect(c.queued).toBe(0);
    expect(await statusOf(id)).toBe('cancelled');
    expect(await ctx.db('audit_log').where({ action: 'bulletin.cancelled' }).first()).toMatchObject({ staff_user_id: staffId });
  }, 30000);

  it('a send that commits while a cancel waits for its row stays sent; the cancel withdraws only the rest', async () => {
    const { id } = await draftTo('racing', 6);
    await confirmSend(svc, staffId, id, { when: 'now', at: undefined, audience: 6 });
    await controlSending(svc, staffId, id, 'pause');
    const messagesOf = () =>
      ctx
        .db('bulletin_recipients as r')
        .join('email_messages as e', 'e.id', 'r.email_message_id')
        .where('r.bulletin_id', id)
        .select('e.id', 'e.status');
    await waitFor(async () => (await messagesOf()).length === 6, 'every recipient’s message');
    const queued = (await messagesOf()).filter((m) => m.status === 'queued');
    expect(queued.length).toBeGreaterThan(0);
    const racing = queued[0]!.id as string;
    // A send task marks the message sent, and has not committed yet when the cancel comes.
    const send = await ctx.db.transaction();
    await send('email_messages').where({ id: racing }).update({ status: 'sent', sent_at: send.fn.now(), attempts: 1 });
    const cancel = controlSending(svc, staffId, id, 'cancel');
    await waitFor(
      async () => (await lockWaiters(ctx.db, '%cancel_reason%')) > 0 || undefined,
      'the cancel to wait for the message being sent',
    );
    await send.commit();
    await cancel;
    const after = Object.fromEntries((await messagesOf()).map((m) => [m.id, m.status]));
    expect(after[racing]).toBe('sent');
    expect(queued.slice(1).map((m) => after[m.id])).toEqual(queued.slice(1).map(() => 'cancelled'));
    expect(await statusOf(id)).toBe('cancelled');
  }, 30000);

  it('a scheduled bulletin goes at its time; cancelling a schedule makes it a draft again', async () => {
    const later = await draftTo('scheduled', 2);
    await confirmSend(svc, staffId, later.id, { when: 'later', at: new Date(Date.now() + 1500), audience: 2 });
    expect(await statusOf(later.id)).toBe('scheduled');
    expect(received('About scheduled')).toEqual([]);
    await waitFor(async () => (await statusOf(later.id)) === 'sent', 'the scheduled bulletin to be sent', 15000);
    expect(received('About scheduled').sort()).toEqual([...later.emails].sort());

    const undone = await draftTo('unscheduled', 2);
    await confirmSend(svc, staffId, undone.id, { when: 'later', at: new Date(Date.now() + 1000), audience: 2 });
    await controlSending(svc, staffId, undone.id, 'cancel');
    await new Promise((r) => setTimeout(r, 2000));
    expect(await statusOf(undone.id)).toBe('draft');
    expect(received('About unscheduled')).toEqual([]);
  }, 30000);
});

describe('bounces', () => {
  it('C12: a final 5xx marks the address undeliverable and the progress page counts it as bounced', async () => {
    const { id } = await draftTo('bounce', 3);
    ctx.smtp.refuseAddress('bounce2@example.org');
    await confirmSend(svc, staffId, id, { when: 'now', at: undefined, audience: 3 });
    await waitFor(async () => (await statusOf(id)) === 'sent', 'the bulletin to be handled', 20000);
    const c = (await bulletinProgress(svc, await findBulletinOr404(svc, id))).counts;
    expect({ sent: c.sent, failed: c.failed, bounced: c.bounced }).toEqual({ sent: 2, failed: 1, bounced: 1 });
    expect(await ctx.db('members').where({ email: 'bounce2@example.org' }).first('email_undeliverable_at')).toEqual({
      email_undeliverable_at: expect.any(Date),
    });
    const reasons = (await bulletinProgress(svc, await findBulletinOr404(svc, id))).reasons;
    expect(reasons).toEqual([{ reason: expect.stringMatching(/550/), n: 1, permanent: true }]);
  }, 30000);
});

describe('the dispatcher', () => {
  it('a dispatch woken while another of the same bulletin runs does nothing; the running one keeps the window', async () => {
    // Thirty held messages and no job: the snapshot taken while paused, then the status set back
    // without waking the dispatcher, so only the dispatches below release anything. They run at
    // 20 a second, so the window (20) is what bounds a release, not the second's slots.
    const fast = makeServiceContext({ ...ctx.config, sendRate: { ...ctx.config.sendRate, perSecond: 20 } }, ctx.db);
    const window = releaseWindow(20);
    const { id } = await draftTo('twice', 30);
    await ctx.db('bulletins').where({ id }).update({ status: 'paused', started_at: ctx.db.fn.now(), audience_confirmed: 30 });
    await runSnapshotBatch(svc, { bulletinId: id, after: null });
    await ctx.db('bulletins').where({ id }).update({ status: 'sending' });
    const messages = () =>
      ctx.db('bulletin_recipients as r').join('email_messages as e', 'e.id', 'r.email_message_id').where('r.bulletin_id', id);
    const first = (await messages().orderBy('r.member_id').first('e.id')) as { id: string };
    // Holding the first message's row stops the first dispatch inside its transaction, its counts
    // taken; a wake meanwhile makes a second dispatch job, which starts while the first is open.
    const hold = await ctx.db.transaction();
    await hold('email_messages').where({ id: first.id }).forUpdate().first('id');
    const [a, b] = await twoRunsSideBySide(ctx.db, hold, '%held%', () => runDispatch(fast, id), 'dispatch');
    const sent = (await messages().where('e.status', 'sent').pluck('e.id')).length;
    expect(a.released).toBe(window);
    expect(b).toEqual({ released: 0, next: null, finished: false, busy: true });
    // The worker sends at 5 a second meanwhile; what it sent is all a dispatch could refill.
    expect(a.released + b.released).toBeLessThanOrEqual(window + sent);
  }, 30000);
});
