import type { Knex } from 'knex';
import type { DbOrTx } from '../db.js';

export interface PartnerRow {
  id: number;
  name: string;
  contract_reference: string | null;
  /** YYYY-MM-DD, read as text so no time zone can move the day. */
  terms_date: string | null;
  created_at: Date;
}

export interface PartnerListRow extends PartnerRow {
  topic_count: number;
  disclosure_count: number;
  last_disclosed_at: Date | null;
}

export interface PartnerTopicRow {
  id: number;
  slug: string;
  name: string;
  kind: string;
  channel: string;
  retired_at: Date | null;
  opted_in: number;
}

export interface DisclosureListRow {
  id: string;
  kind: 'consent' | 'legal';
  purpose: string;
  legal_reference: string | null;
  staff_name: string | null;
  created_at: Date;
  member_count: number;
}

export interface PartnerFields {
  name: string;
  contractReference: string | null;
  termsDate: string | null;
}

const PARTNER_COLUMNS = ['id', 'name', 'contract_reference', 'created_at'] as const;

/** A contract on file is a reference and the date of the terms (C2); the database checks the same. */
export function hasContract(p: Pick<PartnerRow, 'contract_reference' | 'terms_date'>): boolean {
  return Boolean(p.contract_reference?.trim()) && p.terms_date !== null;
}

export async function listPartners(db: DbOrTx): Promise<PartnerListRow[]> {
  const { rows } = await db.raw<{ rows: PartnerListRow[] }>(`
    SELECT p.id, p.name, p.contract_reference, to_char(p.terms_date, 'YYYY-MM-DD') AS terms_date, p.created_at,
           (SELECT count(*) FROM topics t WHERE t.partner_id = p.id) AS topic_count,
           (SELECT count(*) FROM disclosures d WHERE d.partner_id = p.id) AS disclosure_count,
           (SELECT max(d.created_at) FROM disclosures d WHERE d.partner_id = p.id) AS last_disclosed_at
    FROM partners p
    ORDER BY lower(p.name), p.id`);
  return rows;
}

export async function findPartner(db: DbOrTx, id: number): Promise<PartnerRow | undefined> {
  return db('partners')
    .where({ id })
    .first([...PARTNER_COLUMNS, db.raw(`to_char(terms_date, 'YYYY-MM-DD') AS terms_date`)]) as Promise<PartnerRow | undefined>;
}

/** Locks the partner row, so a contract cannot be withdrawn while a disclosure is being recorded. */
export async function lockPartner(trx: Knex.Transaction, id: number): Promise<PartnerRow | undefined> {
  return trx('partners')
    .where({ id })
    .forUpdate()
    .first([...PARTNER_COLUMNS, trx.raw(`to_char(terms_date, 'YYYY-MM-DD') AS terms_date`)]) as Promise<PartnerRow | undefined>;
}

export async function insertPartner(db: DbOrTx, v: PartnerFields): Promise<number> {
  const [row] = await db('partners')
    .insert({ name: v.name, contract_reference: v.contractReference, terms_date: v.termsDate })
    .returning('id');
  return (row as { id: number }).id;
}

export async function updatePartner(db: DbOrTx, id: number, v: PartnerFields): Promise<void> {
  await db('partners').where({ id }).update({ name: v.name, contract_reference: v.contractReference, terms_date: v.termsDate });
}

/** The partner's topics, with how many active members are opted in to each now. */
export async function partnerTopics(db: DbOrTx, partnerId: number): Promise<PartnerTopicRow[]> {
  const { rows } = await db.raw<{ rows: PartnerTopicRow[] }>(
    `SELECT t.id, t.slug, t.name, t.kind, t.channel, t.retired_at,
            (SELECT count(*) FROM consents c JOIN members m ON m.id = c.member_id
             WHERE c.topic_id = t.id AND c.status = 'opted_in' AND m.status = 'active') AS opted_in
     FROM topics t WHERE t.partner_id = ? ORDER BY t.sort_order, t.id`,
    [partnerId],
  );
  return rows;
}

