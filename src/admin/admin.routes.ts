import { Router } from 'express';
import { auditLogPage } from '../audit/audit.service.js';
import type { ServiceContext } from '../context.js';
import { areasFor, guardByTable, guardFor, requireStaff } from './guards.js';
import { partnersAdminRouter } from './partners.routes.js';
import { audiencesAdminRouter } from './audiences.routes.js';
import { inquiriesAdminRouter } from './inquiries.routes.js';
import { membersAdminRouter } from './members.routes.js';
import { dashboardAdminRouter } from './dashboard.routes.js';
import { outboxAdminRouter } from './outbox.routes.js';
import { staffAdminRouter } from './staff.routes.js';
import { removalsAdminRouter } from './removals.routes.js';
import { topicsAdminRouter } from './topics.routes.js';
import { policiesAdminRouter } from './policies.routes.js';
import { bulletinsAdminRouter } from './bulletins.routes.js';
import { brandingAdminRouter } from './branding.routes.js';
import { apiKeysAdminRouter } from './api-keys.routes.js';
import { webhooksAdminRouter } from './webhooks.routes.js';
import { importsAdminRouter } from './imports.routes.js';
import { staffAccountRoutes, staffSignInRoutes } from './staff-auth.routes.js';

export { ADMIN_ROUTES, type AdminRoute } from './guards.js';

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
    const audit = await auditLogPage(svc, req.query as Record<string, unknown>);
    const invalid = Object.keys(audit.errors).length > 0;
    // The pagination links keep the filters.
    const pageHref = (n: number) => `/admin/audit?${new URLSearchParams([...audit.kept, ['page', String(n)]]).toString()}`;
    res.status(invalid ? 422 : 200).render('admin/audit', {
      ...audit,
      title: 'Audit log',
      invalid,
      filtered: audit.kept.length > 0,
      prevHref: audit.page > 1 ? pageHref(audit.page - 1) : undefined,
      nextHref: audit.hasNext ? pageHref(audit.page + 1) : undefined,
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
  router.use(bulletinsAdminRouter(svc));
  router.use(staffAdminRouter(svc));
  router.use(removalsAdminRouter(svc));
  router.use(webhooksAdminRouter(svc));
  router.use(membersAdminRouter(svc));
  router.use(inquiriesAdminRouter(svc));
  router.use(brandingAdminRouter(svc));
  router.use(apiKeysAdminRouter(svc));
  router.use(importsAdminRouter(svc));
  // Anything else under /admin is staff-only too, so an unlisted path never leaks to the public.
  router.use('/admin', requireStaff());
  return router;
}
