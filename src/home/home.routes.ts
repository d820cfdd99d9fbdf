import { Router } from 'express';
import type { Db } from '../db.js';
import { RETRY_AFTER_SECONDS } from '../shared/http/error-handler.js';

export function homeRouter(): Router {
  const router = Router();
  router.get('/', (_req, res) => res.render('home/index', { title: 'Home' }));
  return router;
}

export interface WorkerHealth {
  status: string;
  lastHeartbeatAt: Date | null;
}

/** The database has this long to answer; a health check must not hang with it. */
const DATABASE_CHECK_MS = 2000;

/**
 * For load balancers and orchestrators: 200 while the database answers, 503 (with Retry-After)
 * while it does not. The job runner of this process, if it runs one, is reported beside it —
 * running or restarting, and when it last recorded its heartbeat — without changing the status:
 * a web node whose worker waits for the database can still serve what needs no database, and
 * its runner restarts by itself. Mounted before sessions and page locals, so it touches nothing
 * but one SELECT.
 */
export function healthRouter(db: Db, workerHealth?: () => WorkerHealth): Router {
  const router = Router();
  router.get('/healthz', async (_req, res) => {
    let timer: NodeJS.Timeout | undefined;
    const database = await Promise.race([
      db.raw('SELECT 1').then(() => 'ok' as const),
      new Promise<'unreachable'>((resolve) => (timer = setTimeout(() => resolve('unreachable'), DATABASE_CHECK_MS))),
    ]).catch(() => 'unreachable' as const);
    clearTimeout(timer);
    const w = workerHealth?.();
    const worker = w && {
      status: w.status,
      lastHeartbeatAt: w.lastHeartbeatAt?.toISOString() ?? null,
      heartbeatAgeSeconds: w.lastHeartbeatAt ? Math.round((Date.now() - w.lastHeartbeatAt.getTime()) / 1000) : null,
    };
    res.set('Cache-Control', 'no-store');
    if (database === 'ok') {
      res.json({ status: 'ok', database, ...(worker ? { worker } : {}) });
      return;
    }
    res.status(503).set('Retry-After', String(RETRY_AFTER_SECONDS));
    res.json({ status: 'unavailable', database, ...(worker ? { worker } : {}) });
  });
  return router;
}
