import { InvalidLinkError } from '../shared/errors.js';
import type { Links } from '../shared/links.js';
import type { MemberRow } from './members.repository.js';

/**
 * A manage link (the signed /p/ link in every e-mail, C9) issued before the member's last e-mail
 * change no longer works (C11): the address it was sent to is not the member's any more.
 */
export function assertManageLinkCurrent(member: Pick<MemberRow, 'links_valid_from'>, issuedAt: number): void {
  if (member.links_valid_from && issuedAt < Math.floor(member.links_valid_from.getTime() / 1000)) {
    throw new InvalidLinkError(
      'This preferences link was sent before the e-mail address of the membership changed, so it no longer works. Use the link in a newer e-mail from us.',
    );
  }
}

/** The member a manage link names and when it was issued; a forged or expired link is refused. */
export function readManageLink(links: Links, token: string): { memberId: string; issuedAt: number } {
  const link = links.readManage(token);
  if (!link) {
    throw new InvalidLinkError(
      'This preferences link is not valid or has expired. Use the link in a recent e-mail from us, or ask for a sign-in link.',
    );
  }
  return link;
}
