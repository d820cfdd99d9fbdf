/**
 * Human words for the codes Assent stores (issue 13.6, 13.7): topic kinds, channels, ledger
 * sources, e-mail kinds and statuses. One place for staff screens (admin/labels.ts), members'
 * pages and e-mails, so a code reads the same everywhere and never shows as itself. It sits in
 * shared/ so that mail/ and every feature may use it; the features' enums are checked against
 * these lists by test/e2e/email-kinds.test.ts.
 */

/** An unknown code, in words: "third_party_offer" → "Third party offer". */
export function codeWords(code: string): string {
  const s = code.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** A lookup that never answers with a bare code. */
export const wordsFrom =
  (names: Readonly<Record<string, string>>) =>
  (code: string | null | undefined): string =>
    code ? (names[code] ?? codeWords(code)) : '';

export const KIND_NAMES = {
  newsletter: 'Newsletter',
  announcement: 'Announcement',
  third_party_offer: 'Third-party offer',
  partner_data_sharing: 'Partner data sharing',
} as const;

/** The same kinds as a member reads them about their own choices. */
export const MEMBER_KIND_NAMES: Readonly<Record<keyof typeof KIND_NAMES, string>> = {
  newsletter: 'Newsletter',
  announcement: 'Announcement',
  third_party_offer: 'Offer from a partner',
  partner_data_sharing: 'Sharing your details with a partner',
};

export const CHANNEL_NAMES = { email: 'E-mail', post: 'Post', phone: 'Phone' } as const;

/** How a change was recorded (ledger channels): the topic channels and the web and Assent itself. */
export const CHANGE_CHANNEL_NAMES: Readonly<Record<string, string>> = { ...CHANNEL_NAMES, web: 'Website', system: 'Assent' };

/** How a topic reaches the member, or how a change was recorded, said after a comma: "Newsletter, by e-mail". */
export const MEMBER_CHANNEL_NAMES: Readonly<Record<string, string>> = {
  email: 'by e-mail',
  post: 'by post',
  phone: 'by phone',
  web: 'on the website',
  system: 'automatically',
};

/** Ledger sources as staff read them. */
export const SOURCE_NAMES: Readonly<Record<string, string>> = {
  signup: 'Sign-up form',
  member_web: 'Member, on the website',
  member_link: 'Member, from an e-mail link',
  unsubscribe_link: 'Unsubscribe link',
  one_click: 'One-click unsubscribe',
  staff: 'Staff, at the member’s request',
  import: 'Import',
  erasure: 'Erasure',
  system: 'Assent',
  api: 'Another system, through the API',
  complaint: 'Spam complaint, reported by the sending service',
};

/** Ledger sources as the member reads them: who made the change. */
export const MEMBER_SOURCE_NAMES: Readonly<Record<string, string>> = {
  signup: 'You, when you joined',
  member_web: 'You, on your preference page',
  member_link: 'You, from a link in an e-mail',
  unsubscribe_link: 'You, by an unsubscribe link',
  one_click: 'You, by one-click unsubscribe',
  staff: 'Our staff, at your request',
  import: 'Imported from our earlier records',
  erasure: 'Removal of your data',
  system: 'Automatically',
  api: 'Another of our systems, at your request',
  complaint: 'Your mail provider, after you reported our e-mail as spam',
};

/**
 * Every kind of e-mail Assent sends, in words. It is also the registry of kinds: the e-mail test
 * builds every builder of src/**\/*.emails.ts and fails on a kind missing here.
 */
export const EMAIL_KIND_NAMES: Readonly<Record<string, string>> = {
  already_member: 'Already a member',
  bulletin: 'Bulletin',
  bulletin_test: 'Bulletin test copy',
  data_link: 'Link to see your data',
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
  preferences_link: 'Link to their preferences',
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
  webhook_disabled: 'Webhook endpoint disabled',
};

export const STATUS_NAMES = {
  member: { pending: 'Not confirmed yet', active: 'Active', erased: 'Erased' },
  email: { queued: 'Waiting to be sent', sent: 'Sent', failed: 'Failed', cancelled: 'Not sent' },
  removal: { unconfirmed: 'Not confirmed', confirmed: 'Confirmed', cancelled: 'Cancelled', held: 'On hold', completed: 'Carried out' },
  bulletin: { draft: 'Draft', scheduled: 'Scheduled', sending: 'Sending', paused: 'Paused', sent: 'Sent', cancelled: 'Cancelled' },
  consent: { opted_in: 'Opted in', opted_out: 'Opted out' },
  webhook: { pending: 'Being tried', delivered: 'Delivered', failed: 'Failed' },
  feedback: {
    hard_bounce: 'Bounced (permanent)',
    soft_bounce: 'Bounced (temporary)',
    complaint: 'Spam complaint',
    delivery: 'Delivered',
  },
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
} as const satisfies Record<string, Record<string, string>>;

/** Statuses as the member reads them about their own record, where staff words would not do. */
export const MEMBER_STATUS_NAMES: { [K in keyof typeof STATUS_NAMES]: Readonly<Record<string, string>> } = {
  ...STATUS_NAMES,
  email: { queued: 'Waiting to be sent', sent: 'Sent', failed: 'Could not be delivered', cancelled: 'Not sent (cancelled)' },
  removal: { ...STATUS_NAMES.removal, unconfirmed: 'Waiting for your confirmation', completed: 'Completed' },
};

export type StatusOf = keyof typeof STATUS_NAMES;

/** The words a member's page uses (views get it as `words`). */
export const memberWords = {
  kind: wordsFrom(MEMBER_KIND_NAMES),
  channel: wordsFrom(MEMBER_CHANNEL_NAMES),
  source: wordsFrom(MEMBER_SOURCE_NAMES),
  emailKind: wordsFrom(EMAIL_KIND_NAMES),
  status: (of: StatusOf, code: string | null | undefined) => wordsFrom(MEMBER_STATUS_NAMES[of])(code),
};
export type MemberWords = typeof memberWords;
