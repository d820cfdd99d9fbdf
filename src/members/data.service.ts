import { checkLimits } from '../shared/rate-limit.js';
import { inTransaction, type DbOrTx } from '../db.js';
import { dataLinkEmail } from './data.emails.js';
import { InvalidLinkError, NotFoundError } from '../shared/errors.js';
import type { Limit } from '../shared/rate-limit.js';
import { queueMail, type ServiceContext } from '../context.js';
import { gatherMemberData, type MemberData } from './data.repository.js';
import { consumeMemberToken, issueMemberToken, peekMemberToken } from '../identity/member-tokens.js';
import { findActiveMember } from '../identity/members.repository.js';

/**
 * "My data" (C5, C2). Seeing everything we hold is a sensitive action, so a session alone is not
 * enough: it needs a fresh single-use link sent to the member's address (DESIGN.md, security
 * decisions). Both the page link and the download link are 'data' tokens; the token's `use`
 * keeps one from standing in for the other.
 */
export const DATA_LINK_MINUTES = 30;
export const DATA_DOWNLOAD_MINUTES = 5;
const PER_MEMBER: Limit = { action: 'data-link:member', windowSeconds: 900, max: 5 };

type DataUse = 'page' | 'download';

export interface MemberDataExport extends MemberData {
  generatedAt: Date;
}

const INVALID_LINK = 'This link to your data has expired or was already used. Sign in and ask for a new one on the Your data page.';

/** E-mails the signed-in member a single-use link to their data page. */
/** Mails a fresh single-use link to the member's data; returns the address it went to, for the page. */
export async function requestDataLink(svc: ServiceContext, memberId: string): Promise<string> {
  await checkLimits(svc.db, [[PER_MEMBER, memberId]]);
  return inTransaction(svc.db, async (trx) => {
    const member = await findActiveMember(trx, memberId);
    if (!member?.email) throw new NotFoundError();
    const token = await issueMemberToken(trx, memberId, 'data', DATA_LINK_MINUTES, { use: 'page' satisfies DataUse });
    await queueMail(
      trx,
      svc,
      dataLinkEmail(svc.mail, {
        to: member.email,
        memberId,
        name: member.name,
        url: svc.links.action('/l/data', token),
        minutes: DATA_LINK_MINUTES,
        manageUrl: svc.links.manage(memberId),
      }),
    );
    return member.email;
  });
}

/** Checks the e-mailed link without using it: the GET only shows a button (mail scanners follow links). */
export async function checkDataLink(svc: ServiceContext, token: string): Promise<void> {
  const live = await peekMemberToken(svc.db, token, 'data');
  if (live?.data.use !== 'page') throw new InvalidLinkError(INVALID_LINK);
}

/**
 * Uses the e-mailed link and returns the member's data with a fresh download token. The page
 * link is spent by now, so the download gets its own short-lived single-use token, issued in the
 * same transaction; it works without a cookie, like the page.
 */
export async function openMemberData(svc: ServiceContext, token: string): Promise<{ data: MemberDataExport; downloadToken: string }> {
  return inTransaction(svc.db, async (trx) => {
    const memberId = await spend(trx, token, 'page');
    const data = await collect(trx, memberId);
    const downloadToken = await issueMemberToken(trx, memberId, 'data', DATA_DOWNLOAD_MINUTES, { use: 'download' satisfies DataUse });
    return { data, downloadToken };
  });
}

/** Uses a download token and returns the same data as the page, for the JSON file. */
export async function downloadMemberData(svc: ServiceContext, token: string): Promise<MemberDataExport> {
  return inTransaction(svc.db, async (trx) => collect(trx, await spend(trx, token, 'download')));
}

/** Consumes a 'data' token meant for this use; a token for the other use is refused and, the transaction rolling back, left unspent. */
async function spend(trx: DbOrTx, token: string, use: DataUse): Promise<string> {
  const live = await consumeMemberToken(trx, token, 'data');
  if (!live || live.data.use !== use) throw new InvalidLinkError(INVALID_LINK);
  return live.memberId;
}

async function collect(trx: DbOrTx, memberId: string): Promise<MemberDataExport> {
  const data = await gatherMemberData(trx, memberId);
  if (!data) throw new InvalidLinkError(INVALID_LINK);
  return { generatedAt: new Date(), ...data };
}
