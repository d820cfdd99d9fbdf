import { Router } from 'express';
import { z } from 'zod';
import { hasControlCharacters, ONE_LINE_MESSAGE } from '../shared/http/text.js';
import type { ServiceContext } from '../shared/service-context.js';
import { areasFor, guardByTable, guardFor, requireStaff } from './guards.js';
import { partnersAdminRouter } from './partners.routes.js';
import { audiencesAdminRouter } from './audiences.routes.js';
import { membersAdminRouter } from './members.routes.js';
import { dashboardAdminRouter } from './dashboard.routes.js';
import { outboxAdminRouter } from './outbox.routes.js';
import { staffAdminRouter } from './staff.routes.js';
import { removalsAdminRouter } from './removals.routes.js';
import { topicsAdminRouter } from './topics.routes.js';
import { policiesAdminRouter } from './policies.routes.js';
import { listAudit, listAuditActions, listStaffUsers, type AuditFilter } from './staff.repository.js';
import { staffAccountRoutes, staffSignInRoutes } from './staff-auth.routes.js';

export { ADMIN_ROUTES, type AdminRoute } from './guards.js';

const AUDIT_PAGE_SIZE = 50;
const AuditPage = z.coerce.number().int().min(1).max(100000).catch(1);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A calendar date (YYYY-MM-DD, as an <input type="date"> sends it) as the start of that UTC day. */
function utcDay(value: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return undefined;
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return date.toISOString().slice(0, 10) === value ? date : undefined;
}

/**
 * The audit log's filters from the query string. Bad values become field errors on the page
 * (never a database error): no control characters, the staff user and member are ids, the dates
 * calendar days (UTC), "to" included.
 */
export function parseAuditQuery(query: Record<string, unknown>): {
  values: Record<'staff' | 'member' | 'action' | 'from' | 'to', string>;
  filter: AuditFilter;
  errors: Record<string, string>;
  page: number;
} {
  const errors: Record<string, string> = {};
  const text = (key: string) => {
    const v = query[key];
    if (typeof v !== 'string') return '';
    if (hasControlCharacters(v)) errors[key] = ONE_LINE_MESSAGE;
    return v.trim().slice(0, 200);
  };
  const values = { staff: text('staff'), member: text('member'), action: text('action'), from: text('from'), to: text('to') };
  if (Object.keys(errors).length) return { values, filter: {}, errors, page: 1 };
  const filter: AuditFilter = {};
  if (values.action) filter.action = values.action.slice(0, 100);
  if (values.staff) {
    if (UUID.test(values.staff)) filter.staffUserId = values.staff;
    else errors.staff = 'Choose a staff user from the list.';
  }
  if (values.member) {
    if (UUID.test(values.member)) filter.memberId = values.member.toLowerCase();
    else errors.member = 'Enter a member id like 0b9f3c1e-5d2a-4c7b-9e61-2f0a8d4b7c35, or leave it empty.';
  }
  if (values.from) {
    const from = utcDay(values.from);
    if (from) filter.from = from;
    else errors.from = 'Enter the date as YYYY-MM-DD, for example 2026-11-01.';
  }
  if (values.to) {
    const to = utcDay(values.to);
    if (to) filter.before = new Date(to.getTime() + DAY_MS);
    else errors.to = 'Enter the date as YYYY-MM-DD, for example 2026-11-30.';
  }
  if (filter.from && filter.before && filter.before <= filter.from) errors.to = 'The "to" date must not be before the "from" date.';
  return { values, filter, errors, page: AuditPage.parse(query.page) };
}

export function adminRouter(svc: ServiceContext): Router {
  const router = Router();
  router.use(staffSignInRoutes(svc));
  // The sign-in pages above are public; everything after is checked against ADMIN_ROUTES first.
  router.use(guardByTable);

  router.get('/admin', guardFor('GET', '/admin'), (req, res) => {
    const notice =
      'recovered' in req.query
        ? 'You signed in with a recovery code; it cannot be used again. If you lost your authenticator device, ask an administrator to reset your two-factor sign-in, then set it up on your new device.'
        : undefined;
    res.render('admin/index', { title: 'Staff administration', areas: areasFor(req.user!.role!), notice });
  });

  router.get('/admin/audit', guardFor('GET', '/admin/audit'), async (req, res) => {
    const { values, filter, errors, page } = parseAuditQuery(req.query as Record<string, unknown>);
    const invalid = Object.keys(errors).length > 0;
    const rows = invalid ? [] : await listAudit(svc.db, { ...filter, limit: AUDIT_PAGE_SIZE + 1, offset: (page - 1) * AUDIT_PAGE_SIZE });
    const [actions, staffUsers] = await Promise.all([listAuditActions(svc.db), listStaffUsers(svc.db)]);
    // The pagination links keep the filters.
    const kept = new URLSearchParams(Object.entries(values).filter(([, v]) => v !== ''));
    const pageHref = (n: number) => `/admin/audit?${new URLSearchParams([...kept, ['page', String(n)]]).toString()}`;
    res.status(invalid ? 422 : 200).render('admin/audit', {
      title: 'Audit log',
      entries: rows.slice(0, AUDIT_PAGE_SIZE),
      actions,
      staffUsers: staffUsers.map((s) => ({ id: s.id, name: s.name, role: s.role })),
      values,
      errors,
      invalid,
      filtered: kept.size > 0,
      page,
      prevHref: page > 1 ? pageHref(page - 1) : undefined,
      nextHref: rows.length > AUDIT_PAGE_SIZE ? pageHref(page + 1) : undefined,
    });
  });

  router.use(staffAccountRoutes(svc));
  // Feature routers: one line each.
  router.use(topicsAdminRouter(svc));
  router.use(policiesAdminRouter(svc));
  router.use(partnersAdminRouter(svc));
  router.use(audiencesAdminRouter(svc));
  router.use(outboxAdminRouter(svc));
  router.use(dashboardAdminRouter(svc));
  router.use(staffAdminRouter(svc));
  router.use(removalsAdminRouter(svc));
  router.use(membersAdminRouter(svc));
  // Anything else under /admin is staff-only too, so an unlisted path never leaks to the public.
  router.use('/admin', requireStaff());
  return router;
}
