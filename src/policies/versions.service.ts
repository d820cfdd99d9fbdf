import { inTransaction, type DbOrTx } from '../db.js';
import { recordWebhookEvent } from '../events/webhook-events.js';
import { countReachableMembers, noticeProgress } from './notices.repository.js';
import { policyNoticeTestEmail } from './policies.emails.js';
import { progressOf } from '../shared/progress.js';
import { startNoticeFanout } from './notices.service.js';
import {
  findPolicyById,
  findLatestPublishedPolicy,
  findPolicyInForce,
  insertPolicyDraft,
  listAllPolicies,
  markPolicyPublished,
  updatePolicyDraft,
  type PolicyVersionRow,
} from './policies.repository.js';
import { ConflictError, NotFoundError, translateRefusal, ValidationError } from '../shared/errors.js';
import { queueMail, type ServiceContext } from '../context.js';
import type { PolicyDraftInput } from './policies.schemas.js';
import { appendAudit } from '../audit/audit.repository.js';
import { comparePolicyText, type PolicyDiff } from './policy-diff.js';

/** C7: the least notice between publication and effect. The database checks the same. */
export const NOTICE_DAYS = 7;
const DAY_MS = 24 * 60 * 60 * 1000;

const PUBLISHED_REFUSAL = 'This version is published: it can no longer be changed. Write a new version instead.';

function draftRow(input: PolicyDraftInput) {
  return {
    version: input.version,
    title: input.title,
    summary: input.summary,
    body: input.body,
    introduces_new_use: input.introduces_new_use,
  };
}

function formValues(input: PolicyDraftInput): Record<string, unknown> {
  return { ...input, introduces_new_use: input.introduces_new_use ? 'yes' : undefined };
}

/** A second version with the same label is a field error, not a 500. */
function versionTaken(err: unknown, input: PolicyDraftInput): never {
  return translateRefusal(
    err,
    { policy_versions_version_key: ['version', 'There is already a version with this label. Choose another.'] },
    formValues(input),
  );
}

export async function createPolicyDraft(svc: ServiceContext, staffUserId: string, input: PolicyDraftInput): Promise<PolicyVersionRow> {
  return inTransaction(svc.db, async (trx) => {
    const row = await insertPolicyDraft(trx, draftRow(input)).catch((err: unknown) => versionTaken(err, input));
    await appendAudit(trx, { staffUserId, action: 'policy.created', details: { policyVersionId: row.id, version: row.version } });
    return row;
  });
}

/** The draft with this id: 404 if there is none, 409 once it is published. */
async function draftOrRefusal(db: DbOrTx, id: number, refusal = PUBLISHED_REFUSAL): Promise<PolicyVersionRow> {
  const policy = await findPolicyById(db, id);
  if (!policy) throw new NotFoundError('There is no policy version with that number.');
  if (policy.published_at) throw new ConflictError(refusal);
  return policy;
}

export async function findEditableDraft(svc: ServiceContext, id: number): Promise<PolicyVersionRow> {
  return draftOrRefusal(svc.db, id);
}

export async function updateDraft(
  svc: ServiceContext,
  staffUserId: string,
  id: number,
  input: PolicyDraftInput,
): Promise<PolicyVersionRow> {
  return inTransaction(svc.db, async (trx) => {
    await draftOrRefusal(trx, id);
    const row = await updatePolicyDraft(trx, id, draftRow(input)).catch((err: unknown) => versionTaken(err, input));
    if (!row) throw new ConflictError(PUBLISHED_REFUSAL);
    await appendAudit(trx, { staffUserId, action: 'policy.updated', details: { policyVersionId: id, version: row.version } });
    return row;
  });
}

export function earliestEffective(now = new Date()): Date {
  return new Date(now.getTime() + NOTICE_DAYS * DAY_MS);
}

/**
 * C7: publishes a draft now with an effective time at least seven days away, and starts the
 * notice fan-out in the same transaction: the version is public exactly when its notices are
 * on their way. The seven days are checked here for a friendly message and by the database's
 * check constraint against its own clock, whichever is stricter.
 */
function tooSoonError(effectiveAt: Date): ValidationError {
  return new ValidationError(
    {
      effective_at: `The new version must take effect at least ${NOTICE_DAYS} days after publication (after ${earliestEffective().toISOString().slice(0, 16).replace('T', ' ')} UTC).`,
    },
    { effective_at: effectiveAt.toISOString().slice(0, 16) },
  );
}

/** C7: refuses a date inside the notice period, as a field error. */
function checkNoticePeriod(effectiveAt: Date): void {
  if (effectiveAt.getTime() < earliestEffective().getTime()) throw tooSoonError(effectiveAt);
}

/**
 * What publishing would do, for the confirmation step (issue 13.2): the draft, and how many
 * members the notice would be e-mailed to now (a deliverable address; suppressed addresses are
 * left out when each batch is sent, so the count is an upper bound).
 */
export async function publicationPreview(
  svc: ServiceContext,
  id: number,
  effectiveAt: Date,
): Promise<{ policy: PolicyVersionRow; reachable: number }> {
  checkNoticePeriod(effectiveAt);
  const policy = await draftOrRefusal(svc.db, id, 'This version is already published.');
  return { policy, reachable: await countReachableMembers(svc.db) };
}

