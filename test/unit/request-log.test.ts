import { describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { errorHandler } from '../../src/shared/http/error-handler.js';
import { requestLogger } from '../../src/shared/http/request-log.js';
import { useViews } from '../../src/shared/http/views.js';
import { capturingLogger } from '../helpers/logs.js';

/**
 * The request log at each level: at info and below every request is a line (pino-http); above it
 * (LOG_LEVEL=warn), where pino-http's work for a request that ends well would write nothing, the
 * requests that fail are still logged with the same line, and each request still has its id and
 * a logger for what the error handler writes.
 */
function appAt(level: string) {
  const { logger, lines } = capturingLogger(level);
  const app = express();
  useViews(app, { cache: true });
  app.use(requestLogger(logger));
  app.use((_req, res, next) => {
    Object.assign(res.locals, { orgName: 'Test Society', privacyContact: 'privacy@assent.test', errors: {}, input: {} });
    next();
  });
  app.get('/fine', (_req, res) => void res.send('fine'));
  app.get('/away', (_req, res) => void res.status(503).send('away'));
  app.get('/broken/:token', () => {
    throw new Error('it broke');
  });
  app.use(errorHandler);
  return { app, lines };
}

/** The line without what differs from run to run. */
function shape(line: Record<string, unknown> | undefined) {
  if (!line) return undefined;
  const { time: _time, responseTime, err, ...rest } = line as Record<string, unknown> & { err?: Record<string, unknown> };
  return { ...rest, responseTime: typeof responseTime, err: err && { type: err.type, message: err.message, stack: typeof err.stack } };
}

describe('C10: the request log', () => {
  it('at warn, a request that ends well writes nothing and still answers with its request id', async () => {
    const { app, lines } = appAt('warn');
    const res = await request(app).get('/fine?email=someone@example.org').set('X-Request-Id', 'proxy-given-id-1').expect(200);
    expect(res.headers['x-request-id']).toBe('proxy-given-id-1');
    expect((await request(app).get('/fine').expect(200)).headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines).toEqual([]);
  });

  it('at warn, a failed request is logged as at info: the same line, with the request id, path without its token, truncated IP', async () => {
    const shapes = [];
    for (const level of ['info', 'warn']) {
      const { app, lines } = appAt(level);
      await request(app).get('/broken/s3cr3t-token-0123456789abcdefghij?email=a@b.c').set('X-Request-Id', 'proxy-given-id-2').expect(500);
      await request(app).get('/away').set('X-Request-Id', 'proxy-given-id-3').expect(503);
      const failed = lines.find((l) => l.msg === 'request failed' && (l.res as { status: number }).status === 500);
      const away = lines.find((l) => l.msg === 'request failed' && (l.res as { status: number }).status === 503);
      const handler = lines.find((l) => l.event === 'http.unhandled_error');
      expect(failed?.req).toEqual({
        id: 'proxy-given-id-2',
        method: 'GET',
        path: '/broken/:redacted',
        ip: expect.stringMatching(/\.0$|::$/),
      });
      expect(JSON.stringify(lines)).not.toContain('a@b.c');
      // The error handler's own line carries the request too.
      expect((handler?.req as { id?: string } | undefined)?.id).toBe('proxy-given-id-2');
      shapes.push({ failed: shape(failed), away: shape(away), handler: handler && { level: handler.level, msg: handler.msg } });
    }
    expect(shapes[0]?.failed).toMatchObject({ level: 50, msg: 'request failed', res: { status: 500 }, responseTime: 'number' });
    expect(shapes[0]?.away).toMatchObject({ level: 40, res: { status: 503 } });
    expect(shapes[1]).toEqual(shapes[0]);
  });
});
