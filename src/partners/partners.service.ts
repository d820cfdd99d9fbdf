import type { Knex } from 'knex';
import { appendAudit } from '../audit/audit.repository.js';
import { inTransaction } from '../db.js';
import { NotFoundError, ValidationError, translateRefusal } from '../shared/errors.js';
import type { ServiceContext } from '../context.js';
import {
  countConsentedMembers,
  disclosureRowsQuery,
  listPartners,
  findPartner,
  hasContract,
  insertConsentedMembers,
  insertDisclosure,
  insertListedMembers,
  insertPartner,
  lockPartner,
  missingMembers,
  partnerDisclosures,
  partnerTopics,
  updatePartner,
  type DisclosureListRow,
  type PartnerListRow,
  type PartnerFields,
  type PartnerRow,
  type PartnerTopicRow,
} from './partners.repository.js';

export const DISCLOSURES_SHOWN = 200;
const NO_CONTRACT =
  'This partner has no contract on file (a contract reference and the date of its terms). Nothing can be disclosed to it, so nothing was recorded. Record the contract first.';

export interface PartnerPage {
  partner: PartnerRow;
  contractOnFile: boolean;
  topics: PartnerTopicRow[];
  disclosures: DisclosureListRow[];
  /** Members a consent disclosure would include if made now. */
  consentingNow: number;
}

export async function partnerPage(svc: ServiceContext, id: number): Promise<PartnerPage> {
  const partner = await findPartner(svc.db, id);
  if (!partner) throw new NotFoundError('There is no such partner.');
  const [topics, disclosures, consentingNow] = await Promise.all([
    partnerTopics(svc.db, id),
    partnerDisclosures(svc.db, id, DISCLOSURES_SHOWN),
    countConsentedMembers(svc.db, id),
  ]);
  return { partner, contractOnFile: hasContract(partner), topics, disclosures, consentingNow };
}

function formInput(v: PartnerFields): Record<string, unknown> {
  return { name: v.name, contract_reference: v.contractReference ?? '', terms_date: v.termsDate ?? '' };
}

function nameTaken(err: unknown, v: PartnerFields): never {
  return translateRefusal(err, { partners_name_key: ['name', 'There is already a partner with this name.'] }, formInput(v));
}

export async function createPartner(svc: ServiceContext, staffUserId: string, v: PartnerFields): Promise<number> {
  return inTransaction(svc.db, async (trx) => {
    const id = await insertPartner(trx, v).catch((err: unknown) => nameTaken(err, v));
    await appendAudit(trx, { staffUserId, action: 'partner.created', details: { partnerId: id, contractOnFile: hasContract(toRow(v)) } });
    return id;
  });
}

export async function editPartner(svc: ServiceContext, staffUserId: string, id: number, v: PartnerFields): Promise<void> {
  await inTransaction(svc.db, async (trx) => {
    const before = await lockPartner(trx, id);
    if (!before) throw new NotFoundError('There is no such partner.');
    const changed = [
      before.name !== v.name && 'name',
      before.contract_reference !== v.contractReference && 'contract_reference',
      before.terms_date !== v.termsDate && 'terms_date',
    ].filter((f): f is string => Boolean(f));
    if (!changed.length) return;
    await updatePartner(trx, id, v).catch((err: unknown) => nameTaken(err, v));
    await appendAudit(trx, {
      staffUserId,
      action: 'partner.updated',
      details: { partnerId: id, changed, contractOnFile: hasContract(toRow(v)) },
    });
  });
}

function toRow(v: PartnerFields): Pick<PartnerRow, 'contract_reference' | 'terms_date'> {
  return { contract_reference: v.contractReference, terms_date: v.termsDate };
}

/** The database refused (a contract withdrawn or a consent changed mid-way): nothing was recorded. */
function refused(err: unknown): never {
  return translateRefusal(err, {
    '*': 'The database refused this disclosure (the contract or a member’s choice changed meanwhile). Nothing was recorded; please try again.',
  });
}

/**
 * C2: one transaction records the disclosure and, in one INSERT … SELECT, exactly the members opted
 * in to the partner's data-sharing topics at this moment, plus the audit entry. The caller then
 * streams the recorded members' data; the member list never sits in memory.
 */
export async function recordConsentDisclosure(
  svc: ServiceContext,
  staffUserId: string,
  partnerId: number,
  purpose: string,
): Promise<{ disclosureId: string; members: number; rows: Knex.Raw }> {
  const recorded = await inTransaction(svc.db, async (trx) => {
    const partner = await lockPartner(trx, partnerId);
    if (!partner) throw new NotFoundError('There is no such partner.');
    if (!hasContract(partner)) throw new ValidationError({ contract_reference: NO_CONTRACT }, { purpose });
    const disclosureId = await insertDisclosure(trx, { partnerId, kind: 'consent', purpose, legalReference: null, staffUserId }).catch(
      refused,
    );
    const members = await insertConsentedMembers(trx, disclosureId, partnerId).catch(refused);
    if (members === 0)
      throw new ValidationError(
        {
          form: 'Nobody is opted in to sharing their data with this partner at the moment, so there is nothing to export. Nothing was recorded.',
        },
        { purpose },
      );
    await appendAudit(trx, { staffUserId, action: 'disclosure.exported', details: { partnerId, disclosureId, members } });
    return { disclosureId, members };
  });
  // Recorded and committed: what the caller streams is exactly the members recorded above.
  return { ...recorded, rows: disclosureRowsQuery(svc.db, recorded.disclosureId) };
}

/** The partners with their contracts and how much was disclosed to each. */
export function partnersForStaff(svc: ServiceContext): Promise<PartnerListRow[]> {
  return listPartners(svc.db);
}

/**
 * C2: a disclosure the law requires needs no consent but is recorded all the same, with its legal
 * reference, and shown to each member concerned. The contract rule still applies (see the migration).
 */
export async function recordLegalDisclosure(
  svc: ServiceContext,
  staffUserId: string,
  partnerId: number,
  v: { memberIds: string[]; purpose: string; legalReference: string },
  input: Record<string, unknown>,
): Promise<{ disclosureId: string; members: number }> {
  return inTransaction(svc.db, async (trx) => {
    const partner = await lockPartner(trx, partnerId);
    if (!partner) throw new NotFoundError('There is no such partner.');
    if (!hasContract(partner)) throw new ValidationError({ contract_reference: NO_CONTRACT }, input);
    const missing = await missingMembers(trx, v.memberIds);
    if (missing.length)
      throw new ValidationError(
        {
          member_ids: `No member with data on file has these references: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}. Nothing was recorded.`,
        },
        input,
      );
    const disclosureId = await insertDisclosure(trx, {
      partnerId,
      kind: 'legal',
      purpose: v.purpose,
      legalReference: v.legalReference,
      staffUserId,
    }).catch(refused);
    const members = await insertListedMembers(trx, disclosureId, v.memberIds);
    await appendAudit(trx, {
      staffUserId,
      action: 'disclosure.legal_recorded',
      memberId: v.memberIds.length === 1 ? v.memberIds[0] : null,
      details: { partnerId, disclosureId, members },
    });
    return { disclosureId, members };
  });
}
