import { Router, type Request } from 'express';
import { KIND_ORDER } from '../consent/consent.repository.js';
import { KIND_LABELS, preferencesFor } from '../consent/consent.service.js';
import { NotFoundError } from '../shared/errors.js';
import { formView, parseForm } from '../shared/http/forms.js';
import type { ServiceContext } from '../shared/service-context.js';
import { guardFor } from './guards.js';
import { findMemberStatus, searchMembers, staffMemberRecord, type StaffMemberRecord } from '../members/casework.repository.js';
import { isUuid } from '../shared/ids.js';
import { MEMBERS_PAGE_SIZE, MemberSearch, StaffRecordChange } from '../members/casework.schemas.js';
import { assertChangeable, recordChangeOnBehalf } from '../members/casework.service.js';
import { appendAudit } from '../audit/audit.repository.js';

const SEARCH_VIEW = 'admin/members/index';
const RECORD_VIEW = 'admin/members/show';
const CHANGE_VIEW = 'admin/members/change';

const staffId = (req: Request) => req.user!.id;

/** The member id in the URL; a malformed one (a literal ":id", not a uuid) is simply not found. */
function memberIdFrom(req: Request): string {
  const id = req.params.id;
  if (!isUuid(id)) throw new NotFoundError('We could not find that member.');
  return id;
}
const changedCount = (q: unknown) => (typeof q === 'string' && /^\d{1,3}$/.test(q) ? Number(q) : undefined);

/**
 * Staff work on members (C3, C11): find a member, read their whole record, download it, and record
 * a change that reached us by phone, post or e-mail. Every search, view, export and change is in
 * the audit log; search entries hold the result count, never the text searched for.
 */
export function membersAdminRouter(svc: ServiceContext): Router {
  const router = Router();

  async function recordOf(id: string): Promise<StaffMemberRecord> {
    const record = await staffMemberRecord(svc.db, id);
    if (!record) throw new NotFoundError('We could not find that member.');
    return record;
  }

  async function changeLocals(id: string) {
    const member = await findMemberStatus(svc.db, id);
    if (!member) throw new NotFoundError('We could not find that member.');
    assertChangeable(member.status);
    const [record, items] = await Promise.all([staffMemberRecord(svc.db, id), preferencesFor(svc.db, id)]);
    const groups = KIND_ORDER.map((kind) => ({ kind, ...KIND_LABELS[kind], items: items.filter((i) => i.topic.kind === kind) })).filter(
      (g) => g.items.length,
    );
    return { title: 'Record a change', details: record!.details, groups };
  }

  router.get('/admin/members', guardFor('GET', '/admin/members'), async (req, res) => {
    formView(res, SEARCH_VIEW, { title: 'Members', members: [], q: '', page: 1, hasNext: false });
    const { q, page } = parseForm(MemberSearch, req.query);
    const rows = await searchMembers(svc.db, { q, limit: MEMBERS_PAGE_SIZE + 1, offset: (page - 1) * MEMBERS_PAGE_SIZE });
    const members = rows.slice(0, MEMBERS_PAGE_SIZE);
    await appendAudit(svc.db, { staffUserId: staffId(req), action: 'member.searched', details: { results: members.length } });
    res.render(SEARCH_VIEW, { title: 'Members', members, q, page, hasNext: rows.length > MEMBERS_PAGE_SIZE });
  });

  router.get('/admin/members/:id', guardFor('GET', '/admin/members/:id'), async (req, res) => {
    const record = await recordOf(memberIdFrom(req));
    await appendAudit(svc.db, { staffUserId: staffId(req), action: 'member.viewed', memberId: record.details.memberReference });
    res.render(RECORD_VIEW, {
      title: 'Member record',
      record,
      changed: changedCount(req.query.changed),
    });
  });

  router.get('/admin/members/:id/export', guardFor('GET', '/admin/members/:id/export'), async (req, res) => {
    const record = await recordOf(memberIdFrom(req));
    await appendAudit(svc.db, { staffUserId: staffId(req), action: 'member.exported', memberId: record.details.memberReference });
    res.set('Cache-Control', 'no-store');
    res.attachment(`member-${record.details.memberReference}.json`);
    res.type('application/json').send(JSON.stringify({ exportedAt: new Date(), ...record }, null, 2));
  });

  router.get('/admin/members/:id/change', guardFor('GET', '/admin/members/:id/change'), async (req, res) => {
    const memberId = memberIdFrom(req);
    const locals = await changeLocals(memberId);
    await appendAudit(svc.db, {
      staffUserId: staffId(req),
      action: 'member.viewed',
      memberId,
      details: { page: 'change' },
    });
    res.render(CHANGE_VIEW, locals);
  });

  router.post('/admin/members/:id/change', guardFor('POST', '/admin/members/:id/change'), async (req, res) => {
    const memberId = memberIdFrom(req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const kept = Object.fromEntries(Object.entries(body).filter(([k]) => k !== '_csrf'));
    // The input is kept for errors found below the form too (C1 reference, unknown topic).
    formView(res, CHANGE_VIEW, { ...(await changeLocals(memberId)), kept });
    const change = parseForm(StaffRecordChange, body);
    const changes = await recordChangeOnBehalf(svc, staffId(req), memberId, change);
    res.redirect(303, `/admin/members/${memberId}?changed=${changes.length}`);
  });

  return router;
}
