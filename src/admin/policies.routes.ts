import { Router, type Request } from 'express';
import { noticeProgress } from '../policies/fanout.js';
import { findPolicyById, findPolicyInForce, listAllPolicies, type PolicyVersionRow } from '../policies/policies.repository.js';
import { NotFoundError } from '../shared/errors.js';
import { formView, parseForm } from '../shared/http/forms.js';
import type { ServiceContext } from '../shared/service-context.js';
import { guardFor } from './guards.js';
import { parseNumericId } from '../shared/ids.js';
import { PolicyDraftForm, PublishForm } from '../policies/policies.schemas.js';
import { createPolicyDraft, earliestEffective, findEditableDraft, publishPolicy, updateDraft } from '../policies/versions.service.js';

export type PolicyStatus = 'draft' | 'upcoming' | 'in force' | 'superseded';

export function policyStatus(p: PolicyVersionRow, inForceId: number | undefined, now = new Date()): PolicyStatus {
  if (!p.published_at || !p.effective_at) return 'draft';
  if (p.effective_at > now) return 'upcoming';
  return p.id === inForceId ? 'in force' : 'superseded';
}

function idParam(req: Request): number {
  const id = parseNumericId(req.params.id);
  if (id === undefined) throw new NotFoundError('There is no policy version with that number.');
  return id;
}

/** The first whole hour (UTC) at least seven days away: the form's suggestion, as datetime-local. */
function suggestedEffective(): string {
  const d = earliestEffective();
  d.setUTCMinutes(0, 0, 0);
  d.setUTCHours(d.getUTCHours() + 1);
  return d.toISOString().slice(0, 16);
}

function staffId(req: Request): string {
  return req.user!.id;
}

/** Staff screens for privacy policy versions: drafts, preview, publication with notice (C7, C8). */
export function policiesAdminRouter(svc: ServiceContext): Router {
  const router = Router();

  router.get('/admin/policies', guardFor('GET', '/admin/policies'), async (_req, res) => {
    const [policies, inForce] = await Promise.all([listAllPolicies(svc.db), findPolicyInForce(svc.db)]);
    res.render('admin/policies/index', {
      title: 'Privacy policy versions',
      policies: policies.map((p) => ({ ...p, status: policyStatus(p, inForce?.id) })),
    });
  });

  router.get('/admin/policies/new', guardFor('GET', '/admin/policies/new'), (_req, res) => {
    res.render('admin/policies/form', { title: 'New policy version', policy: null, input: {} });
  });

  router.post('/admin/policies', guardFor('POST', '/admin/policies'), async (req, res) => {
    formView(res, 'admin/policies/form', { title: 'New policy version', policy: null });
    const input = parseForm(PolicyDraftForm, req.body);
    const row = await createPolicyDraft(svc, staffId(req), input);
    res.redirect(303, `/admin/policies/${row.id}?saved`);
  });

  router.get('/admin/policies/:id', guardFor('GET', '/admin/policies/:id'), async (req, res) => {
    const policy = await findPolicyById(svc.db, idParam(req));
    if (!policy) throw new NotFoundError('There is no policy version with that number.');
    res.render('admin/policies/show', await showLocals(policy, req));
  });

  router.get('/admin/policies/:id/edit', guardFor('GET', '/admin/policies/:id/edit'), async (req, res) => {
    const policy = await findEditableDraft(svc, idParam(req));
    res.render('admin/policies/form', {
      title: `Edit version ${policy.version}`,
      policy,
      input: { ...policy, introduces_new_use: policy.introduces_new_use ? 'yes' : undefined },
    });
  });

  router.post('/admin/policies/:id', guardFor('POST', '/admin/policies/:id'), async (req, res) => {
    const policy = await findEditableDraft(svc, idParam(req));
    formView(res, 'admin/policies/form', { title: `Edit version ${policy.version}`, policy });
    const input = parseForm(PolicyDraftForm, req.body);
    await updateDraft(svc, staffId(req), policy.id, input);
    res.redirect(303, `/admin/policies/${policy.id}?saved`);
  });

  router.post('/admin/policies/:id/publish', guardFor('POST', '/admin/policies/:id/publish'), async (req, res) => {
    const policy = await findPolicyById(svc.db, idParam(req));
    if (!policy) throw new NotFoundError('There is no policy version with that number.');
    formView(res, 'admin/policies/show', await showLocals(policy, req));
    const { effective_at } = parseForm(PublishForm, req.body);
    await publishPolicy(svc, staffId(req), policy.id, effective_at);
    res.redirect(303, `/admin/policies/${policy.id}?published`);
  });

  async function showLocals(policy: PolicyVersionRow, req: Request): Promise<Record<string, unknown>> {
    const inForce = await findPolicyInForce(svc.db);
    return {
      title: `Policy version ${policy.version}`,
      policy,
      status: policyStatus(policy, inForce?.id),
      progress: policy.published_at ? await noticeProgress(svc.db, policy.id) : undefined,
      suggestedEffective: suggestedEffective(),
      flash: 'published' in req.query ? 'published' : 'saved' in req.query ? 'saved' : undefined,
    };
  }

  return router;
}
