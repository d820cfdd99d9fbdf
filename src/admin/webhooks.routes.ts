import { Router, type Request } from 'express';
import { z } from 'zod';
import { saveSession } from '../auth/sessions.js';
import type { ServiceContext } from '../context.js';
import { NotFoundError } from '../shared/errors.js';
import { formView, parseForm } from '../shared/http/forms.js';
import { parseNumericId } from '../shared/ids.js';
import { WebhookEndpointForm, parseEndpointId } from '../integrations/webhooks.schemas.js';
import {
  createEndpoint,
  deleteWebhookEndpoint,
  DELIVERY_STATUSES,
  enableWebhookEndpoint,
  endpointPage,
  endpointsPage,
  resendDelivery,
  WEBHOOK_EVENT_TYPES,
} from '../integrations/webhooks.service.js';
import { askToConfirm, isConfirmed } from './confirm-step.js';
import { guardFor } from './guards.js';

declare module 'express-session' {
  interface SessionData {
    /** A new endpoint's signing secret, shown once on its page and then forgotten. */
    webhookSecret?: { id: number; secret: string };
  }
}

const NOTICES: Record<string, string> = {
  resent: 'The delivery is queued again and will be tried shortly.',
  enabled: 'The endpoint is enabled again. Resend what it missed from the log below.',
};

const LogQuery = z.object({
  status: z
    .enum(DELIVERY_STATUSES as unknown as [string, ...string[]])
    .optional()
    .catch(undefined),
});

function endpointId(req: Request): number {
  const id = parseEndpointId(String(req.params.id));
  if (id === undefined) throw new NotFoundError('There is no such webhook endpoint.');
  return id;
}

const newPage = () => ({ title: 'Add a webhook endpoint', eventTypes: WEBHOOK_EVENT_TYPES });

/** Outgoing webhooks (issue 12.3): admins only, as an endpoint receives member ids. */
export function webhooksAdminRouter(svc: ServiceContext): Router {
  const router = Router();

  router.get('/admin/webhooks', guardFor('GET', '/admin/webhooks'), async (req, res) => {
    res.render('admin/webhooks/index', {
      title: 'Webhooks',
      ...(await endpointsPage(svc)),
      disableAfterHours: svc.config.webhooks.disableAfterHours,
      deleted: 'deleted' in req.query,
    });
  });

  router.get('/admin/webhooks/new', guardFor('GET', '/admin/webhooks/new'), (_req, res) => {
    res.render('admin/webhooks/new', newPage());
  });

  router.post('/admin/webhooks', guardFor('POST', '/admin/webhooks'), async (req, res) => {
    formView(res, 'admin/webhooks/new', newPage);
    const input = parseForm(WebhookEndpointForm, req.body);
    const { id, secret } = await createEndpoint(svc, req.user!.id, input);
    req.session.webhookSecret = { id, secret };
    await saveSession(req);
    res.redirect(303, `/admin/webhooks/${id}`);
  });

  router.get('/admin/webhooks/:id', guardFor('GET', '/admin/webhooks/:id'), async (req, res) => {
    const id = endpointId(req);
    const { status } = LogQuery.parse(req.query);
    const page = await endpointPage(svc, id, status as (typeof DELIVERY_STATUSES)[number] | undefined);
    // The secret is shown on the first view after creation only.
    const shown = req.session.webhookSecret?.id === id ? req.session.webhookSecret.secret : undefined;
    if (shown) {
      delete req.session.webhookSecret;
      await saveSession(req);
    }
    const notice = NOTICES[Object.keys(req.query).find((k) => k in NOTICES) ?? ''];
    res.set('Cache-Control', 'no-store');
    res.render('admin/webhooks/show', {
      title: `Webhook endpoint ${id}`,
      ...page,
      statuses: DELIVERY_STATUSES,
      status: status ?? '',
      secret: shown,
      notice,
    });
  });

  router.post('/admin/webhooks/deliveries/:id/resend', guardFor('POST', '/admin/webhooks/deliveries/:id/resend'), async (req, res) => {
    const delivery = parseNumericId(String(req.params.id));
    if (delivery === undefined) throw new NotFoundError('There is no such delivery.');
    const endpoint = await resendDelivery(svc, req.user!.id, delivery);
    res.redirect(303, `/admin/webhooks/${endpoint}?resent`);
  });

  router.post('/admin/webhooks/:id/enable', guardFor('POST', '/admin/webhooks/:id/enable'), async (req, res) => {
    const id = endpointId(req);
    await enableWebhookEndpoint(svc, req.user!.id, id);
    res.redirect(303, `/admin/webhooks/${id}?enabled`);
  });

  router.post('/admin/webhooks/:id/delete', guardFor('POST', '/admin/webhooks/:id/delete'), async (req, res) => {
    const id = endpointId(req);
    if (!isConfirmed(req)) {
      const { endpoint } = await endpointPage(svc, id);
      return askToConfirm(res, {
        heading: `Delete webhook endpoint ${id}?`,
        consequences: [
          `Events are no longer sent to ${endpoint.url}, and deliveries still being tried stop.`,
          'Its delivery log goes with it. This cannot be undone: to send events there again, add the endpoint anew (with a new secret).',
        ],
        action: `/admin/webhooks/${id}/delete`,
        button: 'Delete the endpoint',
        back: `/admin/webhooks/${id}`,
      });
    }
    await deleteWebhookEndpoint(svc, req.user!.id, id);
    res.redirect(303, '/admin/webhooks?deleted');
  });

  return router;
}
