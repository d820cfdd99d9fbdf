import { describe, expect, it } from '@jest/globals';
import express, { type ErrorRequestHandler } from 'express';
import request from 'supertest';
import { ADMIN_ROUTES, guardByTable } from '../../src/admin/guards.js';
import { STAFF_ROLES, type StaffRole } from '../../src/admin/staff.repository.js';
import { routeSpellings as spellings } from '../helpers/spellings.js';

type Visitor = { kind: 'staff'; role: StaffRole } | { kind: 'member' } | null;

/**
 * The route table's own check, alone: behind it every admin route answers with a handler that has
 * no guard of its own (the handler that forgot its guard, which the table check exists for).
 */
function appBehindTheTable(visitor: Visitor) {
  const app = express();
  app.use((req, _res, next) => {
    if (visitor) req.user = { id: 'someone', ...visitor, ...(visitor.kind === 'staff' ? { twoFactor: true, name: 'S' } : {}) };
    next();
  });
  app.use(guardByTable);
  for (const route of ADMIN_ROUTES) app[route.method === 'GET' ? 'get' : 'post'](route.path, (_req, res) => res.send('the page'));
  app.use(((err: { status?: number }, _req, res, _next) => res.status(err.status ?? 500).send('refused')) as ErrorRequestHandler);
  return app;
}

describe('C11: the admin route table is checked for every spelling Express routes', () => {
  it('C11: a role the table does not allow gets 403 on every route, in upper or mixed case or with a trailing slash, even where the handler has no guard', async () => {
    for (const route of ADMIN_ROUTES) {
      const refused: Visitor[] = [
        { kind: 'member' },
        ...STAFF_ROLES.filter((r) => !route.roles.includes(r)).map((role) => ({ kind: 'staff' as const, role })),
      ];
      for (const visitor of refused) {
        const app = appBehindTheTable(visitor);
        for (const path of spellings(route.path)) {
          const res = route.method === 'GET' ? await request(app).get(path) : await request(app).post(path);
          expect([route.method, path, visitor, res.status]).toEqual([route.method, path, visitor, 403]);
        }
      }
    }
  });

  it('C11: with no session every spelling of every route goes to the staff sign-in page', async () => {
    const app = appBehindTheTable(null);
    for (const route of ADMIN_ROUTES) {
      for (const path of spellings(route.path)) {
        const res = route.method === 'GET' ? await request(app).get(path) : await request(app).post(path);
        expect([route.method, path, res.status, res.headers.location]).toEqual([route.method, path, 303, '/admin/login']);
      }
    }
  });

  it('C11: a path outside the table, in any case, is still for staff only', async () => {
    for (const path of ['/ADMIN/nothing-here', '/Admin/Nothing/', '/ADMIN']) {
      expect([path, (await request(appBehindTheTable({ kind: 'member' })).get(path)).status]).toEqual([path, 403]);
      expect([path, (await request(appBehindTheTable(null)).get(path)).headers.location]).toEqual([path, '/admin/login']);
    }
  });
});
