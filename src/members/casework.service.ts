import { currentConsents, listOfferedTopics } from '../consent/consent.repository.js';
import { setPreferences } from '../consent/consent.service.js';
import { type ConsentChange } from '../consent/consent.repository.js';
import { inTransaction } from '../db.js';
import { AppError, NotFoundError, ValidationError } from '../shared/errors.js';
import type { ServiceContext } from '../context.js';
import { groupedByKind, preferencesFor } from '../consent/consent.service.js';
import {
  findMemberStatus,
  insertStaffChangeNote,
  searchMembers,
  staffMemberRecord,
  type MemberListRow,
  type MemberStatus,
  type StaffMemberRecord,
} from './casework.repository.js';
import { MEMBERS_PAGE_SIZE } from './casework.schemas.js';
import { lockMember } from '../identity/members.repository.js';
import type { StaffRecordChange } from './casework.schemas.js';
import { appendAudit } from '../audit/audit.repository.js';

const NOT_OFFERED = 'One of the choices is not a topic we offer. Please reload the page and try again.';
const NEEDS_REFERENCE =
  "An opt-in to a partner offer or to sharing data with a partner needs the member's own request: give the letter date, call reference or e-mail subject.";

/** Only a confirmed, not erased member can have choices changed on their behalf. */
export function assertChangeable(status: MemberStatus): void {
  if (status === 'pending')
    throw new AppError('This member has not confirmed their sign-up yet, so their choices cannot be changed.', 409, 'member_pending');
  if (status === 'erased') throw new AppError("This member's data was erased; there is nothing left to change.", 409, 'member_erased');
}

/**
 * A change that reached staff by phone, post or e-mail (C3). The ledger events (source 'staff',
 * the channel, the member's request reference), the confirmation e-mail (C14), the free-text note
 * (kept outside the ledger so erasure can delete it) and the audit entry commit together, or none
 * does. An opt-in to a third-party offer or partner data sharing needs the member's own request
 * as reference (C1; the database refuses it too). Nothing changed: nothing is stored or sent.
 */
export async function recordChangeOnBehalf(
  svc: ServiceContext,
  staffUserId: string,
  memberId: string,
  change: StaffRecordChange,
): Promise<ConsentChange[]> {
  return inTransaction(svc.db, async (trx) => {
    const member = await lockMember(trx, memberId);
    if (!member) throw new NotFoundError('We could not find that member.');
    assertChangeable(member.status);
    const topics = await listOfferedTopics(trx);
    const consents = await currentConsents(trx, memberId);
    const byId = new Map(topics.map((t) => [t.id, t]));
    if (change.topics.some((id) => !byId.has(id))) throw new ValidationError({ topics: NOT_OFFERED });
    const needsReference = change.topics.some((id) => {
      const kind = byId.get(id)!.kind;
      return (kind === 'third_party_offer' || kind === 'partner_data_sharing') && consents.get(id)?.status !== 'opted_in';
    });
    if (needsReference && !change.reference) throw new ValidationError({ reference: NEEDS_REFERENCE });

    const changes = await setPreferences(
      svc,
      { memberId, optedIn: change.topics, source: 'staff', channel: change.channel, reference: change.reference },
      trx,
    );
    if (changes.length === 0) return changes;
    const noteId = await insertStaffChangeNote(trx, {
      memberId,
      staffUserId,
      channel: change.channel,
      note: change.note,
      reference: change.reference,
    });
    await appendAudit(trx, {
      staffUserId,
      action: 'member.changed_on_behalf',
      memberId,
      details: { topicIds: changes.map((c) => c.topic.id), channel: change.channel, noteId },
    });
    return changes;
  });
}

/**
 * Staff find members by e-mail or name (C11). The audit entry holds the number of results, never
 * the text searched for.
 */
export async function searchMembersAsStaff(
  svc: ServiceContext,
  staffUserId: string,
  search: { q: string; page: number },
): Promise<{ members: MemberListRow[]; hasNext: boolean }> {
  const rows = await searchMembers(svc.db, { q: search.q, limit: MEMBERS_PAGE_SIZE + 1, offset: (search.page - 1) * MEMBERS_PAGE_SIZE });
  const members = rows.slice(0, MEMBERS_PAGE_SIZE);
  await appendAudit(svc.db, { staffUserId, action: 'member.searched', details: { results: members.length } });
  return { members, hasNext: rows.length > MEMBERS_PAGE_SIZE };
}

/** A member's whole record, opened or downloaded by staff: every opening is in the audit log (C11). */
export async function openMemberRecord(
  svc: ServiceContext,
  staffUserId: string,
  memberId: string,
  how: 'viewed' | 'exported',
): Promise<StaffMemberRecord> {
  const record = await staffMemberRecord(svc.db, memberId);
  if (!record) throw new NotFoundError('We could not find that member.');
  await appendAudit(svc.db, { staffUserId, action: `member.${how}`, memberId: record.details.memberReference });
  return record;
}

/**
 * What the change form shows: the member's details and choices. Opening the form is a view of
 * the record and is audited; re-showing it with the errors of a submission is not a new view.
 */
export async function changeFormData(svc: ServiceContext, staffUserId: string, memberId: string, opts: { audit: boolean }) {
  const member = await findMemberStatus(svc.db, memberId);
  if (!member) throw new NotFoundError('We could not find that member.');
  assertChangeable(member.status);
  const [record, items] = await Promise.all([staffMemberRecord(svc.db, memberId), preferencesFor(svc.db, memberId)]);
  const groups = groupedByKind(items, (i) => i.topic.kind);
  if (opts.audit) await appendAudit(svc.db, { staffUserId, action: 'member.viewed', memberId, details: { page: 'change' } });
  return { details: record!.details, groups };
}
