import { Router } from 'express';
import type { ServiceContext } from '../context.js';
import { apiKeys, createApiKey, revokeKey } from '../integrations/api-keys.service.js';
import { API_SCOPES, ApiKeyForm, SCOPE_NAMES } from '../integrations/api-keys.schemas.js';
import { formView, parseForm } from '../shared/http/forms.js';
import { askToConfirm, isConfirmed } from './confirm-step.js';
import { guardFor } from './guards.js';

const VIEW = 'admin/api-keys/index';

/** API keys (issue 12): administrators make a key (shown once), see when each was last used, revoke it. */
export function apiKeysAdminRouter(svc: ServiceContext): Router {
  const router = Router();

  async function listLocals() {
    return { title: 'API keys', keys: await apiKeys(svc), scopes: API_SCOPES, scopeNames: SCOPE_NAMES };
  }

  router.get('/admin/api-keys', guardFor('GET', '/admin/api-keys'), async (req, res) => {
    res.render(VIEW, { ...(await listLocals()), revoked: 'revoked' in req.query });
  });

  router.post('/admin/api-keys', guardFor('POST', '/admin/api-keys'), async (req, res) => {
    formView(res, VIEW, listLocals);
    const input = parseForm(ApiKeyForm, req.body);
    const made = await createApiKey(svc, req.user!.id, input);
    // The key exists nowhere else: shown on this one page, never cached, never again.
    res.set('Cache-Control', 'no-store');
    res.status(201).render(VIEW, { ...(await listLocals()), made: { name: made.row.name, key: made.key } });
  });

  router.post('/admin/api-keys/:id/revoke', guardFor('POST', '/admin/api-keys/:id/revoke'), async (req, res) => {
    const id = String(req.params.id).toLowerCase();
    if (!isConfirmed(req)) {
      const key = (await apiKeys(svc)).find((k) => k.id === id && !k.revoked_at);
      if (key)
        return askToConfirm(res, {
          heading: `Revoke the API key “${key.name}”?`,
          consequences: [
            'Every system using this key is refused from its next call on.',
            'This cannot be undone: make a new key if the system needs access again.',
          ],
          action: `/admin/api-keys/${id}/revoke`,
          button: 'Revoke 1 API key',
          back: '/admin/api-keys',
        });
    }
    await revokeKey(svc, req.user!.id, id);
    res.redirect(303, '/admin/api-keys?revoked');
  });

  return router;
}
