import type { Knex } from 'knex';
import { inTransaction, type DbOrTx } from '../db.js';
import { findActiveMember, lockMember } from '../members/members.repository.js';
import { assertManageLinkCurrent } from '../members/manage-links.js';
import { findPolicyInForce } from '../policies/policies.repository.js';
import { AppError, InvalidLinkError, NotFoundError, ValidationError } from '../shared/errors.js';
import { queueMail, type ServiceContext } from '../context.js';
import {
  currentConsents,
  findTopic,
  KIND_ORDER,
  latestPolicySeen,
  listOfferedTopics,
  recordConsentEvent,
  type ConsentChange,
  type ConsentStatus,
  type LedgerChannel,
  type LedgerSource,
  type TopicKind,
  type TopicRow,
} from './consent.repository.js';
import { preferencesChangedEmail } from './consent.emails.js';
import { topicBulletinFacts } from '../bulletins/bulletins.repository.js';
import { recordWebhookEvent } from '../integrations/webhooks.events.js';

export interface ChoiceSource {
  source: LedgerSource;
  channel: LedgerChannel;
  reference?: string | null;
  /** The bulletin whose unsubscribe link was used (a topic-scoped opt-out only). */
  viaBulletinId?: number | null;
  /** The API key of an opt-out another system recorded (source 'api'). */
  apiKeyId?: string | null;
}

export interface PreferenceItem {
  topic: TopicRow;
  status: ConsentStatus;
  /** Introduced by a policy version later than any the member chose under (C8): shown as new, unticked. */
  isNew: boolean;
}

export const KIND_LABELS: Record<TopicKind, { title: string; help: string }> = {
  newsletter: { title: 'Newsletters', help: 'Regular news from us.' },
  announcement: { title: 'Announcements', help: 'Occasional news about the organisation.' },
  third_party_offer: {
    title: 'Offers from our partners',
    help: 'Sent by us; your details stay with us. Never ticked unless you tick them.',
  },
  partner_data_sharing: {
    title: 'Sharing your details with a partner',
    help: 'We pass your details to the partner named. Never ticked unless you tick them.',
  },
};

/** Items grouped by topic kind, in the order pages show them (newsletters first), empty groups left out. */
export function groupedByKind<T>(items: T[], kindOf: (item: T) => TopicKind) {
  return KIND_ORDER.map((kind) => ({ kind, ...KIND_LABELS[kind], items: items.filter((i) => kindOf(i) === kind) })).filter(
    (g) => g.items.length > 0,
  );
}

export async function preferencesFor(db: DbOrTx, memberId: string): Promise<PreferenceItem[]> {
  const [topics, consents, seen] = await Promise.all([
    listOfferedTopics(db),
    currentConsents(db, memberId),
    latestPolicySeen(db, memberId),
  ]);
  return topics.map((topic) => {
    const c = consents.get(topic.id);
    const isNew = !c && seen !== null && topic.introduced_effective_at !== null && topic.introduced_effective_at > seen;
    return { topic, status: c?.status ?? 'opted_out', isNew };
  });
}

async function policyInForceId(db: DbOrTx): Promise<number> {
  const policy = await findPolicyInForce(db);
  if (!policy) throw new AppError('Choices cannot be recorded before a privacy policy is in force.', 503, 'no_policy');
  return policy.id;
}

/**
 * Moves each named topic to the wanted state, writing one ledger event per actual change under
 * the policy version in force (C8). Topics not named are left as they are.
 */
export async function applyChoices(
  trx: Knex.Transaction,
  memberId: string,
  wanted: Map<number, ConsentStatus>,
  by: ChoiceSource,
): Promise<ConsentChange[]> {
  const [topics, consents, policyVersionId] = await Promise.all([
    listOfferedTopics(trx),
    currentConsents(trx, memberId),
    policyInForceId(trx),
  ]);
  const byId = new Map(topics.map((t) => [t.id, t]));
  const changes: ConsentChange[] = [];
  for (const [topicId, to] of wanted) {
    const topic = byId.get(topicId);
    if (!topic) throw new ValidationError({ topics: 'One of the choices is not a topic we offer. Please reload the page and try again.' });
    const from = consents.get(topicId)?.status ?? null;
    if ((from ?? 'opted_out') === to) continue;
    await recordConsentEvent(trx, { memberId, topicId, from, to, policyVersionId, ...by });
    changes.push({ topic, from, to });
  }
  if (changes.length > 0)
    await recordWebhookEvent(trx, 'consent.changed', {
      member_id: memberId,
      source: by.source,
      channel: by.channel,
      changes: changes.map((c) => ({ topic: c.topic.slug, from: c.from ?? 'opted_out', to: c.to })),
    });
  return changes;
}

async function confirm(trx: Knex.Transaction, svc: ServiceContext, memberId: string, changes: ConsentChange[], how: string): Promise<void> {
  if (changes.length === 0) return;
  const member = await findActiveMember(trx, memberId);
  if (!member?.email) return;
  await queueMail(
    trx,
    svc,
    preferencesChangedEmail(svc.mail, {
      to: member.email,
      memberId,
      name: member.name,
      changes,
      manageUrl: svc.links.manage(memberId),
      how,
    }),
  );
}

