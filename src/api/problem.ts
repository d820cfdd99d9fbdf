import type { ErrorRequestHandler, Response } from 'express';
import { isDatabaseUnavailable } from '../shared/db-watch.js';
import { AppError, ValidationError } from '../shared/errors.js';
import { isUnstorableText, RETRY_AFTER_SECONDS } from '../shared/http/error-handler.js';

/** Where each problem type is explained: the reference page, one anchor per type. */
export const PROBLEM_TYPES: Record<string, string> = {
  unauthorized: 'No valid API key: the Authorization header is missing, garbled, or names an unknown or revoked key.',
  forbidden: 'The key does not have the scope this call needs.',
  not_found: 'Nothing here by that id or address (an unknown address and a suppressed one answer the same).',
  validation: 'The request did not validate; errors lists one message per field.',
  bad_request: 'The request could not be read: the body is not JSON, or it holds characters that cannot be stored.',
  not_acceptable: 'The Accept header asks for a format this call does not produce.',
  rate_limited: 'Too many calls with this key; wait the seconds Retry-After says.',
  unavailable: 'The database cannot be reached for a moment; nothing was done. Retry after the seconds Retry-After says.',
  server_error: 'Something went wrong on our side. Nothing was lost; retry later.',
};

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  406: 'Not acceptable',
  409: 'Conflict',
  422: 'Unprocessable content',
  429: 'Too many requests',
  500: 'Internal server error',
  503: 'Service unavailable',
};

export class ApiProblem extends AppError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message, status, code);
  }
}

export function sendProblem(
  res: Response,
  baseUrl: string,
  p: { status: number; code: string; detail: string; errors?: { field: string; message: string }[] },
): void {
  const code = p.code in PROBLEM_TYPES ? p.code : p.status >= 500 ? 'server_error' : 'bad_request';
  res
    .status(p.status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: `${baseUrl}/api/v1/docs#problem-${code}`,
        title: TITLES[p.status] ?? 'Error',
        status: p.status,
        detail: p.detail,
        ...(p.errors ? { errors: p.errors } : {}),
      }),
    );
}

/** Every error under /api becomes RFC 9457 problem details; never an HTML page, never a stack trace. */
export function problemHandler(baseUrl: string): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) {
      req.log?.error({ event: 'api.error_after_headers', err });
      res.destroy();
      return;
    }
    if (err instanceof ApiProblem) res.set(err.headers);
    if (isDatabaseUnavailable(err)) {
      res.set('Retry-After', String(RETRY_AFTER_SECONDS));
      return sendProblem(res, baseUrl, { status: 503, code: 'unavailable', detail: 'The database cannot be reached; nothing was done.' });
    }
    if (err instanceof ValidationError) {
      const errors = Object.entries(err.fieldErrors).map(([field, message]) => ({ field, message }));
      return sendProblem(res, baseUrl, { status: 422, code: 'validation', detail: err.message, errors });
    }
    if (err instanceof AppError) return sendProblem(res, baseUrl, { status: err.status, code: err.code, detail: err.message });
    if (isUnstorableText(err)) {
      // The schemas refuse these characters first; this is the last line of defence, as on the site.
      req.log?.warn({ event: 'api.unstorable_text', code: (err as { code: string }).code });
      return sendProblem(res, baseUrl, {
        status: 400,
        code: 'bad_request',
        detail: 'Some of the text sent holds characters we cannot store, such as control characters. Remove them and try again.',
      });
    }
    const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? (err.status as number) : 500;
    if (status === 500) req.log?.error({ event: 'api.unhandled_error', err });
    sendProblem(res, baseUrl, {
      status,
      code: status === 400 ? 'bad_request' : status === 500 ? 'server_error' : 'bad_request',
      detail: status === 500 ? `Something went wrong on our side (reference ${String(req.id ?? '')}).` : 'The request could not be read.',
    });
  };
}
