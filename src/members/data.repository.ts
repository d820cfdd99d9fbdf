import { readTogether, type DbOrTx } from '../db.js';
import { ledgerOf } from '../consent/consent.repository.js';

/**
 * Everything Assent holds about one member, for their data page and download (C5), including
 * every disclosure to a partner (C2). The rows use the names the member reads in the JSON file,
 * so the page and the download are built from one object and cannot drift apart. Left out on
 * purpose: the password hash (only whether one is set), hashed link tokens, sessions and
 * rate-limit counters, which are security material rather than data about the person.
 */
export interface MemberDataDetails {
  memberReference: string;
  name: string | null;
  email: string | null;
  postalAddress: string | null;
  phone: string | null;
  status: string;
  passwordSet: boolean;
  createdAt: Date;
  confirmedAt: Date | null;
  updatedAt: Date;
  erasedAt: Date | null;
}

export interface CurrentChoice {
  topic: string;
  kind: string;
  channel: string;
  partner: string | null;
  status: string;
  policyVersion: string;
  since: Date;
}

export interface ChoiceHistoryEntry {
  at: Date;
  topic: string;
  from: string | null;
  to: string;
  source: string;
  channel: string;
  policyVersion: string;
  requestReference: string | null;
  /** The name of the API key that recorded an opt-out from another system. */
  apiKey: string | null;
}

export interface SentEmail {
  kind: string;
  subject: string;
  recipient: string | null;
  status: string;
  createdAt: Date;
  sentAt: Date | null;
}

export interface DisclosureEntry {
  at: Date;
  partner: string;
  purpose: string;
  legalReference: string | null;
}

export interface RemovalRequestEntry {
  status: string;
  requestedAt: Date;
  confirmedAt: Date | null;
  dueAt: Date | null;
  cancelledAt: Date | null;
  completedAt: Date | null;
  holdReason: string | null;
}

export interface MemberData {
  details: MemberDataDetails;
  currentChoices: CurrentChoice[];
  choiceHistory: ChoiceHistoryEntry[];
  emailsSent: SentEmail[];
  disclosures: DisclosureEntry[];
  removalRequests: RemovalRequestEntry[];
}

/**
 * Gathers the member's whole record; undefined when there is no active member with that id. Staff
 * (anyStatus) also see pending and erased members; an erased row and its scrubbed e-mails hold no
 * personal data, so none can show.
 */
export async function gatherMemberData(db: DbOrTx, memberId: string, opts: { anyStatus?: boolean } = {}): Promise<MemberData | undefined> {
  const details = (await db('members')
    .where(opts.anyStatus ? { id: memberId } : { id: memberId, status: 'active' })
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
    })) as MemberDataDetails | undefined;
  if (!details) return undefined;

  const [currentChoices, choiceHistory, emailsSent, disclosures, removalRequests] = await readTogether(db, [
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
    // The whole ledger, newest first, with the staff request reference.
    ledgerOf(db, memberId).orderBy('e.id', 'desc').select({
      apiKey: 'ak.name',
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
        recipient: 'recipient',
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
  ]);
  return { details, currentChoices, choiceHistory, emailsSent, disclosures, removalRequests };
}
