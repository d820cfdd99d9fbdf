import type { ServiceContext } from '../context.js';
import { audienceCopy, findCurrentTopic } from '../consent/audience.repository.js';
import { currentConsents, listOfferedTopics } from '../consent/consent.repository.js';
import { unsubscribe } from '../consent/consent.service.js';
import { findActiveMember, findActiveMemberByEmail, type MemberRow } from '../identity/members.repository.js';
import { NotFoundError, ValidationError } from '../shared/errors.js';
import { isSuppressed, normaliseAddress } from '../shared/suppression.js';
import { changesAfter, ledgerAfter } from './api.repository.js';
import type { ApiKeyRow } from './api-keys.repository.js';
import { suppressReportedAddress, type ReportedReason } from './suppressions.service.js';

/**
 * The REST API's use cases (issue 12), called by src/api/. Reads return plain objects in the
 * shapes of src/api/api.schemas.ts; the one write on members is an opt-out, through the consent
 * service like any other (ledger event and confirmation e-mail in one transaction, C14). There is
 * no way in here to opt anyone in (C1); the database refuses it as well.
 */
export const NO_MEMBER = 'There is no active member with this id.';
export const NO_TOPIC = 'There is no such current topic.';
const NO_ADDRESS = 'No member can be looked up with this address.';

/** Cursors are opaque to callers: base64url of the position. */
export const encodeCursor = (position: string) => Buffer.from(position, 'utf8').toString('base64url');
function decodeCursor(cursor: string | undefined, shape: RegExp): string | undefined {
  if (cursor === undefined) return undefined;
  const position = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!shape.test(position)) throw new NotFoundError('This cursor is not one we gave out. Start again without a cursor.');
  return position;
}

export async function apiTopics(svc: ServiceContext) {
  const topics = await listOfferedTopics(svc.db);
  return topics.map((t) => ({
    id: t.id,
    slug: t.slug,
    name: t.name,
    description: t.description,
    kind: t.kind,
    channel: t.channel,
    frequency: t.frequency,
    partner: t.partner_name,
  }));
}

async function memberView(svc: ServiceContext, member: MemberRow) {
  const [topics, consents, suppressed] = await Promise.all([
    listOfferedTopics(svc.db),
    currentConsents(svc.db, member.id),
    isSuppressed(svc.db, member.email!, svc.keys.suppression),
  ]);
  return {
    id: member.id,
    email: member.email!,
    name: member.name,
    status: 'active' as const,
    deliverable: member.email_undeliverable_at === null && !suppressed,
    confirmed_at: member.confirmed_at,
    choices: topics.map((t) => {
      const c = consents.get(t.id);
      return { topic_id: t.id, topic_slug: t.slug, status: c?.status ?? ('opted_out' as const), since: c?.updated_at ?? null };
    }),
  };
}

/** An exact lookup: an unknown address and a suppressed one answer the same (no enumeration). */
export async function apiMemberByEmail(svc: ServiceContext, email: string) {
  const address = normaliseAddress(email);
  const member = await findActiveMemberByEmail(svc.db, address);
  if (!member || (await isSuppressed(svc.db, address, svc.keys.suppression))) throw new NotFoundError(NO_ADDRESS);
  return memberView(svc, member);
}

export async function apiMember(svc: ServiceContext, id: string) {
  const member = await findActiveMember(svc.db, id);
  if (!member) throw new NotFoundError(NO_MEMBER);
  return memberView(svc, member);
}

export async function apiLedger(svc: ServiceContext, id: string, page: { cursor?: string; limit: number }) {
  if (!(await findActiveMember(svc.db, id))) throw new NotFoundError(NO_MEMBER);
  const after = Number(decodeCursor(page.cursor, /^\d{1,18}$/) ?? 0);
  const rows = await ledgerAfter(svc.db, id, after, page.limit + 1);
  const items = rows.slice(0, page.limit).map((r) => ({
    id: r.id,
    topic_id: r.topic_id,
    topic_name: r.topic_name,
    from: r.from_status,
    to: r.to_status,
    source: r.source,
    channel: r.channel,
    api_key: r.api_key,
    policy_version: r.policy_version,
    at: r.created_at,
  }));
  const last = items.at(-1);
  return { items, next_cursor: rows.length > page.limit && last ? encodeCursor(String(last.id)) : null };
}

/** The changes after a cursor; the next cursor is always given, so a poller keeps its place even when nothing changed. */
export async function apiChanges(svc: ServiceContext, page: { cursor?: string; limit: number }) {
  const position = decodeCursor(page.cursor, /^\d{1,20}\.\d{1,18}$/) ?? '0.0';
  const [tx, id] = position.split('.') as [string, string];
  const rows = await changesAfter(svc.db, { tx, id: Number(id) }, page.limit + 1);
  const items = rows.slice(0, page.limit);
  const last = items.at(-1);
  return {
    items: items.map((r) => ({
      kind: r.kind,
      member_id: r.member_id,
      at: r.created_at,
      consent: r.kind === 'consent' ? { topic_id: r.topic_id!, from: r.from_status, to: r.to_status!, source: r.source! } : null,
    })),
    next_cursor: encodeCursor(last ? `${last.tx}.${last.id}` : position),
    has_more: rows.length > page.limit,
  };
}

/** The topic's audience (C12: opted in now, active, deliverable, not suppressed) as a query to stream, and how to add each row's links. */
export async function apiAudience(svc: ServiceContext, topicId: number, format: 'csv' | 'ndjson') {
  const topic = await findCurrentTopic(svc.db, topicId);
  if (!topic) throw new NotFoundError(NO_TOPIC);
  return { topic, copy: audienceCopy(topic.id, svc.keys.suppression, svc.links.inSql(), format) };
}

/**
 * An opt-out another system recorded (C3: it applies at once): ledger source 'api' naming the key,
 * and the member is mailed the usual confirmation (C14). Only ever an opt-out (C1).
 */
export async function apiOptOut(svc: ServiceContext, key: ApiKeyRow, id: string, input: { topic: number | 'all'; reference?: string }) {
  if (!(await findActiveMember(svc.db, id))) throw new NotFoundError(NO_MEMBER);
  if (input.topic !== 'all' && !(await listOfferedTopics(svc.db)).some((t) => t.id === input.topic))
    throw new ValidationError({ topic: 'This is not a topic we offer.' });
  const { changes } = await unsubscribe(svc, {
    memberId: id,
    scope: input.topic,
    source: 'api',
    channel: 'system',
    reference: input.reference || null,
    apiKeyId: key.id,
  });
  return {
    member_id: id,
    changed: changes.map((c) => ({ topic_id: c.topic.id, from: c.from, to: 'opted_out' as const })),
  };
}

export function apiSuppress(svc: ServiceContext, input: { email: string; reason: ReportedReason }): Promise<void> {
  return suppressReportedAddress(svc, input);
}
