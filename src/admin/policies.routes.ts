import { Router, type Request } from 'express';
import { NotFoundError } from '../shared/errors.js';
import { formView, parseForm } from '../shared/http/forms.js';
import type { ServiceContext } from '../context.js';
import { guardFor } from './guards.js';
import { parseNumericId } from '../shared/ids.js';
import { PolicyDraftForm, PublishForm } from '../policies/policies.schemas.js';
import {
  createPolicyDraft,
  earliestEffective,
  findEditableDraft,
  newDraftStartingPoint,
  policyVersionPage,
  policyVersionsWithStatus,
  publicationPreview,
  publishPolicy,
  sendNoticeTest,
  updateDraft,
} from '../policies/versions.service.js';
import { askToConfirm, count, isConfirmed } from './confirm-step.js';
import { formatDateTime } from '../shared/time.js';
import { policyTextHtml } from '../policies/policy-text.js';

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
    res.render('admin/policies/index', { title: 'Privacy policy versions', policies: await policyVersionsWithStatus(svc) });
  });

  router.get('/admin/policies/new', guardFor('GET', '/admin/policies/new'), async (_req, res) => {
    const { base, input } = await newDraftStartingPoint(svc);
    res.render('admin/policies/form', { title: 'New policy version', policy: null, base, input });
  });

  router.post('/admin/policies', guardFor('POST', '/admin/policies'), async (req, res) => {
    formView(res, 'admin/policies/form', async () => ({
      title: 'New policy version',
      policy: null,
      base: (await newDraftStartingPoint(svc)).base,
    }));
    const input = parseForm(PolicyDraftForm, req.body);
    const row = await createPolicyDraft(svc, staffId(req), input);
    res.redirect(303, `/admin/policies/${row.id}?saved`);
  });

  router.get('/admin/policies/:id', guardFor('GET', '/admin/policies/:id'), async (req, res) => {
    res.render('admin/policies/show', showLocals(await policyVersionPage(svc, idParam(req)), req));
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
    formView(res, 'admin/policies/form', () => ({ title: `Edit version ${policy.version}`, policy }));
    const input = parseForm(PolicyDraftForm, req.body);
    await updateDraft(svc, staffId(req), policy.id, input);
    res.redirect(303, `/admin/policies/${policy.id}?saved`);
  });

  router.post('/admin/policies/:id/publish', guardFor('POST', '/admin/policies/:id/publish'), async (req, res) => {
    const id = idParam(req);
    formView(res, 'admin/policies/show', async () => showLocals(await policyVersionPage(svc, id), req));
    const { effective_at } = parseForm(PublishForm, req.body);
    if (!isConfirmed(req)) {
      const { policy, reachable } = await publicationPreview(svc, id, effective_at);
      const when = formatDateTime(effective_at, svc.config.orgTimeZone);
      return askToConfirm(res, {
        heading: `Publish policy version ${policy.version}?`,
        consequences: [
          `Version ${policy.version} becomes public now, and every page shows a banner about it until it takes effect on ${when}.`,
          `The notice is e-mailed to ${count(reachable, 'member')} (everyone with a deliverable address; addresses on the suppression list are left out).`,
          'This cannot be undone: a published version can be neither changed nor withdrawn, and the e-mails cannot be called back.',
        ],
        action: `/admin/policies/${id}/publish`,
        fields: { effective_at: String(req.body.effective_at) },
        button: `Publish and e-mail ${count(reachable, 'member')}`,
        back: `/admin/policies/${id}`,
      });
    }
    await publishPolicy(svc, staffId(req), id, effective_at);
    res.redirect(303, `/admin/policies/${id}?published`);
  });

  router.post('/admin/policies/:id/test-notice', guardFor('POST', '/admin/policies/:id/test-notice'), async (req, res) => {
    const id = idParam(req);
    formView(res, 'admin/policies/show', async () => showLocals(await policyVersionPage(svc, id), req));
    const { effective_at } = parseForm(PublishForm, req.body);
    await sendNoticeTest(svc, { id: staffId(req), email: req.user!.email! }, id, effective_at);
    res.redirect(303, `/admin/policies/${id}?test-sent`);
  });

  function showLocals(page: Awaited<ReturnType<typeof policyVersionPage>>, req: Request): Record<string, unknown> {
    return {
      title: `Policy version ${page.policy.version}`,
      ...page,
      bodyHtml: policyTextHtml(page.policy.body),
      suggestedEffective: suggestedEffective(),
      flash: ['published', 'saved', 'test-sent'].find((k) => k in req.query),
      staffEmail: req.user!.email,
    };
  }

  return router;
}
