import { Router, type RequestHandler } from 'express';
import type { Db } from '../db.js';
import { privacyStatement, upcomingPolicy } from './statement.service.js';
import { policyTextHtml } from './policy-text.js';

/**
 * C7: during a notice period every page shows a banner for the upcoming version. The query is
 * one indexed row per page view; caching it in-process would let nodes disagree.
 */
export function policyBanner(db: Db): RequestHandler {
  return async (_req, res, next) => {
    res.locals.upcomingPolicy = await upcomingPolicy(db);
    next();
  };
}

export function policiesRouter(db: Db): Router {
  const router = Router();

  router.get('/privacy', async (_req, res) => {
    const statement = await privacyStatement(db);
    res.render('policies/show', {
      title: 'Privacy statement',
      ...statement,
      bodyHtml: statement.policy && policyTextHtml(statement.policy.body),
    });
  });

  router.get('/privacy/versions/:version', async (req, res) => {
    const statement = await privacyStatement(db, req.params.version);
    res.render('policies/show', {
      title: `Privacy statement, version ${statement.policy!.version}`,
      ...statement,
      bodyHtml: policyTextHtml(statement.policy!.body),
    });
  });

  return router;
}
