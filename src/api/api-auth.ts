import type { Request, RequestHandler, Response } from 'express';
import { appendAudit } from '../audit/audit.repository.js';
import type { ServiceContext } from '../context.js';
import type { ApiKeyRow } from '../integrations/api-keys.repository.js';
import { authenticateApiKey } from '../integrations/api-keys.service.js';
import { withinLimit } from '../shared/rate-limit.js';
import { ApiProblem } from './problem.js';
import type { ApiOperation } from './openapi.js';

const WINDOW_SECONDS = 60;

declare module 'express-serve-static-core' {
  interface Locals {
    apiKey?: ApiKeyRow;
  }
}

const unauthorized = (detail: string, error?: string) =>
  new ApiProblem(401, 'unauthorized', detail, {
    'WWW-Authenticate': `Bearer realm="assent"${error ? `, error="${error}"` : ''}`,
  });

/**
 * Bearer authentication: the key is looked up on every call (a revoked key is refused at once),
 * then counted against its per-minute limit in PostgreSQL (so the limit holds across nodes).
 */
export function apiKeyAuth(svc: ServiceContext): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization');
    if (!header) throw unauthorized('Send your API key as Authorization: Bearer <key>.');
    const [scheme, token, ...rest] = header.trim().split(/\s+/);
    if (scheme?.toLowerCase() !== 'bearer' || !token || rest.length > 0)
      throw unauthorized('The Authorization header must be "Bearer <key>".', 'invalid_request');
    const key = await authenticateApiKey(svc, token);
    if (!key) throw unauthorized('This API key is not valid: unknown, garbled or revoked.', 'invalid_token');
    if (
      !(await withinLimit(svc.db, { action: 'api', windowSeconds: WINDOW_SECONDS, max: svc.config.apiRatePerMinute }, `api-key:${key.id}`))
    ) {
      // The limit counts this window and the one before: the calls of this window stop counting when the next one ends.
      const retry = WINDOW_SECONDS - (Math.floor(Date.now() / 1000) % WINDOW_SECONDS) + WINDOW_SECONDS;
      throw new ApiProblem(429, 'rate_limited', `At most ${svc.config.apiRatePerMinute} calls a minute with one key.`, {
        'Retry-After': String(retry),
      });
    }
    res.locals.apiKey = key;
    next();
  };
}

/** What a handler tells the audit entry of its call: the member it concerned, the rows it sent. */
export interface CallFacts {
  memberId?: string;
  rows?: number;
}

/**
 * One operation of the document: its scope is checked, and the call is written in the audit log
 * under the key's name (C11) once it has been answered or refused, with the member it concerned.
 */
export function operation(
  svc: ServiceContext,
  op: ApiOperation,
  handler: (req: Request, res: Response, facts: CallFacts) => Promise<void>,
): RequestHandler {
  return async (req, res) => {
    const key = res.locals.apiKey!;
    const facts: CallFacts = {};
    const audit = (outcome: { status?: number; refused?: string }) =>
      appendAudit(svc.db, {
        staffUserId: null,
        action: 'api.called',
        memberId: facts.memberId ?? null,
        details: {
          apiKeyId: key.id,
          key: key.name,
          method: op.method.toUpperCase(),
          route: `/api/v1${op.path}`,
          ...outcome,
          ...(facts.rows !== undefined ? { rows: facts.rows } : {}),
        },
      });
    if (!key.scopes.includes(op.scope)) {
      await audit({ refused: `no ${op.scope} scope` });
      throw new ApiProblem(403, 'forbidden', `This key does not have the ${op.scope} scope.`);
    }
    try {
      await handler(req, res, facts);
    } catch (err) {
      await audit({ status: (err as { status?: number }).status ?? 500 });
      throw err;
    }
    await audit({ status: res.statusCode });
  };
}
