import { Router } from 'express';
import { NotFoundError } from '../shared/errors.js';
import { formView, parseForm } from '../shared/http/forms.js';
import type { ServiceContext } from '../context.js';
import { guardFor } from './guards.js';
import { ROLE_NAMES, STAFF_ROLES } from '../auth/staff.repository.js';
import {
  createStaffAccount,
  disableStaffAccount,
  resetStaffTwoFactor,
  staffAccounts,
  staffAccountToDisable,
} from '../auth/staff.service.js';
import { askToConfirm, isConfirmed } from './confirm-step.js';
import { STAFF_PASSWORD_MIN, StaffAccountForm } from '../auth/staff.schemas.js';
import { isUuid } from '../shared/ids.js';

const VIEW = 'admin/staff/index';

/** Staff accounts (C11): admins list, add and disable them; each change is in the audit log. */
export function staffAdminRouter(svc: ServiceContext): Router {
  const router = Router();

  async function listLocals(selfId: string) {
    const staff = await staffAccounts(svc);
    return { title: 'Staff accounts', staff, selfId, roles: STAFF_ROLES, passwordMin: STAFF_PASSWORD_MIN };
  }

  router.get('/admin/staff', guardFor('GET', '/admin/staff'), async (req, res) => {
    res.render(VIEW, {
      ...(await listLocals(req.user!.id)),
      created: 'created' in req.query,
      disabled: 'disabled' in req.query,
      reset: 'reset' in req.query,
    });
  });

  router.post('/admin/staff', guardFor('POST', '/admin/staff'), async (req, res) => {
    formView(res, VIEW, () => listLocals(req.user!.id));
    const input = parseForm(StaffAccountForm, req.body);
    await createStaffAccount(svc, req.user!.id, input);
    res.redirect(303, '/admin/staff?created');
  });

  router.post('/admin/staff/:id/disable', guardFor('POST', '/admin/staff/:id/disable'), async (req, res) => {
    const id = String(req.params.id);
    if (!isUuid(id)) throw new NotFoundError('We could not find that staff account.');
    if (!isConfirmed(req)) {
      const staff = await staffAccountToDisable(req.user!.id, svc, id.toLowerCase());
      return askToConfirm(res, {
        heading: `Disable the account of ${staff.name}?`,
        consequences: [
          `${staff.name} (${staff.email}, ${ROLE_NAMES[staff.role]}) can no longer sign in, and any session they have open ends at their next click.`,
          'Their past actions stay in the audit log under their name.',
          'This cannot be undone here: if they come back, add a new account for them.',
        ],
        action: `/admin/staff/${id.toLowerCase()}/disable`,
        button: `Disable 1 staff account`,
        back: '/admin/staff',
      });
    }
    await disableStaffAccount(svc, req.user!.id, id.toLowerCase());
    res.redirect(303, '/admin/staff?disabled');
  });

  router.post('/admin/staff/:id/reset-2fa', guardFor('POST', '/admin/staff/:id/reset-2fa'), async (req, res) => {
    const id = String(req.params.id);
    if (!isUuid(id)) throw new NotFoundError('We could not find that staff account.');
    await resetStaffTwoFactor(svc, req.user!.id, id.toLowerCase());
    res.redirect(303, '/admin/staff?reset');
  });

  return router;
}
