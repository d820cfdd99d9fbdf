import { ROLE_NAMES, type StaffRole } from '../auth/staff.repository.js';
import {
  CHANGE_CHANNEL_NAMES,
  codeWords,
  EMAIL_KIND_NAMES,
  KIND_NAMES,
  SOURCE_NAMES,
  STATUS_NAMES,
  wordsFrom,
  type StatusOf,
} from '../shared/words.js';

/**
 * Human words for the codes the staff screens show (issue 13.7): roles, topic kinds, channels,
 * ledger sources, e-mail kinds and the statuses of members, e-mails, removals and bulletins.
 * Views get them as label.role('admin') and so on; an unknown code reads as its own words. The
 * words themselves live in shared/words.ts, shared with members' pages and e-mails.
 */
export const label = {
  role: (role: StaffRole | string) => ROLE_NAMES[role as StaffRole] ?? codeWords(role),
  kind: wordsFrom(KIND_NAMES),
  channel: wordsFrom(CHANGE_CHANNEL_NAMES),
  source: wordsFrom(SOURCE_NAMES),
  emailKind: wordsFrom(EMAIL_KIND_NAMES),
  status: (of: StatusOf | string, code: string | null | undefined) =>
    wordsFrom((STATUS_NAMES as Record<string, Record<string, string>>)[of] ?? {})(code),
};
export type Labels = typeof label;
