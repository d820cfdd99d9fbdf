import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import { loggablePath, truncateIp, type Logger } from '../logger.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;
const SUCCESS_MESSAGE = 'request';
const ERROR_MESSAGE = 'request failed';

type LoggedRequest = IncomingMessage & { id?: string; ip?: string; originalUrl?: string; log?: Logger };

/** The request id: X-Request-Id when a proxy sets a sane one, else a new one; answered in the header. */
function requestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/** A 503 is the database being away (logged once by the database watch), not a fault here. */
function levelFor(res: ServerResponse, err?: unknown): 'info' | 'warn' | 'error' {
  return res.statusCode === 503 ? 'warn' : err || res.statusCode >= 500 ? 'error' : 'info';
}

/** What a log line says of a request: nothing personal (C10). */
const serializers = {
  req: (req: LoggedRequest) => ({
    id: req.id,
    method: req.method,
    path: loggablePath(req.originalUrl ?? req.url ?? '/'),
    ip: truncateIp(req.ip ?? req.socket?.remoteAddress),
  }),
  res: (res: { statusCode: number }) => ({ status: res.statusCode }),
  err: (err: Error) => ({ type: err.name, message: err.message, stack: err.stack }),
};

/**
 * One log line per request, with a request id (taken from X-Request-Id when a proxy sets a
 * sane one) and nothing personal (C10): path without query string or tokens, truncated IP,
 * no headers, no cookies, no member id.
 *
 * Below the info level no request line is written but a failed request's, yet pino-http would
 * still make each request its logger (the request serialised, its IP worked out) and watch its
 * end: about a sixth of a cookieless page's time. There each request gets its id, a logger made
 * only when something logs with it, and the same line as pino-http's when it fails.
 */
export function requestLogger(logger: Logger): RequestHandler {
  if (!logger.isLevelEnabled('info')) return failuresOnly(logger);
  return pinoHttp({
    logger,
    genReqId: requestId,
    customSuccessMessage: () => SUCCESS_MESSAGE,
    customErrorMessage: () => ERROR_MESSAGE,
    customLogLevel: (_req, res, err) => levelFor(res, err),
    serializers,
    wrapSerializers: false,
  }) as unknown as RequestHandler;
}

function failuresOnly(logger: Logger): RequestHandler {
  return (request, response, next) => {
    const req = request as unknown as LoggedRequest;
    const res = response as unknown as ServerResponse & { err?: Error };
    const started = Date.now();
    req.id = requestId(req, res);
    let log: Logger | undefined;
    Object.defineProperty(req, 'log', {
      configurable: true,
      enumerable: true,
      get: () => (log ??= logger.child({ req }, { serializers })),
    });
    res.once('finish', () => {
      if (res.statusCode < 500 && !res.err) return;
      const err = res.err ?? new Error(`failed with status code ${res.statusCode}`);
      req.log![levelFor(res, err)]({ res, err, responseTime: Date.now() - started }, ERROR_MESSAGE);
    });
    next();
  };
}
