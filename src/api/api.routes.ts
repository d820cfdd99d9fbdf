import express, { Router, type Request } from 'express';
import type { z } from 'zod';
import type { ServiceContext } from '../context.js';
import { streamCopyCsv, streamCopyNdjson } from '../exports/copy.js';
import {
  apiAudience,
  apiChanges,
  apiLedger,
  apiMember,
  apiMemberByEmail,
  apiOptOut,
  apiSuppress,
  apiTopics,
  NO_MEMBER,
  NO_TOPIC,
} from '../integrations/api.service.js';
import { NotFoundError, ValidationError } from '../shared/errors.js';
import { MemberLookup, MemberPath, OptOutRequest, PageQuery, SuppressionRequest, TopicPath } from './api.schemas.js';
import { apiKeyAuth, operation } from './api-auth.js';
import { API_OPERATIONS as OPS, openApiDocument } from './openapi.js';
import { ApiProblem, PROBLEM_TYPES, problemHandler } from './problem.js';
import { referencePage } from './reference.js';

/** Request parts are validated with the schemas the document is generated from; a miss is a 422 problem, field by field. */
function valid<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const errors: Record<string, string> = {};
  for (const issue of result.error.issues) errors[issue.path.join('.') || 'body'] ??= issue.message;
  throw new ValidationError(errors, {}, 'The request did not validate.');
}

/**
 * A path parameter of the wrong shape (a member id that is not a uuid, a topic id that is not a
 * number) names nothing that could exist: a 404 problem, as for an id no one has, never a 422.
 * Only what a request sends (body, query string) is validated field by field.
 */
function pathOf<S extends z.ZodType>(schema: S, params: unknown, notFound: string): z.infer<S> {
  const result = schema.safeParse(params);
  if (result.success) return result.data;
  throw new NotFoundError(notFound);
}
const memberIdOf = (req: Request) => pathOf(MemberPath, req.params, NO_MEMBER).id;
const topicIdOf = (req: Request) => pathOf(TopicPath, req.params, NO_TOPIC).id;

/**
 * The REST API, /api/v1 (issue 12): JSON in and out, Bearer API keys, no session, no cookies, no
 * CSRF (it is mounted before them). The document and its reference page are public; every other
 * call needs a key with the operation's scope, is rate-limited per key and audited (C11).
 */
export function apiRouter(svc: ServiceContext): Router {
  const router = Router();
  const base = svc.config.baseUrl;
  const api = Router();
  router.use('/api', api);
  api.use(express.json({ limit: '16kb', type: ['application/json', 'application/*+json'] }));
  api.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  api.get('/v1/openapi.json', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=300').json(openApiDocument(base));
  });
  api.get('/v1/docs', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=300').render('api/reference', referencePage(openApiDocument(base), PROBLEM_TYPES));
  });

  const v1 = Router();
  api.use('/v1', apiKeyAuth(svc), v1);

  v1.get(
    '/topics',
    operation(svc, OPS.topics, async (_req, res) => {
      res.json({ items: await apiTopics(svc), next_cursor: null });
    }),
  );
  v1.get(
    '/members',
    operation(svc, OPS.memberByEmail, async (req, res, facts) => {
      const member = await apiMemberByEmail(svc, valid(MemberLookup, req.query).email);
      facts.memberId = member.id;
      res.json(member);
    }),
  );
  v1.get(
    '/members/:id',
    operation(svc, OPS.member, async (req, res, facts) => {
      const member = await apiMember(svc, memberIdOf(req));
      facts.memberId = member.id;
      res.json(member);
    }),
  );
  v1.get(
    '/members/:id/ledger',
    operation(svc, OPS.ledger, async (req, res, facts) => {
      const id = memberIdOf(req);
      const page = await apiLedger(svc, id, valid(PageQuery, req.query));
      facts.memberId = id;
      res.json(page);
    }),
  );
  v1.get(
    '/topics/:id/audience',
    operation(svc, OPS.audience, async (req, res, facts) => {
      const id = topicIdOf(req);
      const format = req.accepts(['application/x-ndjson', 'text/csv']);
      if (!format) throw new ApiProblem(406, 'not_acceptable', 'Ask for application/x-ndjson or text/csv.');
      const { topic, copy } = await apiAudience(svc, id, format === 'text/csv' ? 'csv' : 'ndjson');
      const sent =
        format === 'text/csv'
          ? await streamCopyCsv(req, res, svc.db, copy, { filename: `audience-${topic.slug}.csv` })
          : await streamCopyNdjson(req, res, svc.db, copy);
      facts.rows = sent.rows;
    }),
  );
  v1.post(
    '/members/:id/opt-out',
    operation(svc, OPS.optOut, async (req, res, facts) => {
      const id = memberIdOf(req);
      const done = await apiOptOut(svc, res.locals.apiKey!, id, valid(OptOutRequest, req.body));
      facts.memberId = id;
      res.json(done);
    }),
  );
  v1.post(
    '/suppressions',
    operation(svc, OPS.suppress, async (req, res) => {
      await apiSuppress(svc, valid(SuppressionRequest, req.body));
      res.status(204).end();
    }),
  );
  v1.get(
    '/changes',
    operation(svc, OPS.changes, async (req, res) => {
      res.json(await apiChanges(svc, valid(PageQuery, req.query)));
    }),
  );

  api.use((req: Request) => {
    throw new ApiProblem(404, 'not_found', `There is no ${req.method} ${req.baseUrl}${req.path} in this API.`);
  });
  api.use(problemHandler(base));
  return router;
}
