import { inTransaction } from '../db.js';
import { memberMessageEmail } from '../mail/member-message.js';
import { issueMemberToken } from '../members/member-tokens.js';
import { findActiveMemberByEmail } from '../members/members.repository.js';
import { AppError } from '../shared/errors.js';
import { withinLimit, type Limit } from '../shared/rate-limit.js';
import { queueMail, type ServiceContext } from '../shared/service-context.js';

export const SIGNIN_LINK_MINUTES = 15;
const PER_ADDRESS: Limit = { action: 'signin-link:address', windowSeconds: 900, max: 5 };
const PER_NETWORK: Limit = { action: 'signin-link:network', windowSeconds: 900, max: 30 };
export const PASSWORD_PER_ADDRESS: Limit = { action: 'signin-password:address', windowSeconds: 900, max: 10 };
export const PASSWORD_PER_NETWORK: Limit = { action: 'signin-password:network', windowSeconds: 900, max: 50 };

export class TooManyRequestsError extends AppError {
  constructor() {
    super('Too many attempts. Please wait a few minutes and try again.', 429, 'rate_limited');
  }
}

/** Counts an attempt against both limits; over either, the request is refused for everyone alike. */
export async function checkLimits(svc: ServiceContext, limits: [Limit, string][]): Promise<void> {
  for (const [limit, subject] of limits) {
    if (!(await withinLimit(svc.db, limit, subject))) throw new TooManyRequestsError();
  }
}

/**
 * Sends a single-use sign-in link to a member's address. The answer is the same whether the
 * address is known or not (no enumeration); unknown addresses get no mail.
 */
export async function requestSignInLink(svc: ServiceContext, input: { email: string; network: string }): Promise<void> {
  await checkLimits(svc, [
    [PER_ADDRESS, input.email],
    [PER_NETWORK, input.network],
  ]);
  await inTransaction(svc.db, async (trx) => {
    const member = await findActiveMemberByEmail(trx, input.email);
    if (!member?.email) return;
    const token = await issueMemberToken(trx, member.id, 'signin', SIGNIN_LINK_MINUTES);
    await queueMail(
      trx,
      svc,
      memberMessageEmail(svc.mail, {
        kind: 'signin_link',
        to: member.email,
        memberId: member.id,
        subject: `${svc.mail.orgName}: your sign-in link`,
        greeting: `Dear ${member.name ?? 'member'},`,
        paragraphs: [`Here is your link to sign in. It works once, for ${SIGNIN_LINK_MINUTES} minutes.`],
        action: { label: 'Sign in', url: svc.links.action('/signin', token) },
        after: ['If you did not ask for this, you can ignore this e-mail: nothing happens until the link is used.'],
        manageUrl: svc.links.manage(member.id),
      }),
    );
  });
}