const HOW: Partial<Record<LedgerSource, string>> = {
  member_web: 'on your preferences page',
  member_link: 'on your preferences page, from a link we e-mailed you',
  unsubscribe_link: 'from the unsubscribe link in one of our e-mails',
  one_click: "with your mail program's unsubscribe button",
  staff: 'by our staff, at your request',
  api: 'in another of our systems, which passed your request on to us',
  complaint: 'because your mail provider told us you reported one of our e-mails as spam',
};

/**
 * The preference page's save: the topics ticked are opted in, every other offered topic out.
 * The changes and their confirmation e-mail commit together (C14); an opt-out applies at once (C3).
 */
export async function setPreferences(
  svc: ServiceContext,
  input: { memberId: string; optedIn: number[] } & ChoiceSource,
  db: DbOrTx = svc.db,
): Promise<ConsentChange[]> {
  return inTransaction(db, async (trx) => {
    await lockActive(trx, input.memberId);
    const topics = await listOfferedTopics(trx);
    const offered = new Set(topics.map((t) => t.id));
    for (const id of input.optedIn) {
      if (!offered.has(id))
        throw new ValidationError({ topics: 'One of the choices is not a topic we offer. Please reload the page and try again.' });
    }
    const wanted = new Map(topics.map((t) => [t.id, input.optedIn.includes(t.id) ? ('opted_in' as const) : ('opted_out' as const)]));
    const changes = await applyChoices(trx, input.memberId, wanted, input);
    await confirm(trx, svc, input.memberId, changes, HOW[input.source] ?? '');
    return changes;
  });
}

/** Opts the member out of one topic or of everything. Repeating it changes nothing more. */
export async function unsubscribe(
  svc: ServiceContext,
  input: { memberId: string; scope: number | 'all' } & ChoiceSource,
  db: DbOrTx = svc.db,
): Promise<ConsentChange[]> {
  return inTransaction(db, async (trx) => {
    await lockActive(trx, input.memberId);
    const consents = await currentConsents(trx, input.memberId);
    const ids = input.scope === 'all' ? [...consents.keys()] : [input.scope];
    const wanted = new Map(ids.map((id) => [id, 'opted_out' as const]));
    const changes = await applyChoices(trx, input.memberId, wanted, input);
    await confirm(trx, svc, input.memberId, changes, HOW[input.source] ?? '');
    return changes;
  });
}

/** Serialises concurrent changes for one member, so two saves cannot both compute from the same state. */
async function lockActive(trx: Knex.Transaction, memberId: string): Promise<void> {
  if (!(await lockMember(trx, memberId, { activeOnly: true })))
    throw new NotFoundError('We could not find that membership. It may have been removed.');
}

/**
 * Saves the preference form (C3), signed in or from a manage link (which must still be current):
 * the ticked topics, or "unsubscribe from everything".
 */
export async function saveChoices(
  svc: ServiceContext,
  c: ChoiceSource & { memberId: string; link?: { issuedAt: number }; action: 'save' | 'unsubscribe_all'; topics: number[] },
): Promise<ConsentChange[]> {
  const by: ChoiceSource = { source: c.source, channel: c.channel, reference: c.reference };
  if (c.link) {
    const member = await findActiveMember(svc.db, c.memberId);
    if (!member) throw new NotFoundError('We could not find that membership. It may have been removed.');
    assertManageLinkCurrent(member, c.link.issuedAt);
  }
  return c.action === 'unsubscribe_all'
    ? unsubscribe(svc, { memberId: c.memberId, scope: 'all', ...by })
    : setPreferences(svc, { memberId: c.memberId, optedIn: c.topics, ...by });
}

/**
 * The preference page of a member (C3): their choices grouped by kind. Reached from a manage link
 * (C9), the link must be newer than the member's last e-mail change (C11).
 */
export async function preferencesPage(svc: ServiceContext, memberId: string, link?: { issuedAt: number }) {
  const member = await findActiveMember(svc.db, memberId);
  if (!member) throw new NotFoundError('We could not find that membership. It may have been removed.');
  if (link) assertManageLinkCurrent(member, link.issuedAt);
  const items = await preferencesFor(svc.db, memberId);
  // Per topic: when its last bulletin went out, and whether it has a public archive.
  const sent = await topicBulletinFacts(svc.db);
  return { member, groups: groupedByKind(items, (i) => i.topic.kind), sent };
}

/** What an unsubscribe link would do (C4): whose link it is (still a member?) and which list, if not "all". */
export async function describeUnsubscribe(svc: ServiceContext, memberId: string, scope: number | 'all') {
  const [member, topic] = await Promise.all([findActiveMember(svc.db, memberId), scope === 'all' ? undefined : findTopic(svc.db, scope)]);
  if (scope !== 'all' && !topic) throw new InvalidLinkError('This unsubscribe link names a list that does not exist.');
  return { stillMember: member !== undefined, topicName: topic?.name ?? null };
}
