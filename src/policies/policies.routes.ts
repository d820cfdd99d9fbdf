import { Router, type RequestHandler } from 'express';
import type { Db } from '../db.js';
import { NotFoundError } from '../shared/errors.js';
import { isVersionLabel } from './policies.schemas.js';
import { findPolicyInForce, findPublishedPolicy, findUpcomingPolicy, listPublishedPolicies } from './policies.repository.js';

/**
 * C7: during a notice period every page shows a banner for the upcoming version. The query is
 * one indexed row per page view; caching it in-process would let nodes disagree.
 */
export function policyBanner(db: Db): RequestHandler {
  return async (_req, res, next) => {
    res.locals.upcomingPolicy = await findUpcomingPolicy(db);
    next();
  };
}

export function policiesRouter(db: Db): Router {
  const router = Router();

  router.get('/privacy', async (_req, res) => {
    const [current, history] = await Promise.all([findPolicyInForce(db), listPublishedPolicies(db)]);
    res.render('policies/show', { title: 'Privacy statement', policy: current, history, isCurrent: true });
  });

  router.get('/privacy/versions/:version', async (req, res) => {
    const version = req.params.version;
    const policy = isVersionLabel(version) ? await findPublishedPolicy(db, version) : undefined;
    if (!policy) throw new NotFoundError('There is no published policy version with that number.');
    const [current, history] = await Promise.all([findPolicyInForce(db), listPublishedPolicies(db)]);
    res.render('policies/show', {
      title: `Privacy statement, version ${policy.version}`,
      policy,
      history,
      isCurrent: current?.id === policy.id,
    });
  });

  return router;
}
