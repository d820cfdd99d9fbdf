import { Router, type Request } from 'express';
import { z } from 'zod';
import { isUuid } from '../shared/ids.js';
import {
  carryOutPreview,
  carryOutRemovalNow,
  completeFollowUp,
  followUpLists,
  holdRemoval,
  releaseRemoval,
  removalQueue,
} from '../removal/erasure.service.js';
import { NotFoundError, ValidationError } from '../shared/errors.js';
import { formView } from '../shared/http/forms.js';
import { multiLineText } from '../shared/http/text.js';
import type { ServiceContext } from '../context.js';
import { guardFor } from './guards.js';
import { askToConfirm, count, isConfirmed } from './confirm-step.js';
import { formatDay } from '../shared/time.js';

const HoldRemoval = z.object({
  reason: multiLineText({ required: 'Enter the legal reason for the hold.', tabs: true })
    .min(1, 'Enter the legal reason for the hold.')
    .max(1000, 'Keep the reason to 1000 characters or fewer.'),
});

const NOTICES = new Map([
  ['held', 'The request is on hold. The member was told by e-mail.'],
  ['released', 'The hold is lifted. The member was told by e-mail.'],
  ['carried-out', 'The removal was carried out. The member’s last e-mail is on its way.'],
  ['done', 'The follow-up is marked done.'],
]);

/** A malformed id is a page that does not exist, never a database error. */
function idParam(req: Request): string {
  const id = req.params.id;
  if (!isUuid(id)) throw new NotFoundError();
  return id;
}

/** Staff processing of removal requests and partner follow-ups (C6). */
export function removalsAdminRouter(svc: ServiceContext): Router {
  const router = Router();

  async function queueLocals(req: Request) {
    const { open, completed } = await removalQueue(svc);
    return {
      title: 'Removal requests',
      open,
      completed,
      notice: NOTICES.get(String(req.query.notice)),
      errors: {},
      input: {},
    };
  }

  router.get('/admin/removals', guardFor('GET', '/admin/removals'), async (req, res) => {
    res.render('admin/removals/index', await queueLocals(req));
  });

  router.post('/admin/removals/:id/hold', guardFor('POST', '/admin/removals/:id/hold'), async (req, res) => {
    const id = idParam(req);
    formView(res, 'admin/removals/index', async () => ({ ...(await queueLocals(req)), notice: undefined }));
    const parsed = HoldRemoval.safeParse(req.body ?? {});
    if (!parsed.success) {
      const reason = (req.body as { reason?: unknown } | undefined)?.reason;
      throw new ValidationError(
        { [`reason-${id}`]: parsed.error.issues[0]?.message ?? 'Enter the legal reason for the hold.' },
        { [`reason-${id}`]: typeof reason === 'string' ? reason : '' },
      );
    }
    await holdRemoval(svc, id, req.user!.id, parsed.data.reason);
    res.redirect(303, '/admin/removals?notice=held');
  });

  router.post('/admin/removals/:id/release', guardFor('POST', '/admin/removals/:id/release'), async (req, res) => {
    await releaseRemoval(svc, idParam(req), req.user!.id);
    res.redirect(303, '/admin/removals?notice=released');
  });

  router.post('/admin/removals/:id/carry-out', guardFor('POST', '/admin/removals/:id/carry-out'), async (req, res) => {
    if (!isConfirmed(req)) {
      const { request, partners } = await carryOutPreview(svc, idParam(req));
      const due = request.due_at ? formatDay(request.due_at, svc.config.orgTimeZone) : undefined;
      const early = request.due_at && request.due_at.getTime() > Date.now();
      return askToConfirm(res, {
        heading: 'Erase this member’s data now?',
        consequences: [
          early
            ? `The request is due on ${due}; carrying it out now skips the rest of the member’s time to change their mind.`
            : `The request was due on ${due}.`,
          'The member’s name, address and details are erased for good; their address is kept only as a keyed fingerprint on the suppression list, so nothing is sent to it again.',
          'They are sent a last e-mail saying their data is gone.',
          partners > 0
            ? `A follow-up is opened for each of the ${count(partners, 'partner')} that received their data.`
            : 'No partner received their data, so no follow-up is needed.',
          'This cannot be undone.',
        ],
        action: `/admin/removals/${request.id}/carry-out`,
        button: 'Erase 1 member’s data now',
        back: '/admin/removals',
      });
    }
    await carryOutRemovalNow(svc, idParam(req), req.user!.id);
    res.redirect(303, '/admin/removals?notice=carried-out');
  });

  router.get('/admin/follow-ups', guardFor('GET', '/admin/follow-ups'), async (req, res) => {
    const { open, done } = await followUpLists(svc);
    res.render('admin/removals/follow-ups', {
      title: 'Partner follow-ups',
      open,
      done,
      notice: NOTICES.get(String(req.query.notice)),
    });
  });

  router.post('/admin/follow-ups/:id/done', guardFor('POST', '/admin/follow-ups/:id/done'), async (req, res) => {
    await completeFollowUp(svc, idParam(req), req.user!.id);
    res.redirect(303, '/admin/follow-ups?notice=done');
  });

  return router;
}
