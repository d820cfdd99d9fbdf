import { Router } from 'express';
import { dashboardFigures } from '../dashboard/dashboard.service.js';
import type { ServiceContext } from '../context.js';
import { guardFor } from './guards.js';

/** The dashboard (C10): aggregate figures only. */
export function dashboardAdminRouter(svc: ServiceContext): Router {
  const router = Router();
  router.get('/admin/dashboard', guardFor('GET', '/admin/dashboard'), async (_req, res) => {
    res.render('admin/dashboard/index', { title: 'Dashboard', ...(await dashboardFigures(svc)) });
  });
  return router;
}
