import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express, { type ErrorRequestHandler } from 'express';
import request from 'supertest';
import { ADMIN_ROUTES, guardByTable } from '../../src/admin/guards.js';
import { STAFF_ROLES } from '../../src/auth/staff.repository.js';
import { routeSpellings as spellings } from '../helpers/spellings.js';

/** Who the request comes from: a staff role, a member, or nobody signed in. */
type Visitor = (typeof STAFF_ROLES)[number] | 'member' | 'nobody';
const VISITOR = 'x-test-visitor';

/**
 * The route table's own check, alone: behind it every admin route answers with a handler that has
 * no guard of its own (the handler that forgot its guard, which the table check exists for).
 */
function appBehindTheTable() {
  const app = express();
  app.use((req, _res, next) => {
    const visitor = req.get(VISITOR) as Visitor;
    if (visitor === 'member') req.user = { kind: 'member', id: 'someone' };
    else if (visitor !== 'nobody') req.user = { kind: 'staff', id: 'someone', role: visitor, twoFactor: true, name: 'S' };
    next();
  });
  app.use(guardByTable);
  for (const route of ADMIN_ROUTES) app[route.method === 'GET' ? 'get' : 'post'](route.path, (_req, res) => res.send('the page'));
  app.use(((err: { status?: number }, _req, res, _next) => res.status(err.status ?? 500).send('refused')) as ErrorRequestHandler);
  return app;
}

let server: Server;
beforeAll(() => {
  server = appBehindTheTable().listen(0, '127.0.0.1');
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const send = (method: 'GET' | 'POST', path: string, visitor: Visitor) =>
  (method === 'GET' ? request(server).get(path) : request(server).post(path)).set(VISITOR, visitor);

describe('C11: the admin route table is checked for every spelling Express routes', () => {
  it('C11: a role the table does not allow gets 403 on every route, in upper or mixed case or with a trailing slash, even where the handler has no guard', async () => {
    for (const route of ADMIN_ROUTES) {
      const refused: Visitor[] = ['member', ...STAFF_ROLES.filter((r) => !route.roles.includes(r))];
      for (const visitor of refused) {
        for (const path of spellings(route.path)) {
          const res = await send(route.method, path, visitor);
          expect([route.method, path, visitor, res.status]).toEqual([route.method, path, visitor, 403]);
        }
      }
    }
  });

  it('C11: with no session every spelling of every route goes to the staff sign-in page', async () => {
    for (const route of ADMIN_ROUTES) {
      for (const path of spellings(route.path)) {
        const res = await send(route.method, path, 'nobody');
        expect([route.method, path, res.status, res.headers.location]).toEqual([route.method, path, 303, '/admin/login']);
      }
    }
  });

  it('C11: a path outside the table, in any case, is still for staff only', async () => {
    for (const path of ['/ADMIN/nothing-here', '/Admin/Nothing/', '/ADMIN']) {
      expect([path, (await send('GET', path, 'member')).status]).toEqual([path, 403]);
      expect([path, (await send('GET', path, 'nobody')).headers.location]).toEqual([path, '/admin/login']);
    }
  });

  it('an allowed role passes the table check on every spelling (the check refuses by role, not by spelling)', async () => {
    for (const route of ADMIN_ROUTES) {
      for (const path of spellings(route.path)) {
        const res = await send(route.method, path, route.roles[0]!);
        expect([route.method, path, res.status, res.text]).toEqual([route.method, path, 200, 'the page']);
      }
    }
  });
});
