import { ROLE_NAMES, type StaffRole } from '../auth/staff.repository.js';
import { CHANNEL_NAMES, KIND_NAMES } from '../consent/topics.schemas.js';

/**
 * Human words for the codes the staff screens show (issue 13.7): roles, topic kinds, channels,
 * ledger sources, e-mail kinds and the statuses of members, e-mails, removals and bulletins.
 * Views get them as label.role('admin') and so on; an unknown code reads as its own words.
 */
const words = (code: string) => {
  const s = code.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
};
const from =
  (names: Record<string, string>) =>
  (code: string | null | undefined): string =>
    code ? (names[code] ?? words(code)) : '';

export const EMAIL_KIND_NAMES: Record<string, string> = {
  already_member: 'Already a member',
  bulletin: 'Bulletin',
  bulletin_test: 'Bulletin test copy',
  data_link: 'Link to their data',
  details_changed: 'Details changed',
  email_change_requested: 'E-mail change asked for',
  email_changed: 'E-mail address changed',
  email_changed_notice: 'E-mail change notice (old address)',
  email_in_use: 'Address already in use',
  email_verify: 'New address to confirm',
  failed_sign_ins: 'Failed sign-ins',
  inquiry_reply: 'Answer to a question',
  password_removed: 'Password removed',
  password_set: 'Password set',
  policy_notice: 'Privacy policy notice',
  policy_notice_test: 'Policy notice test copy',
  preferences_changed: 'Choices changed',
  removal_cancelled: 'Removal cancelled',
  removal_completed: 'Removal carried out',
  removal_confirm: 'Removal to confirm',
  removal_confirmed: 'Removal confirmed',
  removal_held: 'Removal on hold',
  removal_released: 'Removal hold lifted',
  signin_link: 'Sign-in link',
  signup_confirm: 'Sign-up to confirm',
  staff_failed_sign_ins: 'Failed staff sign-ins',
  staff_recovery_code_used: 'Recovery code used',
  staff_totp_reset: 'Two-factor sign-in reset',
  welcome: 'Welcome',
  import_invitation: 'Import: confirm what you want',
};

export const SOURCE_NAMES: Record<string, string> = {
  signup: 'Sign-up form',
  member_web: 'Member, on the website',
  member_link: 'Member, from an e-mail link',
  unsubscribe_link: 'Unsubscribe link',
  one_click: 'One-click unsubscribe',
  staff: 'Staff, at the member’s request',
  import: 'Import',
  erasure: 'Erasure',
  system: 'Assent',
};

export const STATUS_NAMES: Record<string, Record<string, string>> = {
  member: { pending: 'Not confirmed yet', active: 'Active', erased: 'Erased' },
  email: { queued: 'Waiting to be sent', sent: 'Sent', failed: 'Failed', cancelled: 'Not sent' },
  removal: { unconfirmed: 'Not confirmed', confirmed: 'Confirmed', cancelled: 'Cancelled', held: 'On hold', completed: 'Carried out' },
  bulletin: { draft: 'Draft', scheduled: 'Scheduled', sending: 'Sending', paused: 'Paused', sent: 'Sent', cancelled: 'Cancelled' },
  consent: { opted_in: 'Opted in', opted_out: 'Opted out' },
  import: {
    mapping: 'Columns to map',
    checked: 'Checked, waiting for confirmation',
    applying: 'Importing',
    applied: 'Imported',
    cancelled: 'Cancelled',
    failed: 'Failed',
    undoing: 'Being undone',
    undone: 'Undone',
  },
  importMode: { evidence: 'Evidence held elsewhere', ask: 'Ask them' },
};

const CHANGE_CHANNELS: Record<string, string> = { ...CHANNEL_NAMES, web: 'Website', system: 'Assent' };

export const label = {
  role: (role: StaffRole | string) => ROLE_NAMES[role as StaffRole] ?? words(role),
  kind: from(KIND_NAMES),
  channel: from(CHANGE_CHANNELS),
  source: from(SOURCE_NAMES),
  emailKind: from(EMAIL_KIND_NAMES),
  status: (of: keyof typeof STATUS_NAMES, code: string | null | undefined) => from(STATUS_NAMES[of] ?? {})(code),
};
export type Labels = typeof label;
