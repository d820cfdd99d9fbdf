import type { Knex } from 'knex';
import { inTransaction, readTogether, type DbOrTx } from '../db.js';
import { findActiveMember, lockMember, type MemberRow } from '../identity/members.repository.js';
import { assertManageLinkCurrent } from '../identity/manage-links.js';
import { AppError, InvalidLinkError, NotFoundError, ValidationError } from '../shared/errors.js';
import type { ServiceContext } from '../context.js';
import { enqueueEmailWith } from '../mail/outbox.js';
import {
  consentEventsCte,
  currentConsents,
  findTopic,
  KIND_ORDER,
  latestPolicySeen,
  listOfferedTopics,
  preferencePageData,
  readChoiceState,
  recordConsentEvents,
  type ChoiceState,
  type ConsentChange,
  type ConsentStatus,
  type LedgerChannel,
  type LedgerSource,
  type TopicKind,
  type TopicRow,
} from './consent.repository.js';
import { preferencesChangedEmail } from './consent.emails.js';
import { recordWebhookEvent } from '../events/webhook-events.js';

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
  const [topics, consents, seen] = await readTogether(db, [
    () => listOfferedTopics(db),
    () => currentConsents(db, memberId),
    () => latestPolicySeen(db, memberId),
  ]);
  return preferenceItems(topics, new Map([...consents].map(([id, c]) => [id, c.status])), seen);
}

/** Each offered topic with the member's status, and whether it is new to them (introduced after the last policy they chose under). */
function preferenceItems(topics: TopicRow[], consents: Map<number, ConsentStatus>, seen: Date | null): PreferenceItem[] {
  return topics.map((topic) => {
    const status = consents.get(topic.id);
    const isNew = !status && seen !== null && topic.introduced_effective_at !== null && topic.introduced_effective_at > seen;
    return { topic, status: status ?? 'opted_out', isNew };
  });
}

/**
 * The changes that move each named topic to the wanted state, from the state read under the
 * member's lock. Topics not named are left as they are; a topic not offered is refused.
 */
function planChanges(state: ChoiceState, wanted: Map<number, ConsentStatus>): ConsentChange[] {
  const byId = new Map(state.topics.map((t) => [t.id, t]));
  const changes: ConsentChange[] = [];
  for (const [topicId, to] of wanted) {
    const topic = byId.get(topicId);
    if (!topic) throw new ValidationError({ topics: 'One of the choices is not a topic we offer. Please reload the page and try again.' });
    const from = state.consents.get(topicId) ?? null;
    if ((from ?? 'opted_out') !== to) changes.push({ topic, from, to });
  }
  return changes;
}

/**
 * One ledger event per change under the policy version in force (C8), the current state, and the
 * confirmation e-mail with its send job: one statement, so never one without the other (C14).
 */