/**
 * Who may be disclosed to the partner with consent, right now: active members opted in to one of
 * its current data-sharing topics. One definition, used for the count shown, the recorded
 * disclosure and (in the database trigger) the check of each recorded member.
 */
const CONSENTED_MEMBERS = `
  SELECT DISTINCT c.member_id
  FROM consents c
  JOIN topics t ON t.id = c.topic_id
  JOIN members m ON m.id = c.member_id
  WHERE t.partner_id = :partnerId AND t.kind = 'partner_data_sharing' AND t.retired_at IS NULL
    AND c.status = 'opted_in' AND m.status = 'active'`;

export async function countConsentedMembers(db: DbOrTx, partnerId: number): Promise<number> {
  const { rows } = await db.raw<{ rows: { n: number }[] }>(`SELECT count(*) AS n FROM (${CONSENTED_MEMBERS}) x`, { partnerId });
  return rows[0]?.n ?? 0;
}

export async function insertDisclosure(
  db: DbOrTx,
  v: { partnerId: number; kind: 'consent' | 'legal'; purpose: string; legalReference: string | null; staffUserId: string },
): Promise<string> {
  const [row] = await db('disclosures')
    .insert({ partner_id: v.partnerId, kind: v.kind, purpose: v.purpose, legal_reference: v.legalReference, staff_user_id: v.staffUserId })
    .returning('id');
  return (row as { id: string }).id;
}

/** Records, in one statement, exactly the members who consent at this moment; returns how many. */
export async function insertConsentedMembers(db: DbOrTx, disclosureId: string, partnerId: number): Promise<number> {
  const result = await db.raw<{ rowCount: number }>(
    `INSERT INTO disclosure_members (disclosure_id, member_id) SELECT CAST(:disclosureId AS uuid), member_id FROM (${CONSENTED_MEMBERS}) x`,
    { disclosureId, partnerId },
  );
  return result.rowCount;
}

/** Of the given ids, those that are not members whose data still exists (unknown or erased). */
export async function missingMembers(db: DbOrTx, memberIds: readonly string[]): Promise<string[]> {
  const { rows } = await db.raw<{ rows: { id: string }[] }>(
    `SELECT x.id FROM unnest(?::uuid[]) AS x(id)
     WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.id = x.id AND m.status <> 'erased')
     ORDER BY x.id`,
    [[...memberIds]],
  );
  return rows.map((r) => r.id);
}

export async function insertListedMembers(db: DbOrTx, disclosureId: string, memberIds: readonly string[]): Promise<number> {
  const result = await db.raw<{ rowCount: number }>(
    `INSERT INTO disclosure_members (disclosure_id, member_id) SELECT DISTINCT ?::uuid, x.id FROM unnest(?::uuid[]) AS x(id)`,
    [disclosureId, [...memberIds]],
  );
  return result.rowCount;
}

export async function partnerDisclosures(db: DbOrTx, partnerId: number, limit: number): Promise<DisclosureListRow[]> {
  const { rows } = await db.raw<{ rows: DisclosureListRow[] }>(
    `SELECT d.id, d.kind, d.purpose, d.legal_reference, s.name AS staff_name, d.created_at,
            (SELECT count(*) FROM disclosure_members dm WHERE dm.disclosure_id = d.id) AS member_count
     FROM disclosures d LEFT JOIN staff_users s ON s.id = d.staff_user_id
     WHERE d.partner_id = ?
     ORDER BY d.created_at DESC, d.id
     LIMIT ?`,
    [partnerId, limit],
  );
  return rows;
}

/** The personal data handed over in a disclosure: one row per recorded member whose data still exists. */
export function disclosureRowsQuery(db: DbOrTx, disclosureId: string): Knex.Raw {
  return db.raw(
    `SELECT m.name, m.email, m.postal_address, m.phone
     FROM disclosure_members dm JOIN members m ON m.id = dm.member_id
     WHERE dm.disclosure_id = ? AND m.status <> 'erased'`,
    [disclosureId],
  );
}
