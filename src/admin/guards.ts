import type { RequestHandler } from 'express';
import { match } from 'path-to-regexp';
import { ForbiddenError } from '../shared/errors.js';
import { STAFF_ROLES, type StaffRole } from '../auth/staff.repository.js';
import { label } from './labels.js';
import { areasFor } from './areas.js';
import { ADMIN_ROUTES, type AdminRoute, type RouteKey } from './route-table.js';

// The route table and the areas live in their own files; callers keep importing them from here.
export { ADMIN_ROUTES, type AdminRoute, type RouteKey } from './route-table.js';
export { ADMIN_AREAS, areasFor, type AdminArea } from './areas.js';

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
