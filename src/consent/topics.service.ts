import { inTransaction } from '../db.js';
import { NotFoundError, translateRefusal, type Refusals } from '../shared/errors.js';
import type { ServiceContext } from '../context.js';
import { appendAudit } from '../audit/audit.repository.js';
import { listAllPolicies } from '../policies/policies.repository.js';
import {
  findAdminTopic,
  insertTopicRow,
  listAllTopics,
  listPartnerChoices,
  restoreTopicRow,
  retireTopicRow,
  updateTopicRow,
  type AdminTopicRow,
} from './topics.repository.js';
import type { TopicCreateInput, TopicUpdateInput } from './topics.schemas.js';

/** What the database refused, as the field the staff user can fix. */
const REFUSALS: Refusals = {
  topics_slug_key: ['slug', 'There is already a topic with this short name. Choose another.'],
  topics_partner_id_fkey: ['partner_id', 'Choose one of the listed partners.'],
  topics_introduced_in_policy_version_id_fkey: ['policy_version_id', 'Choose one of the listed policy versions.'],
  topics_third_party_names_partner: ['partner_id', 'Choose the partner: offers and data sharing always name one.'],
};

function asFieldError(err: unknown, input: Record<string, unknown>): never {
  return translateRefusal(err, REFUSALS, input);
}

function formValues(input: TopicCreateInput): Record<string, unknown> {
  return {
    ...input,
    partner_id: input.partner_id === undefined ? '' : String(input.partner_id),
    policy_version_id: String(input.policy_version_id),
    sort_order: String(input.sort_order),
  };
}

/**
 * A new topic starts with nobody opted in: no consent is written here (C1, C8). It is offered to
 * members only once the policy version that introduces it is published.
 */
export async function createTopic(svc: ServiceContext, staffUserId: string, input: TopicCreateInput): Promise<number> {
  return inTransaction(svc.db, async (trx) => {
    const id = await insertTopicRow(trx, {
      slug: input.slug,
      name: input.name,
      description: input.description,
      kind: input.kind,
      channel: input.channel,
      frequency: input.frequency,
      partner_id: input.partner_id ?? null,
      introduced_in_policy_version_id: input.policy_version_id,
      sort_order: input.sort_order,
    }).catch((err: unknown) => asFieldError(err, formValues(input)));
    await appendAudit(trx, {
      staffUserId,
      action: 'topic.created',
      details: { topicId: id, slug: input.slug, kind: input.kind, policyVersionId: input.policy_version_id },
    });
    return id;
  });
}

export async function findTopicOr404(svc: ServiceContext, id: number): Promise<AdminTopicRow> {
  const topic = await findAdminTopic(svc.db, id);
  if (!topic) throw new NotFoundError('There is no topic with that number.');
  return topic;
}

export async function updateTopic(svc: ServiceContext, staffUserId: string, id: number, input: TopicUpdateInput): Promise<void> {
  await inTransaction(svc.db, async (trx) => {
    const before = await findAdminTopic(trx, id);
    if (!before) throw new NotFoundError('There is no topic with that number.');
    await updateTopicRow(trx, id, input).catch((err: unknown) => asFieldError(err, { ...input, sort_order: String(input.sort_order) }));
    const changed = (['name', 'description', 'channel', 'frequency', 'sort_order'] as const).filter((f) => before[f] !== input[f]);
    await appendAudit(trx, { staffUserId, action: 'topic.updated', details: { topicId: id, changed } });
  });
}

/** Retires (or brings back) a topic, audited once; doing it twice changes and records nothing. */
async function setRetired(svc: ServiceContext, staffUserId: string, id: number, retire: boolean): Promise<void> {
  await inTransaction(svc.db, async (trx) => {
    const topic = await findAdminTopic(trx, id);
    if (!topic) throw new NotFoundError('There is no topic with that number.');
    if (await (retire ? retireTopicRow : restoreTopicRow)(trx, id))
      await appendAudit(trx, {
        staffUserId,
        action: retire ? 'topic.retired' : 'topic.restored',
        details: { topicId: id, slug: topic.slug },
      });
  });
}

/**
 * Retiring takes the topic off the join and preference pages. Its ledger and consents stay:
 * the history is kept, and old e-mails' unsubscribe links still work.
 */
export function retireTopic(svc: ServiceContext, staffUserId: string, id: number): Promise<void> {
  return setRetired(svc, staffUserId, id, true);
}

/**
 * Brings a retired topic back (issue 13.2): it is offered again on the join and preference pages
 * and in audiences. Consents were kept while it was retired, so those opted in before are opted in
 * again; nobody is opted in by the restoration itself.
 */
export function restoreTopic(svc: ServiceContext, staffUserId: string, id: number): Promise<void> {
  return setRetired(svc, staffUserId, id, false);
}

/** Every topic, active and retired, with how many are opted in now (a count, no one named). */
export async function topicsOverview(svc: ServiceContext): Promise<{ active: AdminTopicRow[]; retired: AdminTopicRow[] }> {
  const topics = await listAllTopics(svc.db);
  return { active: topics.filter((t) => !t.retired_at), retired: topics.filter((t) => t.retired_at) };
}

/** What the new-topic form offers: the partners, and the policy versions a topic can be introduced by. */
export async function newTopicChoices(svc: ServiceContext) {
  const [partners, policies] = await Promise.all([listPartnerChoices(svc.db), listAllPolicies(svc.db)]);
  return { partners, policies };
}
