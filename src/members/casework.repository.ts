import { readTogether, type DbOrTx } from '../db.js';
import { gatherMemberData, type MemberData } from './data.repository.js';

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

export interface StaffMemberRecord extends MemberData {
  /** Staff-only: never on the member's own data page, but in the staff export. */
  staffChangeNotes: StaffChangeNoteEntry[];
}

/** The whole record of one member as staff see it, whatever the member's status: the member's own data plus the staff change notes. */
export async function staffMemberRecord(db: DbOrTx, memberId: string): Promise<StaffMemberRecord | undefined> {
  const [data, staffChangeNotes] = await readTogether(db, [
    () => gatherMemberData(db, memberId, { anyStatus: true }),
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
  return data && { ...data, staffChangeNotes };
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
