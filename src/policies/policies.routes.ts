import { Router, type RequestHandler, type Response } from 'express';
import type { Db } from '../db.js';
import { privacyStatement, upcomingPolicy } from './statement.service.js';
import { policyTextHtml } from './policy-text.js';

/**
 * C7: during a notice period every page shows a banner for the upcoming version. The query is
 * one indexed row per page, made when the page renders: replies that are no page (one-click's
 * line of text, redirects, downloads) do not ask, nor does a page that read it with its own data
 * (it passes `upcomingPolicy`, null for none). Caching it in-process would let nodes disagree.
 */
export function policyBanner(db: Db): RequestHandler {
  return (req, res, next) => {
    const render = res.render;
    res.render = function (view: string, options?: object | RenderCallback, callback?: RenderCallback) {
      if (typeof options === 'object' && 'upcomingPolicy' in options) {
        (render as (...args: unknown[]) => void).call(res, view, options, callback);
        return;
      }
      upcomingPolicy(db).then(
        (policy) => {
          res.locals.upcomingPolicy = policy;
          (render as (...args: unknown[]) => void).call(res, view, options, callback);
        },
        (err: unknown) => {
          // The error page that follows renders without asking again.
          res.render = render;
          const done = typeof options === 'function' ? options : callback;
          if (done) done(err as Error, '');
          else req.next!(err);
        },
      );
    } as Response['render'];
    next();
  };
}

type RenderCallback = (err: Error, html: string) => void;

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
