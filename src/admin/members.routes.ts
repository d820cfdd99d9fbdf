import { Router, type Request } from 'express';
import { NotFoundError } from '../shared/errors.js';
import { formView, parseForm } from '../shared/http/forms.js';
import type { ServiceContext } from '../context.js';
import { guardFor } from './guards.js';
import { MemberSearch, StaffRecordChange } from '../members/casework.schemas.js';
import { changeFormData, openMemberRecord, recordChangeOnBehalf, searchMembersAsStaff } from '../members/casework.service.js';
import { isUuid } from '../shared/ids.js';
import { deliverabilityOf } from '../integrations/bounces.service.js';

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

  router.get('/admin/members', guardFor('GET', '/admin/members'), async (req, res) => {
    formView(res, SEARCH_VIEW, () => ({ title: 'Members', members: [], q: '', page: 1, hasNext: false }));
    const { q, page } = parseForm(MemberSearch, req.query);
    const { members, hasNext } = await searchMembersAsStaff(svc, staffId(req), { q, page });
    res.render(SEARCH_VIEW, { title: 'Members', members, q, page, hasNext });
  });

  router.get('/admin/members/:id', guardFor('GET', '/admin/members/:id'), async (req, res) => {
    const id = memberIdFrom(req);
    const record = await openMemberRecord(svc, staffId(req), id, 'viewed');
    const deliverability = await deliverabilityOf(svc, id);
    res.render(RECORD_VIEW, { title: 'Member record', record, deliverability, changed: changedCount(req.query.changed) });
  });

  router.get('/admin/members/:id/export', guardFor('GET', '/admin/members/:id/export'), async (req, res) => {
    const record = await openMemberRecord(svc, staffId(req), memberIdFrom(req), 'exported');
    res.set('Cache-Control', 'no-store');
    res.attachment(`member-${record.details.memberReference}.json`);
    res.type('application/json').send(JSON.stringify({ exportedAt: new Date(), ...record }, null, 2));
  });

  router.get('/admin/members/:id/change', guardFor('GET', '/admin/members/:id/change'), async (req, res) => {
    const data = await changeFormData(svc, staffId(req), memberIdFrom(req), { audit: true });
    res.render(CHANGE_VIEW, { title: 'Record a change', ...data });
  });

  router.post('/admin/members/:id/change', guardFor('POST', '/admin/members/:id/change'), async (req, res) => {
    const memberId = memberIdFrom(req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const kept = Object.fromEntries(Object.entries(body).filter(([k]) => k !== '_csrf'));
    // The input is kept for errors found below the form too (C1 reference, unknown topic).
    formView(res, CHANGE_VIEW, async () => ({
      title: 'Record a change',
      ...(await changeFormData(svc, staffId(req), memberId, { audit: false })),
      kept,
    }));
    const changes = await recordChangeOnBehalf(svc, staffId(req), memberId, parseForm(StaffRecordChange, body));
    res.redirect(303, `/admin/members/${memberId}?changed=${changes.length}`);
  });

  return router;
}
