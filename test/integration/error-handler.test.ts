import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express, { type RequestHandler } from 'express';
import request from 'supertest';
import { problemHandler } from '../../src/api/problem.js';
import { errorHandler } from '../../src/shared/http/error-handler.js';
import { requestLogger } from '../../src/shared/http/request-log.js';
import { useViews } from '../../src/shared/http/views.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { capturingLogger } from '../helpers/logs.js';

/**
 * The one error handler's last line of defence: text PostgreSQL cannot store, reaching it by a
 * path the forms do not guard, is a calm 400 (and a log line without the text), not a 500.
 */
let database: TestDatabase;
const logLines: Record<string, unknown>[] = [];
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

function appWith(handler: RequestHandler, api = false) {
  const app = express();
  useViews(app, { cache: false });
  app.use(requestLogger(capturingLogger('info', logLines).logger));
  app.use((_req, res, next) => {
    Object.assign(res.locals, { orgName: 'Test Society', privacyContact: 'privacy@assent.test', errors: {}, input: {} });
    next();
  });
  app.get('/store', handler);
  app.use(api ? problemHandler('http://assent.test') : errorHandler);
  return app;
}

describe('C11: input PostgreSQL cannot store is refused calmly', () => {
  it('a NUL byte that reaches PostgreSQL (invalid byte sequence, 22021) is a calm 400 page, logged without the text', async () => {
    const app = appWith(async (_req, res) => {
      await database.db.raw('SELECT ?::text AS t', ['secret\u0000text']);
      res.send('stored');
    });
    const res = await request(app).get('/store').expect(400);
    expect(res.text).toContain('characters we cannot store');
    expect(res.text).not.toContain('Something went wrong');
    const line = logLines.find((l) => l.event === 'http.unstorable_text');
    expect(line).toMatchObject({ code: '22021' });
    expect(JSON.stringify(logLines)).not.toContain('secret');
  });

  it('a character the database encoding cannot hold (22P05) is answered the same way', async () => {
    const app = appWith(() => {
      throw Object.assign(new Error('character with byte sequence 0xe2 0x80 0xa8 in encoding "UTF8" has no equivalent'), { code: '22P05' });
    });
    expect((await request(app).get('/store').expect(400)).text).toContain('characters we cannot store');
  });

  it('any other database error is still the 500 page, with a reference', async () => {
    const app = appWith(async () => {
      await database.db.raw('SELECT * FROM no_such_table');
    });
    const res = await request(app).get('/store').expect(500);
    expect(res.text).toContain('please quote reference');
  });
});

describe('C11: the REST API refuses input PostgreSQL cannot store the same way, as problem details', () => {
  it('a NUL byte that reaches PostgreSQL (22021) is a 400 problem, logged without the text, never a 500', async () => {
    const app = appWith(async (_req, res) => {
      await database.db.raw('SELECT ?::text AS t', ['api\u0000secret']);
      res.send('stored');
    }, true);
    const res = await request(app).get('/store').expect(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(res.text)).toMatchObject({
      type: 'http://assent.test/api/v1/docs#problem-bad_request',
      status: 400,
      detail: expect.stringContaining('characters we cannot store'),
    });
    expect(logLines.find((l) => l.event === 'api.unstorable_text')).toMatchObject({ code: '22021' });
    expect(logLines.filter((l) => l.event === 'api.unhandled_error')).toEqual([]);
    expect(JSON.stringify(logLines)).not.toContain('secret');
  });

  it('a character the database encoding cannot hold (22P05) is a 400 problem too; any other database error stays a 500', async () => {
    const unstorable = appWith(() => {
      throw Object.assign(new Error('character with byte sequence 0xe2 0x80 0xa8 in encoding "UTF8" has no equivalent'), { code: '22P05' });
    }, true);
    expect(JSON.parse((await request(unstorable).get('/store').expect(400)).text).status).toBe(400);
    const broken = appWith(async () => {
      await database.db.raw('SELECT * FROM no_such_table');
    }, true);
    expect(JSON.parse((await request(broken).get('/store').expect(500)).text).status).toBe(500);
  });
});
