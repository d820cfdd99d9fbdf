import type { DbOrTx } from '../db.js';
import type {
  ChoiceHistoryEntry,
  CurrentChoice,
  DisclosureEntry,
  MemberDataDetails,
  RemovalRequestEntry,
  SentEmail,
} from '../members/data.repository.js';

export type MemberStatus = 'pending' | 'active' | 'erased';
export type StaffChangeChannel = 'phone' | 'post' | 'email';

export interface MemberListRow {
  id: string;
  name: string | null;
  email: string | null;
  status: MemberStatus;
  created_at: Date;
}

/** Escapes LIKE wildcards so the staff search is a plain substring match. */
function likeSubstring(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Members whose e-mail or name contains the text (any case), newest first; every member when the
 * text is empty. One row more than asked tells whether there is a next page.
 */
export async function searchMembers(db: DbOrTx, s: { q: string; limit: number; offset: number }): Promise<MemberListRow[]> {
  const query = db('members')
    .select('id', 'name', 'email', 'status', 'created_at')
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(s.limit)
    .offset(s.offset);
  if (s.q) {
    const pattern = likeSubstring(s.q);
    query.where((w) => w.whereRaw('email::text ILIKE ?', [pattern]).orWhereRaw('name ILIKE ?', [pattern]));
  }
  return query as unknown as Promise<MemberListRow[]>;
}

export async function findMemberStatus(db: DbOrTx, id: string): Promise<{ id: string; status: MemberStatus } | undefined> {
  return db('members').where({ id }).first('id', 'status');
}

export interface StaffChangeNoteEntry {
  at: Date;
  staff: string;
  channel: StaffChangeChannel;
  note: string;
  requestReference: string | null;
}

export interface StaffMemberRecord {
  details: MemberDataDetails & { erasedAt: Date | null };
  currentChoices: CurrentChoice[];
  choiceHistory: ChoiceHistoryEntry[];
  emailsSent: SentEmail[];
  disclosures: DisclosureEntry[];
  removalRequests: RemovalRequestEntry[];
  /** Staff-only: never on the member's own data page, but in the staff export. */
  staffChangeNotes: StaffChangeNoteEntry[];
}

/**
 * The whole record of one member as staff see it, whatever the member's status (pending, active,
 * erased). It has the member data page's shape (src/members/data.repository.ts) plus the staff
 * change notes; an erased member's row holds no personal data, so none can show.
 */
export async function staffMemberRecord(db: DbOrTx, memberId: string): Promise<StaffMemberRecord | undefined> {
  const details = (await db('members')
    .where({ id: memberId })
    .first({
      memberReference: 'id',
      name: 'name',
      email: 'email',
      postalAddress: 'postal_address',
      phone: 'phone',
      status: 'status',
      passwordSet: db.raw('password_hash IS NOT NULL'),
      createdAt: 'created_at',
      confirmedAt: 'confirmed_at',
      updatedAt: 'updated_at',
      erasedAt: 'erased_at',
    })) as StaffMemberRecord['details'] | undefined;
  if (!details) return undefined;
  const erased = details.status === 'erased';

  const [currentChoices, choiceHistory, emailsSent, disclosures, removalRequests, staffChangeNotes] = await Promise.all([
    db('consents as c')
      .join('topics as t', 't.id', 'c.topic_id')
      .join('policy_versions as p', 'p.id', 'c.policy_version_id')
      .leftJoin('partners as pa', 'pa.id', 't.partner_id')
      .where('c.member_id', memberId)
      .orderBy([{ column: 't.sort_order' }, { column: 't.id' }])
      .select({
        topic: 't.name',
        kind: 't.kind',
        channel: 't.channel',
        partner: 'pa.name',
        status: 'c.status',
        policyVersion: 'p.version',
        since: 'c.updated_at',
      }) as Promise<CurrentChoice[]>,
    db('consent_ledger as e')
      .join('topics as t', 't.id', 'e.topic_id')
      .join('policy_versions as p', 'p.id', 'e.policy_version_id')
      .where('e.member_id', memberId)
      .orderBy('e.id', 'desc')
      .select({
        at: 'e.created_at',
        topic: 't.name',
        from: 'e.from_status',
        to: 'e.to_status',
        source: 'e.source',
        channel: 'e.channel',
        policyVersion: 'p.version',
        requestReference: 'e.request_reference',
      }) as Promise<ChoiceHistoryEntry[]>,
    db('email_messages')
      .where({ member_id: memberId })
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .select({
        kind: 'kind',
        subject: 'subject',
        // After erasure the address is gone from the member row; it must not resurface from the outbox.
        recipient: erased ? db.raw('NULL') : 'recipient',
        status: 'status',
        createdAt: 'created_at',
        sentAt: 'sent_at',
      }) as Promise<SentEmail[]>,
    db('disclosure_members as dm')
      .join('disclosures as d', 'd.id', 'dm.disclosure_id')
      .join('partners as pa', 'pa.id', 'd.partner_id')
      .where('dm.member_id', memberId)
      .orderBy('d.created_at', 'desc')
      .select({ at: 'd.created_at', partner: 'pa.name', purpose: 'd.purpose', legalReference: 'd.legal_reference' }) as Promise<
      DisclosureEntry[]
    >,
    db('removal_requests').where({ member_id: memberId }).orderBy('requested_at', 'desc').select({
      status: 'status',
      requestedAt: 'requested_at',
      confirmedAt: 'confirmed_at',
      dueAt: 'due_at',
      cancelledAt: 'cancelled_at',
      completedAt: 'completed_at',
      holdReason: 'hold_reason',
    }) as Promise<RemovalRequestEntry[]>,
    db('staff_change_notes as n')
      .join('staff_users as s', 's.id', 'n.staff_user_id')
      .where('n.member_id', memberId)
      .orderBy([
        { column: 'n.created_at', order: 'desc' },
        { column: 'n.id', order: 'desc' },
      ])
      .select({
        at: 'n.created_at',
        staff: 's.name',
        channel: 'n.channel',
        note: 'n.note',
        requestReference: 'n.request_reference',
      }) as Promise<StaffChangeNoteEntry[]>,
  ]);
  return { details, currentChoices, choiceHistory, emailsSent, disclosures, removalRequests, staffChangeNotes };
}

export async function insertStaffChangeNote(
  db: DbOrTx,
  n: { memberId: string; staffUserId: string; channel: StaffChangeChannel; note: string; reference: string | null },
): Promise<string> {
  const [row] = await db('staff_change_notes')
    .insert({ member_id: n.memberId, staff_user_id: n.staffUserId, channel: n.channel, note: n.note, request_reference: n.reference })
    .returning('id');
  return (row as { id: string }).id;
}