/** "Send the notice to me first": the draft's notice, as members will get it, to the staff user's own address; audited. */
export async function sendNoticeTest(
  svc: ServiceContext,
  staff: { id: string; email: string },
  id: number,
  effectiveAt: Date,
): Promise<void> {
  await inTransaction(svc.db, async (trx) => {
    const policy = await draftOrRefusal(trx, id, 'This version is already published: its notice has gone to members.');
    await queueMail(
      trx,
      svc,
      policyNoticeTestEmail(svc.mail, staff.email, {
        version: policy.version,
        title: policy.title,
        summary: policy.summary,
        effectiveAt,
        introducesNewUse: policy.introduces_new_use,
      }),
    );
    await appendAudit(trx, { staffUserId: staff.id, action: 'policy.notice_test_sent', details: { policyVersionId: id } });
  });
}

export async function publishPolicy(
  svc: ServiceContext,
  staffUserId: string,
  id: number,
  effectiveAt: Date,
  opts: { batchSize?: number } = {},
): Promise<PolicyVersionRow> {
  const tooSoon = () => tooSoonError(effectiveAt);
  checkNoticePeriod(effectiveAt);
  return inTransaction(svc.db, async (trx) => {
    const policy = await findPolicyById(trx, id);
    if (!policy) throw new NotFoundError('There is no policy version with that number.');
    if (policy.published_at) throw new ConflictError('This version is already published.');
    const published = await markPolicyPublished(trx, id, effectiveAt).catch((err: unknown) => {
      const { fieldErrors, input } = tooSoon();
      return translateRefusal(err, { policy_versions_seven_days_notice: ['effective_at', fieldErrors.effective_at!] }, input);
    });
    if (!published) throw new ConflictError('This version is already published.');
    const membersToNotify = await startNoticeFanout(trx, id, opts.batchSize);
    await recordWebhookEvent(trx, 'policy.published', {
      policy_version_id: id,
      version: published.version,
      published_at: published.published_at,
      effective_at: published.effective_at,
      introduces_new_use: published.introduces_new_use,
    });
    await appendAudit(trx, {
      staffUserId,
      action: 'policy.published',
      details: { policyVersionId: id, version: published.version, effectiveAt: effectiveAt.toISOString(), membersToNotify },
    });
    return published;
  });
}

export type PolicyStatus = 'draft' | 'upcoming' | 'in force' | 'superseded';

/** Where a version stands (C7): a draft, published but not yet in effect, the one in force, or an older one. */
export function policyStatus(p: PolicyVersionRow, inForceId: number | undefined, now = new Date()): PolicyStatus {
  if (!p.published_at || !p.effective_at) return 'draft';
  if (p.effective_at > now) return 'upcoming';
  return p.id === inForceId ? 'in force' : 'superseded';
}

export async function policyVersionsWithStatus(svc: ServiceContext): Promise<(PolicyVersionRow & { status: PolicyStatus })[]> {
  const [policies, inForce] = await Promise.all([listAllPolicies(svc.db), findPolicyInForce(svc.db)]);
  return policies.map((p) => ({ ...p, status: policyStatus(p, inForce?.id) }));
}

/**
 * A new draft starts from the newest published version's title and text (issue 13.9), so staff
 * change what members already read instead of retyping it; the first version starts empty.
 */
export async function newDraftStartingPoint(
  svc: ServiceContext,
): Promise<{ base: PolicyVersionRow | undefined; input: Record<string, unknown> }> {
  const base = await findLatestPublishedPolicy(svc.db);
  return { base, input: base ? { title: base.title, body: base.body } : {} };
}

export interface PolicyComparison {
  base: PolicyVersionRow;
  diff: PolicyDiff;
  titleChanged: boolean;
}

/** A draft against the newest published version: what publishing it would change. */
async function compareDraft(db: DbOrTx, draft: PolicyVersionRow): Promise<PolicyComparison | undefined> {
  if (draft.published_at) return undefined;
  const base = await findLatestPublishedPolicy(db);
  if (!base) return undefined;
  return { base, diff: comparePolicyText(base.body, draft.body), titleChanged: base.title !== draft.title };
}

/** One version as staff see it: its status, for a draft what it changes, and once published how its notice fan-out is going. */
export async function policyVersionPage(svc: ServiceContext, id: number) {
  const policy = await findPolicyById(svc.db, id);
  if (!policy) throw new NotFoundError('There is no policy version with that number.');
  const inForce = await findPolicyInForce(svc.db);
  const progress = policy.published_at ? await noticeProgress(svc.db, policy.id) : undefined;
  return {
    policy,
    comparison: await compareDraft(svc.db, policy),
    status: policyStatus(policy, inForce?.id),
    progress: progress && {
      ...progress,
      bar: progressOf({
        done: progress.sent + progress.failed + progress.cancelled + progress.leftOut,
        total: progress.membersToNotify,
        startedAt: progress.startedAt,
      }),
    },
  };
}
