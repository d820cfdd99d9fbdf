import { Router } from 'express';
import type { ServiceContext } from '../shared/service-context.js';
import { DASHBOARD_WEEKS, memberTotals, topicFigures, weeklyFigures } from '../dashboard/dashboard.repository.js';
import { guardFor } from './guards.js';

const KIND_NAMES: Record<string, string> = {
  newsletter: 'Newsletter',
  announcement: 'Announcement',
  third_party_offer: 'Third-party offer',
  partner_data_sharing: 'Partner data sharing',
};

/**
 * The dashboard (C10): counts only. Every figure is an aggregate of rows Assent keeps anyway
 * (consents, sign-ups, removal requests); nothing is tracked per visitor to make them, and no
 * name, address or per-person row reaches the page.
 */
export function dashboardAdminRouter(svc: ServiceContext): Router {
  const router = Router();

  router.get('/admin/dashboard', guardFor('GET', '/admin/dashboard'), async (_req, res) => {
    const [topics, weeks, totals] = await Promise.all([topicFigures(svc.db), weeklyFigures(svc.db), memberTotals(svc.db)]);
    res.render('admin/dashboard/index', {
      title: 'Dashboard',
      topics: topics.map((t) => ({ ...t, kindName: KIND_NAMES[t.kind] ?? t.kind })),
      weeks,
      weekCount: DASHBOARD_WEEKS,
      totals,
    });
  });

  return router;
}
