import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setPreferences, unsubscribe } from '../../src/consent/consent.service.js';
import { makeServiceContext, type ServiceContext } from '../../src/context.js';
import type { TestContext } from '../helpers/app.js';
import { lockWaiters } from '../helpers/db.js';
import { insertMemberOptedIn } from '../helpers/fixtures.js';
import { eventually } from '../helpers/processes.js';
import { startSeededContext } from '../helpers/seeded.js';

/**
 * A change of choices locks the member's row, then reads their consents in a statement of its own
 * (consent.service.ts, lockForChoices): in READ COMMITTED that statement sees what the previous
 * holder of the lock committed. Reading them in the locking statement instead (one round trip
 * fewer) would decide from its snapshot, taken before the wait: these tests fail that way (tried
 * on 1 December 2026, with the lock and the read as one statement, both failed; with the read in a
 * VOLATILE function, which takes a snapshot of its own, they passed, but that statement cost more
 * than the round trip it saved, so the two statements stayed).
 */
let ctx: TestContext;
let svc: ServiceContext;
let topic: Record<string, number>;
beforeAll(async () => {
  ({ ctx, topic } = await startSeededContext({ worker: false }));
  svc = makeServiceContext(ctx.config, ctx.db);
});
afterAll(() => ctx.close());

const ledger = (memberId: string) =>
  ctx.db('consent_ledger').where({ member_id: memberId }).orderBy('id').select('topic_id', 'from_status', 'to_status', 'source');

describe('a change of choices that waits for the member', () => {
  it('C3 C14: a one-click that waited on the lock sees the opt-out committed before it: no second event, no second e-mail, no error', async () => {
    const member = await insertMemberOptedIn(ctx.db, 'waits-one-click@example.org', [topic['monthly-bulletin']!]);
    const trx = await ctx.db.transaction();
    const first = await unsubscribe(
      svc,
      { memberId: member, scope: topic['monthly-bulletin']!, source: 'unsubscribe_link', channel: 'web' },
      trx,
    );
    expect(first.changes).toHaveLength(1);
    const second = unsubscribe(svc, { memberId: member, scope: topic['monthly-bulletin']!, source: 'one_click', channel: 'email' });
    await eventually(async () => (await lockWaiters(ctx.db, '%members%')) > 0 || undefined, 'the second change to wait for the lock');
    await trx.commit();
    const { changes, stillMember } = await second;
    expect([stillMember, changes]).toEqual([true, []]);
    expect((await ledger(member)).filter((e) => e.source !== 'signup')).toEqual([
      { topic_id: topic['monthly-bulletin'], from_status: 'opted_in', to_status: 'opted_out', source: 'unsubscribe_link' },
    ]);
    expect(await ctx.db('email_messages').where({ member_id: member, kind: 'preferences_changed' }).count({ n: '*' })).toEqual([{ n: 1 }]);
  });

  it('C3: a save that waited on the lock changes only what the change before it left as it wants', async () => {
    const member = await insertMemberOptedIn(ctx.db, 'waits-save@example.org', [topic['monthly-bulletin']!, topic['announcements']!]);
    const trx = await ctx.db.transaction();
    await unsubscribe(svc, { memberId: member, scope: 'all', source: 'unsubscribe_link', channel: 'web' }, trx);
    // The page was shown before the unsubscribe: the member keeps the bulletin ticked and saves.
    const save = setPreferences(svc, { memberId: member, optedIn: [topic['monthly-bulletin']!], source: 'member_web', channel: 'web' });
    await eventually(async () => (await lockWaiters(ctx.db, '%members%')) > 0 || undefined, 'the save to wait for the lock');
    await trx.commit();
    const changes = await save;
    // Only the bulletin moves (back in); announcements were already out, so the save records nothing for them.
    expect(changes.map((c) => [c.topic.slug, c.from, c.to])).toEqual([['monthly-bulletin', 'opted_out', 'opted_in']]);
    const events = (await ledger(member)).filter((e) => e.source === 'member_web');
    expect(events).toEqual([
      { topic_id: topic['monthly-bulletin'], from_status: 'opted_out', to_status: 'opted_in', source: 'member_web' },
    ]);
  });
});
