import type { StaffRole } from '../auth/staff.repository.js';
import { ADMIN_ROUTES } from './route-table.js';

export interface AdminArea {
  href: string;
  /** On the staff home page. */
  label: string;
  /** In the navigation bar on every staff screen (the signed-in user's own pages sit in the header instead). */
  nav: string;
  hint: string;
  own?: true;
}

/** The staff home page and the navigation bar list these areas, each only to the roles that may open it. */
export const ADMIN_AREAS: readonly AdminArea[] = [
  { href: '/admin/dashboard', label: 'Dashboard', nav: 'Dashboard', hint: 'Counts per topic, sign-ups and removals per week.' },
  { href: '/admin/members', label: 'Members', nav: 'Members', hint: 'Find a member, see their record, record a change on their behalf.' },
  { href: '/admin/removals', label: 'Removals', nav: 'Removals', hint: 'Confirmed removal requests, legal holds, carrying out.' },
  { href: '/admin/inquiries', label: 'Questions', nav: 'Questions', hint: 'Questions from the public, answered by e-mail.' },
  { href: '/admin/follow-ups', label: 'Partner follow-ups', nav: 'Follow-ups', hint: 'Partners to ask to delete an erased member’s data.' },
  { href: '/admin/topics', label: 'Topics', nav: 'Topics', hint: 'Newsletters, announcements and partner topics.' },
  { href: '/admin/policies', label: 'Privacy policy versions', nav: 'Policy', hint: 'Draft, preview and publish with notice.' },
  { href: '/admin/partners', label: 'Partners and disclosures', nav: 'Partners', hint: 'Contracts on file and what was disclosed.' },
  { href: '/admin/audiences', label: 'Audience export', nav: 'Audiences', hint: 'CSV of the members opted in to a topic.' },
  {
    href: '/admin/bulletins',
    label: 'Bulletins',
    nav: 'Bulletins',
    hint: 'Write, preview, test and send mail to a topic’s members; follow its progress.',
  },
  { href: '/admin/outbox', label: 'E-mail outbox', nav: 'Outbox', hint: 'Queued, sent and failed e-mail; retry a failed one.' },
  { href: '/admin/audit', label: 'Audit log', nav: 'Audit log', hint: 'What staff did, newest first.' },
  { href: '/admin/staff', label: 'Staff accounts', nav: 'Staff', hint: 'Add staff, set roles, disable an account.' },
  { href: '/admin/branding', label: 'Branding', nav: 'Branding', hint: 'Logo, colour and sender name on every page and e-mail.' },
  { href: '/admin/api-keys', label: 'API keys', nav: 'API keys', hint: 'Keys for other systems to call the REST API; revoke one.' },
  { href: '/admin/webhooks', label: 'Webhooks', nav: 'Webhooks', hint: 'Tell other systems of changes; see each delivery and resend.' },
  { href: '/admin/password', label: 'Your account: password', nav: 'Your password', hint: 'Change your password.', own: true },
  {
    href: '/admin/totp/setup',
    label: 'Your account: two-factor sign-in',
    nav: 'Your two-factor',
    hint: 'Set up the code from an authenticator app.',
    own: true,
  },
  {
    href: '/admin/imports',
    label: 'Imports',
    nav: 'Imports',
    hint: 'Bring in an existing member list from a CSV file; undo within 7 days.',
  },
];

/** The areas a role may open. */
export function areasFor(role: StaffRole): AdminArea[] {
  return ADMIN_AREAS.filter((a) => ADMIN_ROUTES.some((r) => r.method === 'GET' && r.path === a.href && r.roles.includes(role)));
}
