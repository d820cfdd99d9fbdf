import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { isDatabaseUnavailable } from '../db-watch.js';
import { AppError, NotFoundError, ValidationError } from '../errors.js';

/** What a 503 asks clients to wait: a database restart or failover takes seconds. */
export const RETRY_AFTER_SECONDS = 5;

/** Unknown URLs get the calm 404 page. */
export const notFound: RequestHandler = (_req, _res, next) => next(new NotFoundError());

/**
 * The one place errors become responses. A ValidationError re-renders the form the route named
 * in res.locals.formView, with a message per field and the input kept (422). Other typed errors
 * get their status and a calm page, and so does input that cannot be read or stored (400). While
 * the database cannot be reached the answer is 503 with Retry-After: a calm page for browsers, one
 * line of text for anything else (a mail provider's one-click POST); nothing was done, and nothing
 * blames what the visitor sent. Anything else unexpected is logged with the request id and
 * answered with a 500 page that shows that id.
 */
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const requestId = String(req.id ?? '');
  if (res.headersSent) {
    req.log?.error({ event: 'http.error_after_headers', err });
    return;
  }
  if (isDatabaseUnavailable(err)) {
    req.log?.debug({ event: 'http.database_unavailable', err });
    res.status(503).set('Retry-After', String(RETRY_AFTER_SECONDS));
    const message = 'We cannot reach our database for a moment. Nothing was changed; please try again in a few seconds.';
    if (!/text\/html/.test(req.get('accept') ?? '')) {
      res.type('text').send(`${message}\n`);
      return;
    }
    renderOrPlain(req, res, 'errors/error', { title: 'Back in a moment', message, requestId });
    return;
  }
  if (err instanceof ValidationError && typeof res.locals.formView === 'string') {
    const view = res.locals.formView;
    const given = res.locals.formLocals as Record<string, unknown> | (() => Promise<Record<string, unknown>>) | undefined;
    Promise.resolve(typeof given === 'function' ? given() : given).then(
      (locals) => {
        res.status(422);
        renderOrPlain(req, res, view, { ...locals, errors: err.fieldErrors, input: err.input, errorSummary: err.message });
      },
      (loadErr: unknown) => errorHandler(loadErr, req, res, _next),
    );
    return;
  }
  if (err instanceof AppError) {
    res.status(err.status);
    renderOrPlain(req, res, 'errors/error', { title: titleFor(err.status), message: err.message, requestId });
    return;
  }
  const refused = refusedInput(err);
  if (refused) {
    // The forms refuse these characters first; this is the last line of defence for any path that does not.
    req.log?.warn({ event: refused.event, code: (err as { code?: unknown }).code });
    res.status(400);
    renderOrPlain(req, res, 'errors/error', { title: titleFor(400), message: refused.message, requestId });
    return;
  }
  const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
  if (status === 500) req.log?.error({ event: 'http.unhandled_error', err });
  res.status(status);
  renderOrPlain(req, res, 'errors/error', {
    title: titleFor(status),
    message:
      status === 500
        ? 'Something went wrong on our side. Nothing you sent was lost; please try again in a moment.'
        : status === 403
          ? 'This form has expired. Please go back, reload the page and try again.'
          : 'We could not understand that request.',
    requestId,
  });
};

/** If even the error page cannot render, answer in plain text: never Express's stack-trace page. */
function renderOrPlain(req: Request, res: Response, view: string, locals: Record<string, unknown>): void {
  res.render(view, locals, (renderErr: Error | null, html?: string) => {
    if (renderErr) {
      req.log?.error({ event: 'http.error_page_failed', err: renderErr });
      res.type('text').send(`${String(locals.title ?? 'Error')}. Reference: ${String(req.id ?? '')}`);
      return;
    }
    res.send(html);
  });
}

function titleFor(status: number): string {
  if (status === 404) return 'Page not found';
  if (status === 403) return 'Not allowed';
  if (status === 422) return 'Please check your input';
  if (status >= 500) return 'Something went wrong';
  return 'That did not work';
}

// PostgreSQL's "invalid byte sequence" (a NUL in text) and "character not in repertoire".
const UNSTORABLE_TEXT = new Set(['22021', '22P05']);

/** Whether PostgreSQL refused the error's text as unstorable: input at fault, not us (the REST API's handler asks too). */
export function isUnstorableText(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && UNSTORABLE_TEXT.has(code);
}

/**
 * Input that could not be read or stored, as opposed to a fault of ours: a percent-escape in the
 * address that does not decode (Express's router and the admin route table both decode paths),
 * or text PostgreSQL cannot hold.
 */
function refusedInput(err: unknown): { event: string; message: string } | undefined {
  if (err instanceof URIError)
    return { event: 'http.malformed_url', message: 'This web address is not valid. Please check the link, or type it again.' };
  if (isUnstorableText(err))
    return {
      event: 'http.unstorable_text',
      message: 'Some of the text you sent holds characters we cannot store, such as control characters. Please remove them and try again.',
    };
  return undefined;
}