async function commitChanges(
  trx: Knex.Transaction,
  svc: ServiceContext,
  member: MemberRow,
  state: ChoiceState,
  changes: ConsentChange[],
  by: ChoiceSource,
): Promise<void> {
  if (state.policyInForceId === null)
    throw new AppError('Choices cannot be recorded before a privacy policy is in force.', 503, 'no_policy');
  if (changes.length === 0) return;
  // Other systems hear of it from the same transaction (issue 12.3, outbox).
  await recordWebhookEvent(
    trx,
    'consent.changed',
    {
      member_id: member.id,
      source: by.source,
      channel: by.channel,
      changes: changes.map((c) => ({ topic: c.topic.slug, from: c.from ?? 'opted_out', to: c.to })),
    },
    state.consentWebhookEndpoints,
  );
  const events = consentEventsCte(
    member.id,
    changes.map((c) => ({ topicId: c.topic.id, from: c.from, to: c.to })),
    { ...by, policyVersionId: state.policyInForceId },
  );
  if (!member.email) return recordConsentEvents(trx, events);
  const email = preferencesChangedEmail(svc.mail, {
    to: member.email,
    memberId: member.id,
    name: member.name,
    changes,
    manageUrl: svc.links.manage(member.id),
    how: HOW[by.source] ?? '',
  });
  // The same text for every change of choices (the changes go in as JSON): a named statement.
  await enqueueEmailWith(trx, email, svc.outbox, events, 'consent_change_with_email');
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

const GONE = 'We could not find that membership. It may have been removed.';

/**
 * Locks the member (serialising concurrent changes for one member, so two saves cannot both
 * compute from the same state) and reads, after the lock, what a change needs: two statements.
 */
async function lockForChoices(trx: Knex.Transaction, memberId: string, namedTopicId?: number) {
  const member = await lockMember(trx, memberId, { activeOnly: true });
  const state = await readChoiceState(trx, memberId, namedTopicId);
  return { member, state };
}

/**
 * The preference page's save: the topics ticked are opted in, every other offered topic out.
 * The changes and their confirmation e-mail commit together (C14); an opt-out applies at once (C3).
 * From a manage link, the link must still be current (C11).
 */
export async function setPreferences(
  svc: ServiceContext,
  input: { memberId: string; optedIn: number[]; link?: { issuedAt: number } } & ChoiceSource,
  db: DbOrTx = svc.db,
): Promise<ConsentChange[]> {
  return inTransaction(db, async (trx) => {
    const { member, state } = await lockForChoices(trx, input.memberId);
    if (!member) throw new NotFoundError(GONE);
    if (input.link) assertManageLinkCurrent(member, input.link.issuedAt);
    const offered = new Set(state.topics.map((t) => t.id));
    for (const id of input.optedIn) {
      if (!offered.has(id))
        throw new ValidationError({ topics: 'One of the choices is not a topic we offer. Please reload the page and try again.' });
    }
    const wanted = new Map(state.topics.map((t) => [t.id, input.optedIn.includes(t.id) ? ('opted_in' as const) : ('opted_out' as const)]));
    const changes = planChanges(state, wanted);
    await commitChanges(trx, svc, member, state, changes, input);
    return changes;
  });
}

/**
 * Opts the member out of one topic or of everything (C4). Repeating it changes nothing more.
 * Also says whether the link's member is still one and which list it names, for the page; a link
 * naming a list that does not exist is refused.
 */
export async function unsubscribe(
  svc: ServiceContext,
  input: { memberId: string; scope: number | 'all'; link?: { issuedAt: number } } & ChoiceSource,
  db: DbOrTx = svc.db,
): Promise<{ stillMember: boolean; topicName: string | null; changes: ConsentChange[] }> {
  return inTransaction(db, async (trx) => {
    const { member, state } = await lockForChoices(trx, input.memberId, input.scope === 'all' ? undefined : input.scope);
    if (input.scope !== 'all' && !state.namedTopic) throw new InvalidLinkError('This unsubscribe link names a list that does not exist.');
    const topicName = state.namedTopic?.name ?? null;
    if (!member) return { stillMember: false, topicName, changes: [] };
    if (input.link) assertManageLinkCurrent(member, input.link.issuedAt);
    const ids = input.scope === 'all' ? [...state.consents.keys()] : [input.scope];
    const changes = planChanges(state, new Map(ids.map((id) => [id, 'opted_out' as const])));
    await commitChanges(trx, svc, member, state, changes, input);
    return { stillMember: true, topicName, changes };
  });
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
  if (c.action === 'save') return setPreferences(svc, { memberId: c.memberId, optedIn: c.topics, link: c.link, ...by });
  const { stillMember, changes } = await unsubscribe(svc, { memberId: c.memberId, scope: 'all', link: c.link, ...by });
  if (!stillMember) throw new NotFoundError(GONE);
  return changes;
}

/**
 * The preference page of a member (C3): their choices grouped by kind. Reached from a manage link
 * (C9), the link must be newer than the member's last e-mail change (C11).
 */
export async function preferencesPage(svc: ServiceContext, memberId: string, link?: { issuedAt: number }) {
  // One statement (nothing is shown unless the member and the link check out); per topic: when
  // its last bulletin went out, and whether it has a public archive.
  const data = await preferencePageData(svc.db, memberId);
  if (!data) throw new NotFoundError(GONE);
  if (link) assertManageLinkCurrent(data.member, link.issuedAt);
  const items = preferenceItems(data.topics, data.consents, data.seen);
  return {
    member: data.member,
    groups: groupedByKind(items, (i) => i.topic.kind),
    sent: data.sent,
    // Read with the rest: the banner middleware does not ask again (policies/policies.routes.ts).
    upcomingPolicy: data.upcomingPolicy,
  };
}

/** What an unsubscribe link would do (C4): whose link it is (still a member?) and which list, if not "all". */
export async function describeUnsubscribe(svc: ServiceContext, memberId: string, scope: number | 'all') {
  const [member, topic] = await Promise.all([findActiveMember(svc.db, memberId), scope === 'all' ? undefined : findTopic(svc.db, scope)]);
  if (scope !== 'all' && !topic) throw new InvalidLinkError('This unsubscribe link names a list that does not exist.');
  return { stillMember: member !== undefined, topicName: topic?.name ?? null };
}
