import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pinoHttp } from 'pino-http';
import { loggablePath, truncateIp, type Logger } from '../logger.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

/**
 * One log line per request, with a request id (taken from X-Request-Id when a proxy sets a
 * sane one) and nothing personal (C10): path without query string or tokens, truncated IP,
 * no headers, no cookies, no member id.
 */
export function requestLogger(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId(req: IncomingMessage, res: ServerResponse) {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    customSuccessMessage: () => 'request',
    customErrorMessage: () => 'request failed',
    // A 503 is the database being away (logged once by the database watch), not a fault here.
    customLogLevel: (_req, res, err) => (res.statusCode === 503 ? 'warn' : err || res.statusCode >= 500 ? 'error' : 'info'),
    serializers: {
      req: (req: IncomingMessage & { id?: string; ip?: string; originalUrl?: string }) => ({
        id: req.id,
        method: req.method,
        path: loggablePath(req.originalUrl ?? req.url ?? '/'),
        ip: truncateIp(req.ip ?? req.socket?.remoteAddress),
      }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
      err: (err: Error) => ({ type: err.name, message: err.message, stack: err.stack }),
    },
    wrapSerializers: false,
  });
}
