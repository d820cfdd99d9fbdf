import type { Request, RequestHandler, Response } from 'express';
import { ForbiddenError } from '../shared/errors.js';
import { STAFF_ROLES, type StaffRole } from './staff.repository.js';

/** A staff session ends after this long without a request (C11). */
export const STAFF_IDLE_MS = 30 * 60 * 1000;
/** How long a right password waits for its TOTP code. */
export const PENDING_TOTP_MS = 5 * 60 * 1000;

declare module 'express-session' {
  interface SessionData {
    /** Last request of a signed-in staff user (ms), for the idle timeout. */
    staffLastSeen?: number;
    /** Password was right, TOTP code still due: not a sign-in. */
    staffPending?: { id: string; at: number };
    /** A TOTP secret shown for enrolment, saved to the account only once a code confirms it. */
    staffTotpSecret?: string;
  }
}

// Admins must have two-factor on before they can do anything else; these pages get them there (or out).
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
    if (!user) return res.redirect(303, '/admin/login');
    if (user.kind !== 'staff' || !user.role) throw new ForbiddenError('This page is for staff only.');
    if (!allowed.includes(user.role)) throw new ForbiddenError('Your role does not give access to this page.');
    if (user.role === 'admin' && !user.twoFactor && !TOTP_EXEMPT.has(req.path)) return res.redirect(303, '/admin/totp/setup');
    res.locals.staff = { name: user.name, role: user.role };
    next();
  };
}

/** Ends a staff session that sat idle too long; otherwise notes this request as the last seen. */
export const staffIdleTimeout: RequestHandler = async (req, res, next) => {
  if (req.user?.kind !== 'staff') return next();
  const now = Date.now();
  const last = req.session.staffLastSeen;
  if (last === undefined || now - last > STAFF_IDLE_MS) {
    await endSession(req, res);
    return res.redirect(303, '/admin/login?expired=1');
  }
  req.session.staffLastSeen = now;
  next();
};

/** Signs out and throws the session away, cookie included. */
export async function endSession(req: Request, res: Response): Promise<void> {
  await new Promise<void>((resolve, reject) => req.logout((err) => (err ? reject(err) : resolve())));
  await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
  res.clearCookie('assent.sid');
}

export interface AdminRoute {
  method: 'GET' | 'POST';
  path: string;
  roles: readonly StaffRole[];
}

const ALL = STAFF_ROLES;
/**
 * Every admin route and the roles that may use it. The routers take their guards from this list,
 * and the tests walk it with every role, so a route cannot be added without saying who may use it.
 */
export const ADMIN_ROUTES: readonly AdminRoute[] = [
  { method: 'GET', path: '/admin', roles: ALL },
  { method: 'GET', path: '/admin/audit', roles: ['admin', 'auditor'] },
  { method: 'GET', path: '/admin/password', roles: ALL },
  { method: 'POST', path: '/admin/password', roles: ALL },
  { method: 'GET', path: '/admin/totp/setup', roles: ALL },
  { method: 'POST', path: '/admin/totp/setup', roles: ALL },
  { method: 'POST', path: '/admin/logout', roles: ALL },
];

/** The guard of a listed route; an unlisted one is a programming error, caught at start-up. */
export function guardFor(method: AdminRoute['method'], path: string): RequestHandler {
  const route = ADMIN_ROUTES.find((r) => r.method === method && r.path === path);
  if (!route) throw new Error(`admin route ${method} ${path} is not in ADMIN_ROUTES`);
  return requireStaff(...route.roles);
}
