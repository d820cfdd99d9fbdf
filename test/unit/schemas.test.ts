import { describe, expect, it } from '@jest/globals';
import { AuditQuery, auditFilter } from '../../src/audit/audit.schemas.js';
import { StaffAccountForm } from '../../src/auth/staff.schemas.js';
import { JoinRequest } from '../../src/members/join.schemas.js';
import { PolicyDraftForm, PublishForm } from '../../src/policies/policies.schemas.js';

/** Command schemas parse at the edge; only what they return goes down (DESIGN rule 4). */
const fieldsOf = (r: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) =>
  r.success ? [] : [...new Set(r.error!.issues.map((i) => String(i.path[0])))].sort();

describe('command schemas', () => {
  it('C13: joining needs the age confirmation; without it the command does not parse', () => {
    const schema = JoinRequest(16);
    const base = { name: 'Ada Lovelace', email: 'ada@example.org', topics: ['1', '2'] };
    expect(fieldsOf(schema.safeParse(base))).toEqual(['age_confirmed']);
    const ok = schema.parse({ ...base, age_confirmed: 'yes' });
    expect(ok).toMatchObject({ name: 'Ada Lovelace', email: 'ada@example.org', topics: [1, 2], postal_address: null, phone: null });
  });

  it('C11: the audit filters take ids and calendar days only, "to" not before "from", and become the repository filter', () => {
    expect(fieldsOf(AuditQuery.safeParse({ staff: 'x', member: 'y', from: '2026-02-30', to: '2026-13-01' }))).toEqual([
      'from',
      'member',
      'staff',
      'to',
    ]);
    expect(fieldsOf(AuditQuery.safeParse({ from: '2026-11-02', to: '2026-11-01' }))).toEqual(['to']);
    const q = AuditQuery.parse({ member: '0B9F3C1E-5D2A-4C7B-9E61-2F0A8D4B7C35', from: '2026-11-01', to: '2026-11-01', page: 'x' });
    expect(q.page).toBe(1);
    expect(auditFilter(q)).toEqual({
      memberId: '0b9f3c1e-5d2a-4c7b-9e61-2f0a8d4b7c35',
      from: new Date('2026-11-01T00:00:00Z'),
      before: new Date('2026-11-02T00:00:00Z'),
    });
  });

  it('C7: a publication date must be a real date and time (UTC); a draft needs a label, a title and a text', () => {
    expect(PublishForm.parse({ effective_at: '2026-12-01T09:30' }).effective_at).toEqual(new Date('2026-12-01T09:30:00Z'));
    expect(fieldsOf(PublishForm.safeParse({ effective_at: '2026-02-30T09:30' }))).toEqual(['effective_at']);
    expect(fieldsOf(PolicyDraftForm.safeParse({ version: '2 1', title: '', body: '' }))).toEqual(['body', 'title', 'version']);
  });

  it('C11: a staff account needs a role of the table and a password of at least 12 characters', () => {
    const base = { email: 'sam@example.org', name: 'Sam', role: 'support', password: 'a long password!' };
    expect(StaffAccountForm.safeParse(base).success).toBe(true);
    expect(fieldsOf(StaffAccountForm.safeParse({ ...base, role: 'root', password: 'short' }))).toEqual(['password', 'role']);
  });
});
