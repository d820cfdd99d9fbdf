import { z } from 'zod';
import { multiLineText, singleLineText } from '../shared/http/text.js';
import { isUuid } from '../shared/ids.js';

/** An empty optional field is "not given", stored as NULL. */
const optionalText = (max: number, message: string) =>
  singleLineText()
    .max(max, message)
    .transform((v) => (v === '' ? null : v));

const termsDate = singleLineText()
  .refine((v) => v === '' || (/^\d{4}-\d{2}-\d{2}$/.test(v) && isRealDate(v)), 'Enter the date of the terms as YYYY-MM-DD.')
  .transform((v) => (v === '' ? null : v));

function isRealDate(v: string): boolean {
  const d = new Date(`${v}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v && d.getUTCFullYear() >= 1900 && d.getUTCFullYear() <= 2999;
}

/** Creating or editing a partner. A contract on file is its reference and the date of its terms, together (C2). */
export const PartnerForm = z
  .object({
    name: singleLineText().min(1, 'Enter the partner’s name.').max(200, 'Use at most 200 characters.'),
    contract_reference: optionalText(200, 'Use at most 200 characters.').default(null),
    terms_date: termsDate.default(null),
  })
  .refine((v) => (v.contract_reference === null) === (v.terms_date === null), {
    message: 'A contract on file needs both its reference and the date of its terms (or neither, if there is no contract yet).',
    path: ['terms_date'],
  })
  .transform((v) => ({ name: v.name, contractReference: v.contract_reference, termsDate: v.terms_date }));

const purpose = multiLineText({ tabs: true }).min(1, 'Say what the partner receives the data for.').max(500, 'Use at most 500 characters.');

/** C2: an export of the members who consent to sharing with the partner. */
export const ConsentDisclosureForm = z.object({ purpose });

export const MAX_LEGAL_MEMBERS = 10000;

/** C2: a disclosure required by law: the members concerned, its purpose and its legal reference. */
export const LegalDisclosureForm = z
  .object({
    member_ids: multiLineText({ tabs: true }).max(400000, 'Too many member references at once.'),
    legal_purpose: purpose,
    legal_reference: singleLineText()
      .min(1, 'Enter the law, court order or request that requires this disclosure.')
      .max(500, 'Use at most 500 characters.'),
  })
  .transform((v, ctx) => {
    const ids = [
      ...new Set(
        v.member_ids
          .split(/[\s,;]+/)
          .filter(Boolean)
          .map((s) => s.toLowerCase()),
      ),
    ];
    const bad = ids.filter((id) => !isUuid(id));
    if (ids.length === 0) ctx.addIssue({ code: 'custom', path: ['member_ids'], message: 'Enter at least one member reference.' });
    else if (bad.length)
      ctx.addIssue({
        code: 'custom',
        path: ['member_ids'],
        message: `These are not member references: ${bad.slice(0, 5).join(', ')}${bad.length > 5 ? ' …' : ''}`.slice(0, 300),
      });
    else if (ids.length > MAX_LEGAL_MEMBERS)
      ctx.addIssue({ code: 'custom', path: ['member_ids'], message: `Record at most ${MAX_LEGAL_MEMBERS} members at once.` });
    return { memberIds: ids, purpose: v.legal_purpose, legalReference: v.legal_reference };
  });

/** Partner ids are serial integers; anything else in the URL is a page that does not exist. */
export function parsePartnerId(raw: string): number | undefined {
  if (!/^[1-9]\d{0,9}$/.test(raw)) return undefined;
  const id = Number(raw);
  return id <= 2147483647 ? id : undefined;
}
