import type { RequestHandler } from 'express';
import { match } from 'path-to-regexp';
import { ForbiddenError } from '../shared/errors.js';
import { STAFF_ROLES, type StaffRole } from '../auth/staff.repository.js';
import { label } from './labels.js';

/** How long a right password waits for its TOTP code. */
export const PENDING_TOTP_MS = 5 * 60 * 1000;

declare module 'express-session' {
  interface SessionData {
    /** Password was right, TOTP code still due: not a sign-in. */
    staffPending?: { id: string; at: number };
    /** A TOTP secret shown for enrolment (encrypted), saved to the account only once a code confirms it. */
    staffTotpSecret?: string;
  }
}

// Every staff user must have two-factor on before they can do anything else (C11); these pages get them there (or out).
const TOTP_EXEMPT = new Set(['/admin/totp/setup', '/admin/logout']);

/**
 * Every admin route names the roles that may use it; the check is on the server, per request,
 * against the role read from the database. No session → the staff sign-in page; a member or a
 * staff user without the role → 403.
 */
export function requireStaff(...roles: StaffRole[]): RequestHandler {
  const allowed: readonly StaffRole[] = roles.length ? roles : STAFF_ROLES;
  return (req, res, next) => {
    const user = req.user;
    if (!user) return res.redirect(303, res.locals.sessionExpired === 'staff' ? '/admin/login?expired=1' : '/admin/login');
    if (user.kind !== 'staff' || !user.role) throw new ForbiddenError('This page is for staff only.');
    if (!allowed.includes(user.role)) throw new ForbiddenError('Your role does not give access to this page.');
    if (!user.twoFactor && !TOTP_EXEMPT.has(req.path)) return res.redirect(303, '/admin/totp/setup');
    res.locals.staffUser = { name: user.name, role: user.role };
    res.locals.staffAreas = areasFor(user.role);
    res.locals.label = label;
    res.locals.can = (route: RouteKey) => can(user.role, route);
    next();
  };
}

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

/**
 * May this role use this route? The one answer, from ADMIN_ROUTES, for what a page offers (a
 * button shown or not); the guards answer the same from the same table for what is done. Views
 * get it as can('POST /admin/…').
 */
export function can(role: StaffRole | undefined, route: RouteKey): boolean {
  const [method, path] = route.split(' ');
  const found = ADMIN_ROUTES.find((r) => r.method === method && r.path === path);
  if (!found) throw new Error(`admin route ${route} is not in ADMIN_ROUTES`);
  return role !== undefined && found.roles.includes(role);
}

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

/** The guard of a listed route; an unlisted one is a programming error, caught at start-up. */
export function guardFor(method: AdminRoute['method'], path: string): RequestHandler {
  const route = ADMIN_ROUTES.find((r) => r.method === method && r.path === path);
  if (!route) throw new Error(`admin route ${method} ${path} is not in ADMIN_ROUTES`);
  return requireStaff(...route.roles);
}

const MATCHERS = ADMIN_ROUTES.map((route) => ({ route, matches: match(route.path) }));

/**
 * The path as Express routes it: without regard to case, and with or without a trailing slash
 * (routing is neither case-sensitive nor strict), so /ADMIN/Staff/ is checked as /admin/staff.
 */
function routedPath(path: string): string {
  return path.toLowerCase().replace(/(?<=.)\/+$/, '');
}

/**
 * Defence in depth: before any admin router runs, the request is checked against the route table
 * itself, so a handler that forgot its guard is still protected. A path not in the table is open
 * to signed-in staff only (and then ends in 404).
 */
export const guardByTable: RequestHandler = (req, res, next) => {
  const path = routedPath(req.path);
  if (path !== '/admin' && !path.startsWith('/admin/')) return next();
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  const found = MATCHERS.find((m) => m.route.method === method && m.matches(path) !== false);
  return requireStaff(...(found?.route.roles ?? STAFF_ROLES))(req, res, next);
};
