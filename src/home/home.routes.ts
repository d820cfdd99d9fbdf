import { Router } from 'express';
import type { Db } from '../db.js';

export function homeRouter(): Router {
  const router = Router();
  router.get('/', (_req, res) => res.render('home/index', { title: 'Home' }));
  return router;
}

/**
 * For load balancers and orchestrators: 200 only when the database answers. Mounted before
 * sessions and page locals, so it touches nothing but one SELECT.
 */
export function healthRouter(db: Db): Router {
  const router = Router();
  router.get('/healthz', async (_req, res) => {
    try {
      await db.raw('SELECT 1');
      res.json({ status: 'ok' });
    } catch {
      res.status(503).json({ status: 'unavailable', database: 'unreachable' });
    }
  });
  return router;
}
