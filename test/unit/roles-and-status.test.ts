import { describe, expect, it } from '@jest/globals';
import { ADMIN_ROUTES, areasFor, can, guardFor, type RouteKey } from '../../src/admin/guards.js';
import { STAFF_ROLES } from '../../src/auth/staff.repository.js';
import type { PolicyVersionRow } from '../../src/policies/policies.repository.js';
import { policyStatus } from '../../src/policies/versions.service.js';

describe('C11: the role table is the one answer to "may this role do this?"', () => {
  it('C11: can() answers from ADMIN_ROUTES for every route and role', () => {
    for (const route of ADMIN_ROUTES)
      for (const role of STAFF_ROLES) {
        const key = `${route.method} ${route.path}` as RouteKey;
        expect([key, role, can(role, key)]).toEqual([key, role, route.roles.includes(role)]);
      }
    expect(can(undefined, 'GET /admin')).toBe(false);
  });

  it('C11: an unlisted route is a programming error, not a silent yes or no', () => {
    expect(() => can('admin', 'POST /admin/nowhere')).toThrow(/not in ADMIN_ROUTES/);
    expect(() => guardFor('POST', '/admin/nowhere')).toThrow(/not in ADMIN_ROUTES/);
  });

  it('C11: the home page lists only the areas a role may open', () => {
    for (const role of STAFF_ROLES)
      for (const area of areasFor(role))
        expect([role, area.href, can(role, `GET ${area.href}` as RouteKey)]).toEqual([role, area.href, true]);
    expect(areasFor('auditor').map((a) => a.href)).not.toContain('/admin/staff');
    expect(areasFor('admin').map((a) => a.href)).toContain('/admin/staff');
  });
});

describe('C7: where a policy version stands', () => {
  const version = (v: Partial<PolicyVersionRow>): PolicyVersionRow =>
    ({ id: 1, published_at: null, effective_at: null, ...v }) as PolicyVersionRow;
  const now = new Date('2026-12-01T00:00:00Z');
  it('C7: a draft, upcoming in its notice period, in force, or superseded', () => {
    expect(policyStatus(version({}), undefined, now)).toBe('draft');
    const published = new Date('2026-11-25T00:00:00Z');
    expect(policyStatus(version({ published_at: published, effective_at: new Date('2026-12-02T00:00:00Z') }), 7, now)).toBe('upcoming');
    expect(policyStatus(version({ id: 7, published_at: published, effective_at: new Date('2026-11-30T00:00:00Z') }), 7, now)).toBe(
      'in force',
    );
    expect(policyStatus(version({ id: 6, published_at: published, effective_at: new Date('2026-11-30T00:00:00Z') }), 7, now)).toBe(
      'superseded',
    );
  });
});
