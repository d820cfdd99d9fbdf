import { z } from 'zod';
import { TOPIC_KINDS } from '../consent/topics.schemas.js';
import { REPORTED_REASONS } from '../integrations/suppressions.service.js';
import { singleLineText } from '../shared/http/text.js';

/**
 * The REST API's shapes (issue 12). The request schemas validate what comes in, and the same
 * schemas, with the response ones, generate the OpenAPI 3.1 document (api/openapi.ts), so the
 * document cannot drift from what the code accepts. Each `id` names a component of the document.
 */
const status = z.enum(['opted_in', 'opted_out']);
const at = z.iso.datetime({ offset: true });
const memberId = z.uuid().meta({ description: 'The member’s id (uuid).', example: '0b8f7a3e-5c1d-4e2a-9f6b-2d3c4b5a6e7f' });
const cursor = z
  .string()
  .max(200)
  .regex(/^[A-Za-z0-9_-]+$/, 'A cursor is given back by a previous page; pass it on unchanged.');

export const Problem = z
  .object({
    type: z.string().meta({ description: 'A link to where this kind of problem is explained.' }),
    title: z.string(),
    status: z.int(),
    detail: z.string().optional(),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .meta({ description: 'For a request that did not validate: one message per field.' }),
  })
  .meta({ id: 'Problem', description: 'An error, as RFC 9457 problem details (application/problem+json).' });

export const Topic = z
  .object({
    id: z.int(),
    slug: z.string(),
    name: z.string(),
    description: z.string(),
    kind: z.enum(TOPIC_KINDS),
    channel: z.string().meta({ description: 'How the topic reaches members: email, post or phone.' }),
    frequency: z.string(),
    partner: z.string().nullable().meta({ description: 'The partner of a third-party offer or data-sharing topic.' }),
  })
  .meta({ id: 'Topic' });

export const TopicList = z.object({ items: z.array(Topic), next_cursor: z.null() }).meta({ id: 'TopicList' });

export const Choice = z
  .object({
    topic_id: z.int(),
    topic_slug: z.string(),
    status,
    since: at.nullable().meta({ description: 'When the member last chose; null: never chosen (so not opted in).' }),
  })
  .meta({ id: 'Choice' });

export const Member = z
  .object({
    id: memberId,
    email: z.string(),
    name: z.string().nullable(),
    status: z.literal('active'),
    deliverable: z.boolean().meta({ description: 'False when the address bounced for good or is suppressed.' }),
    confirmed_at: at.nullable(),
    choices: z.array(Choice).meta({ description: 'One per topic offered now.' }),
  })
  .meta({ id: 'Member' });

export const LedgerEvent = z
  .object({
    id: z.int(),
    topic_id: z.int(),
    topic_name: z.string(),
    from: status.nullable(),
    to: status,
    source: z.string().meta({
      description: 'Who acted: signup, member_web, member_link, unsubscribe_link, one_click, staff, import, erasure, system, api.',
    }),
    channel: z.string(),
    api_key: z.string().nullable().meta({ description: 'The name of the API key that recorded an opt-out (source api).' }),
    policy_version: z.string(),
    at,
  })
  .meta({ id: 'LedgerEvent' });

export const LedgerPage = z
  .object({ items: z.array(LedgerEvent), next_cursor: z.string().nullable().meta({ description: 'null on the last page.' }) })
  .meta({ id: 'LedgerPage' });

export const Change = z
  .object({
    kind: z.enum(['consent', 'member.confirmed', 'member.details_changed', 'member.erased']),
    member_id: memberId,
    at,
    consent: z
      .object({ topic_id: z.int(), from: status.nullable(), to: status, source: z.string() })
      .nullable()
      .meta({ description: 'For kind consent: what changed.' }),
  })
  .meta({ id: 'Change' });

export const ChangesPage = z
  .object({
    items: z.array(Change),
    next_cursor: cursor.meta({ description: 'Poll again with this; it never skips a change.' }),
    has_more: z.boolean().meta({ description: 'True when more changes are ready now: ask again at once.' }),
  })
  .meta({ id: 'ChangesPage' });

export const AudienceRow = z
  .object({
    member_id: memberId,
    email: z.string(),
    name: z.string().nullable(),
    unsubscribe_url: z.url().meta({
      description:
        'Opts the member out of this topic: a page on GET, at once on an RFC 8058 one-click POST. Put it in the footer and List-Unsubscribe.',
    }),
    manage_url: z.url().meta({ description: 'The member’s preference page, without sign-in or cookies.' }),
  })
  .meta({ id: 'AudienceRow' });

export const OptOutRequest = z
  .object({
    topic: z.union([z.int().positive(), z.literal('all')]).meta({ description: 'A topic id, or "all" for every topic.' }),
    reference: singleLineText()
      .max(200)
      .optional()
      .meta({ description: 'Your system’s reference for the request (kept in the ledger): one line, no control characters.' }),
  })
  .strict()
  .meta({ id: 'OptOutRequest' });

export const OptOutResult = z
  .object({
    member_id: memberId,
    changed: z.array(z.object({ topic_id: z.int(), from: status.nullable(), to: z.literal('opted_out') })).meta({
      description: 'The topics that changed; empty when the member was already opted out.',
    }),
  })
  .meta({ id: 'OptOutResult' });

export const SuppressionRequest = z
  .object({
    email: singleLineText().max(254).pipe(z.email()),
    reason: z.enum(REPORTED_REASONS),
  })
  .strict()
  .meta({ id: 'SuppressionRequest' });

export const MemberLookup = z.object({ email: singleLineText().max(254).pipe(z.email()) });
export const MemberPath = z.object({ id: memberId });
export const TopicPath = z.object({ id: z.coerce.number().int().positive().max(2147483647) });
export const PageQuery = z.object({
  cursor: cursor.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100).meta({ description: 'At most 500.' }),
});
