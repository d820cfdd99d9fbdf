import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeServiceContext } from '../../src/context.js';
import { queuePolicyNotice, runNoticeBatch } from '../../src/policies/notices.service.js';
import { findPolicyById } from '../../src/policies/policies.repository.js';
import { suppressAddress } from '../../src/shared/suppression.js';
import { startTestContext, TEST_SECRET, type TestContext } from '../helpers/app.js';
import { insertMember, insertPolicy, suppressLegacy } from '../helpers/fixtures.js';

/** The notice service against PostgreSQL: who is left out of a policy notice (C6, C7). */
let ctx: TestContext;
beforeAll(async () => {
  ctx = await startTestContext();
});
afterAll(() => ctx.close());

describe('suppression entries written before key separation', () => {
  it('C6, C7: the notice leaves out an address suppressed with the master key itself as well as one suppressed with the derived key', async () => {
    const svc = makeServiceContext(ctx.config, ctx.db);
    const legacy = await insertMember(ctx.db, 'suppressed-before-upgrade@example.org');
    await suppressLegacy(ctx.db, 'suppressed-before-upgrade@example.org', TEST_SECRET);
    const current = await insertMember(ctx.db, 'suppressed-after-upgrade@example.org');
    await suppressAddress(ctx.db, 'suppressed-after-upgrade@example.org', svc.keys.suppression);
    const versionId = await insertPolicy(ctx.db, { version: '7.0', publishedDaysAgo: 0, effectiveInDays: 8 });
    await ctx.db('policy_notice_runs').insert({ policy_version_id: versionId, members_to_notify: 0 });

    // One member at a time (a member confirming during the notice period): nothing is queued.
    const policy = (await findPolicyById(ctx.db, versionId))!;
    for (const memberId of [legacy, current])
      expect([memberId, await ctx.db.transaction((trx) => queuePolicyNotice(trx, svc, memberId, policy))]).toEqual([memberId, null]);
    // The batch fan-out: both are recorded as left out because suppressed.
    await runNoticeBatch(svc, { policyVersionId: versionId, after: null, batchSize: 1000 });
    const rows = await ctx
      .db('policy_notices')
      .where({ policy_version_id: versionId })
      .whereIn('member_id', [legacy, current])
      .select('member_id', 'left_out_reason', 'email_message_id');
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.left_out_reason === 'suppressed' && r.email_message_id === null)).toBe(true);
    expect(await ctx.db('email_messages').whereIn('member_id', [legacy, current])).toHaveLength(0);
  });
});
