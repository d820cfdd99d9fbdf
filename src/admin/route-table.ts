import { STAFF_ROLES, type StaffRole } from '../auth/staff.repository.js';

export interface AdminRoute {
  method: 'GET' | 'POST';
  path: string;
  roles: readonly StaffRole[];
}

const ALL = STAFF_ROLES;
/** Every role that works with members' records; an editor opens none (C11, least privilege). */
const MEMBER_DATA: readonly StaffRole[] = ['admin', 'support', 'auditor'];
const ADMIN: readonly StaffRole[] = ['admin'];
const CASEWORK: readonly StaffRole[] = ['admin', 'support'];
const OVERSIGHT: readonly StaffRole[] = ['admin', 'auditor'];
/** Writing and sending bulletins; auditors may read them. */
const EDITING: readonly StaffRole[] = ['admin', 'editor'];
const BULLETIN_READERS: readonly StaffRole[] = ['admin', 'editor', 'auditor'];
/**
 * Every admin route and the roles that may use it. The routers take their guards from this list,
 * and the tests walk it with every role, so a route cannot be added without saying who may use it.
 * admin: everything; support: members, removals, changes on a member's behalf; auditor: read-only;
 * editor: bulletins, and no member record.
 */
export const ADMIN_ROUTES: readonly AdminRoute[] = [
  { method: 'GET', path: '/admin', roles: ALL },
  { method: 'GET', path: '/admin/audit', roles: OVERSIGHT },
  { method: 'GET', path: '/admin/password', roles: ALL },
  { method: 'POST', path: '/admin/password', roles: ALL },
  { method: 'GET', path: '/admin/totp/setup', roles: ALL },
  { method: 'POST', path: '/admin/totp/setup', roles: ALL },
  { method: 'POST', path: '/admin/logout', roles: ALL },
  // Members (src/admin/members.routes.ts)
  { method: 'GET', path: '/admin/members', roles: MEMBER_DATA },
  { method: 'GET', path: '/admin/members/:id', roles: MEMBER_DATA },
  { method: 'GET', path: '/admin/members/:id/export', roles: MEMBER_DATA },
  { method: 'GET', path: '/admin/members/:id/change', roles: CASEWORK },
  { method: 'POST', path: '/admin/members/:id/change', roles: CASEWORK },
  // Removals and partner follow-ups (src/admin/removals.routes.ts)
  { method: 'GET', path: '/admin/removals', roles: MEMBER_DATA },
  { method: 'POST', path: '/admin/removals/:id/hold', roles: CASEWORK },
  { method: 'POST', path: '/admin/removals/:id/release', roles: CASEWORK },
  { method: 'POST', path: '/admin/removals/:id/carry-out', roles: CASEWORK },
  { method: 'GET', path: '/admin/follow-ups', roles: MEMBER_DATA },
  { method: 'POST', path: '/admin/follow-ups/:id/done', roles: CASEWORK },
  // Topics (src/admin/topics.routes.ts)
  { method: 'GET', path: '/admin/topics', roles: OVERSIGHT },
  { method: 'GET', path: '/admin/topics/new', roles: ADMIN },
  { method: 'POST', path: '/admin/topics', roles: ADMIN },
  { method: 'GET', path: '/admin/topics/:id/edit', roles: ADMIN },
  { method: 'POST', path: '/admin/topics/:id', roles: ADMIN },
  { method: 'POST', path: '/admin/topics/:id/retire', roles: ADMIN },
  { method: 'POST', path: '/admin/topics/:id/restore', roles: ADMIN },
  // Policy versions (src/admin/policies.routes.ts)
  { method: 'GET', path: '/admin/policies', roles: OVERSIGHT },
  { method: 'GET', path: '/admin/policies/new', roles: ADMIN },
  { method: 'POST', path: '/admin/policies', roles: ADMIN },
  { method: 'GET', path: '/admin/policies/:id', roles: OVERSIGHT },
  { method: 'GET', path: '/admin/policies/:id/edit', roles: ADMIN },
  { method: 'POST', path: '/admin/policies/:id', roles: ADMIN },
  { method: 'POST', path: '/admin/policies/:id/publish', roles: ADMIN },
  { method: 'POST', path: '/admin/policies/:id/test-notice', roles: ADMIN },
  // Partners and disclosures (src/admin/partners.routes.ts)
  { method: 'GET', path: '/admin/partners', roles: OVERSIGHT },
  { method: 'GET', path: '/admin/partners/new', roles: ADMIN },
  { method: 'POST', path: '/admin/partners', roles: ADMIN },
  { method: 'GET', path: '/admin/partners/:id', roles: OVERSIGHT },
  { method: 'POST', path: '/admin/partners/:id', roles: ADMIN },
  { method: 'POST', path: '/admin/partners/:id/disclosures', roles: ADMIN },
  { method: 'POST', path: '/admin/partners/:id/legal-disclosures', roles: ADMIN },
  // Audience export (src/admin/audiences.routes.ts)
  { method: 'GET', path: '/admin/audiences', roles: ADMIN },
  { method: 'GET', path: '/admin/audiences/:id/csv', roles: ADMIN },
  // Outbox and dashboard (src/admin/outbox.routes.ts, src/admin/dashboard.routes.ts)
  { method: 'GET', path: '/admin/outbox', roles: OVERSIGHT },
  { method: 'POST', path: '/admin/outbox/:id/retry', roles: ADMIN },
  { method: 'GET', path: '/admin/dashboard', roles: ALL },
  // Bulletins (src/admin/bulletins.routes.ts)
  { method: 'GET', path: '/admin/bulletins', roles: BULLETIN_READERS },
  { method: 'GET', path: '/admin/bulletins/new', roles: EDITING },
  { method: 'POST', path: '/admin/bulletins', roles: EDITING },
  { method: 'GET', path: '/admin/bulletins/:id', roles: BULLETIN_READERS },
  { method: 'GET', path: '/admin/bulletins/:id/edit', roles: EDITING },
  { method: 'POST', path: '/admin/bulletins/:id', roles: EDITING },
  { method: 'POST', path: '/admin/bulletins/:id/delete', roles: EDITING },
  { method: 'GET', path: '/admin/bulletins/:id/preview', roles: BULLETIN_READERS },
  { method: 'GET', path: '/admin/bulletins/:id/preview/html', roles: BULLETIN_READERS },
  { method: 'POST', path: '/admin/bulletins/:id/test', roles: EDITING },
  { method: 'GET', path: '/admin/bulletins/:id/send', roles: EDITING },
  { method: 'GET', path: '/admin/bulletins/:id/confirm', roles: EDITING },
  { method: 'POST', path: '/admin/bulletins/:id/confirm', roles: EDITING },
  { method: 'POST', path: '/admin/bulletins/:id/pause', roles: EDITING },
  { method: 'POST', path: '/admin/bulletins/:id/resume', roles: EDITING },
  { method: 'POST', path: '/admin/bulletins/:id/cancel', roles: EDITING },
  { method: 'POST', path: '/admin/bulletins/:id/retry', roles: EDITING },
  // Branding (src/admin/branding.routes.ts)
  { method: 'GET', path: '/admin/branding', roles: ADMIN },
  { method: 'POST', path: '/admin/branding', roles: ADMIN },
  // Staff accounts (src/admin/staff.routes.ts)
  { method: 'GET', path: '/admin/staff', roles: ADMIN },
  { method: 'POST', path: '/admin/staff', roles: ADMIN },
  { method: 'POST', path: '/admin/staff/:id/disable', roles: ADMIN },
  { method: 'POST', path: '/admin/staff/:id/reset-2fa', roles: ADMIN },
  // Questions from the public (src/admin/inquiries.routes.ts)
  { method: 'GET', path: '/admin/inquiries', roles: CASEWORK },
  { method: 'GET', path: '/admin/inquiries/:id', roles: CASEWORK },
  { method: 'POST', path: '/admin/inquiries/:id/reply', roles: CASEWORK },
  { method: 'POST', path: '/admin/inquiries/:id/close', roles: CASEWORK },
  // API keys for other systems (src/admin/api-keys.routes.ts)
  { method: 'GET', path: '/admin/api-keys', roles: ADMIN },
  { method: 'POST', path: '/admin/api-keys', roles: ADMIN },
  { method: 'POST', path: '/admin/api-keys/:id/revoke', roles: ADMIN },
  // Outgoing webhooks (src/admin/webhooks.routes.ts): an endpoint receives member ids, so admins only
  { method: 'GET', path: '/admin/webhooks', roles: ADMIN },
  { method: 'GET', path: '/admin/webhooks/new', roles: ADMIN },
  { method: 'POST', path: '/admin/webhooks', roles: ADMIN },
  { method: 'GET', path: '/admin/webhooks/:id', roles: ADMIN },
  { method: 'POST', path: '/admin/webhooks/deliveries/:id/resend', roles: ADMIN },
  { method: 'POST', path: '/admin/webhooks/:id/enable', roles: ADMIN },
  { method: 'POST', path: '/admin/webhooks/:id/delete', roles: ADMIN },
  // Imports of an existing member list (src/admin/imports.routes.ts)
  { method: 'GET', path: '/admin/imports', roles: ADMIN },
  { method: 'POST', path: '/admin/imports', roles: ADMIN },
  { method: 'GET', path: '/admin/imports/:id', roles: ADMIN },
  { method: 'GET', path: '/admin/imports/:id/mapping', roles: ADMIN },
  { method: 'POST', path: '/admin/imports/:id/mapping', roles: ADMIN },
  { method: 'POST', path: '/admin/imports/:id/start', roles: ADMIN },
  { method: 'POST', path: '/admin/imports/:id/cancel', roles: ADMIN },
  { method: 'POST', path: '/admin/imports/:id/undo', roles: ADMIN },
  { method: 'GET', path: '/admin/imports/:id/errors', roles: ADMIN },
  { method: 'GET', path: '/admin/imports/:id/differences', roles: ADMIN },
];

/** A route of ADMIN_ROUTES as "METHOD /path", e.g. "POST /admin/members/:id/change". */
export type RouteKey = `${AdminRoute['method']} /admin${string}`;
