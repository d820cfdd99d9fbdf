import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { ADMIN_ROUTES } from '../../src/admin/guards.js';
import { STAFF_ROLES, type StaffRole } from '../../src/auth/staff.repository.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { insertMember } from '../helpers/fixtures.js';
import { csrfFrom, signedInAgent } from '../helpers/session.js';
import { routeSpellings } from '../helpers/spellings.js';
import { signedInStaff, type Agent } from '../helpers/staff.js';

let ctx: TestContext;
const agents = new Map<StaffRole | 'member', { agent: Agent; csrf: string }>();

beforeAll(async () => {
  ctx = await startTestContext();
  for (const role of STAFF_ROLES) {
    const { agent } = await signedInStaff(ctx, `spelling-${role}@example.org`, role);
    agents.set(role, { agent, csrf: await csrfFrom(agent, '/admin/password') });
  }
  const member = await signedInAgent(ctx, await insertMember(ctx.db, 'spelling-member@example.org'));
  agents.set('member', { agent: member, csrf: await csrfFrom(member, '/preferences') });
});
afterAll(() => ctx.close());

/** Upper case, mixed case, trailing slash (the route-table unit test walks the combinations too). */
const spellings = (path: string) => routeSpellings(path).slice(0, 3);

const send = (agent: Agent, method: 'GET' | 'POST', path: string, _csrf: string) =>
  method === 'GET' ? agent.get(path) : agent.post(path).type('form').send({ _csrf });

describe('C11: admin routes refuse every spelling Express routes, not only the lower-case one', () => {
  it('C11: on every admin route, upper- or mixed-case and trailing-slash spellings give a role that is not allowed (or a member) 403, never the page', async () => {
    for (const route of ADMIN_ROUTES) {
      const refused = [...STAFF_ROLES.filter((r) => !route.roles.includes(r)), 'member' as const];
      for (const who of refused) {
        const { agent, csrf } = agents.get(who)!;
        for (const path of spellings(route.path)) {
          const res = await send(agent, route.method, path, csrf);
          expect([who, route.method, path, res.status]).toEqual([who, route.method, path, 403]);
        }
      }
    }
  }, 180000);

  it('C11: signed out, every spelling of every admin route goes to the staff sign-in page', async () => {
    const anonymous = request.agent(ctx.http);
    const _csrf = await csrfFrom(anonymous, '/admin/login');
    for (const route of ADMIN_ROUTES) {
      for (const path of spellings(route.path)) {
        const res = await send(anonymous, route.method, path, _csrf);
        expect([route.method, path, res.status, res.headers.location]).toEqual([route.method, path, 303, '/admin/login']);
      }
    }
  }, 180000);

  it('C11: an admin path outside the table, in any case, is for staff only', async () => {
    for (const path of ['/ADMIN/nothing-here', '/Admin/Nothing/']) {
      await agents.get('member')!.agent.get(path).expect(403);
      await request(ctx.http).get(path).expect(303).expect('location', '/admin/login');
      await agents.get('auditor')!.agent.get(path).expect(404);
    }
  });
});
