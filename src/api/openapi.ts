import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { z } from 'zod';
import type { ApiScope } from '../integrations/api-keys.schemas.js';
import {
  AudienceRow,
  ChangesPage,
  LedgerPage,
  Member,
  MemberLookup,
  MemberPath,
  OptOutRequest,
  OptOutResult,
  PageQuery,
  Problem,
  SuppressionRequest,
  TopicList,
  TopicPath,
} from './api.schemas.js';

/**
 * The OpenAPI 3.1 document of /api/v1, generated from the zod schemas that validate requests
 * (api.schemas.ts). Each operation names the scope it needs; the router takes its scopes from
 * here (API_OPERATIONS), so the document and the checks cannot disagree.
 */
const json = (schema: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema } } });
const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: Problem } } });

const COMMON = {
  401: problem('No valid API key (missing, garbled, unknown or revoked).'),
  403: problem('The key lacks the scope this call needs.'),
  429: problem('Too many calls with this key; see Retry-After.'),
};

export interface ApiOperation extends RouteConfig {
  scope: ApiScope;
}

export const API_OPERATIONS = {
  topics: {
    method: 'get',
    path: '/topics',
    scope: 'read',
    summary: 'The topics offered now, with their kinds',
    responses: { 200: json(TopicList, 'Every topic members can choose today.'), ...COMMON },
  },
  memberByEmail: {
    method: 'get',
    path: '/members',
    scope: 'read',
    summary: 'Look a member up by exact e-mail address',
    description: 'An unknown address and a suppressed one both answer 404.',
    request: { query: MemberLookup },
    responses: {
      200: json(Member, 'The member and their current choices.'),
      404: problem('No such member.'),
      422: problem('Not an address.'),
      ...COMMON,
    },
  },
  member: {
    method: 'get',
    path: '/members/{id}',
    scope: 'read',
    summary: 'A member’s details and current choices',
    request: { params: MemberPath },
    responses: {
      200: json(Member, 'The member.'),
      404: problem('No active member with this id, or an id that is not a uuid.'),
      ...COMMON,
    },
  },
  ledger: {
    method: 'get',
    path: '/members/{id}/ledger',
    scope: 'read',
    summary: 'A member’s consent history, oldest first',
    request: { params: MemberPath, query: PageQuery },
    responses: {
      200: json(LedgerPage, 'One page of ledger events.'),
      404: problem('No active member with this id (or an id that is not a uuid), or a cursor we did not give out.'),
      422: problem('Bad page (limit or cursor).'),
      ...COMMON,
    },
  },
  audience: {
    method: 'get',
    path: '/topics/{id}/audience',
    scope: 'read',
    summary: 'A topic’s audience with each member’s unsubscribe and preference links, streamed',
    description:
      'Members opted in now, active, with a deliverable and unsuppressed address. NDJSON (application/x-ndjson, the default) or CSV (text/csv), by the Accept header.',
    request: { params: TopicPath },
    responses: {
      200: {
        description: 'One row per member.',
        content: { 'application/x-ndjson': { schema: AudienceRow }, 'text/csv': { schema: { type: 'string' } } },
      },
      404: problem('No such current topic, or an id that is not a number.'),
      406: problem('Neither NDJSON nor CSV is acceptable.'),
      ...COMMON,
    },
  },
  optOut: {
    method: 'post',
    path: '/members/{id}/opt-out',
    scope: 'opt-out',
    summary: 'Record an opt-out made in another system',
    description:
      'Opts the member out of one topic or of everything at once, records it in the ledger under this key, and mails the member the usual confirmation. There is no way to opt anyone in through the API.',
    request: { params: MemberPath, body: { content: { 'application/json': { schema: OptOutRequest } } } },
    responses: {
      200: json(OptOutResult, 'What changed.'),
      404: problem('No active member with this id, or an id that is not a uuid.'),
      422: problem('Bad body or unknown topic.'),
      ...COMMON,
    },
  },
  suppress: {
    method: 'post',
    path: '/suppressions',
    scope: 'suppress',
    summary: 'Report an address as bounced, complained of, or to be suppressed',
    description: 'The answer is the same whether or not a member has the address.',
    request: { body: { content: { 'application/json': { schema: SuppressionRequest } } } },
    responses: { 204: { description: 'The address is suppressed.' }, 422: problem('Bad body.'), ...COMMON },
  },
  changes: {
    method: 'get',
    path: '/changes',
    scope: 'read',
    summary: 'Every consent event, confirmation, details change and erasure after a cursor',
    description: 'Start without a cursor; keep the next_cursor of each answer and poll with it.',
    request: { query: PageQuery },
    responses: {
      200: json(ChangesPage, 'The changes after the cursor, oldest first.'),
      404: problem('Not a cursor we gave out.'),
      422: problem('Bad page.'),
      ...COMMON,
    },
  },
} satisfies Record<string, ApiOperation>;

const built = new Map<string, object>();

export function openApiDocument(baseUrl: string): object {
  const known = built.get(baseUrl);
  if (known) return known;
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key made by an administrator under Staff › API keys, sent as Authorization: Bearer <key>.',
  });
  for (const { scope, ...op } of Object.values(API_OPERATIONS) as ApiOperation[])
    registry.registerPath({ ...op, security: [{ apiKey: [] }], 'x-scope': scope, tags: [scope] } as RouteConfig);
  const doc = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Assent REST API',
      version: '1',
      description:
        'Connect a sending tool or a CRM to Assent: read topics, members and audiences with ready-made unsubscribe links, record opt-outs, report bad addresses, poll changes. Errors are RFC 9457 problem details.',
    },
    servers: [{ url: `${baseUrl}/api/v1` }],
  });
  built.set(baseUrl, doc);
  return doc;
}
