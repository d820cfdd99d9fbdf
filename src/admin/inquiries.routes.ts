import { Router, type Request } from 'express';
import type { ServiceContext } from '../context.js';
import { INQUIRY_SUBJECTS, InquiryReply, SUBJECT_NAMES } from '../inquiries/inquiries.schemas.js';
import { closeInquiry, inquiriesForStaff, openInquiry, replyToInquiry } from '../inquiries/inquiries.service.js';
import { formView, parseForm } from '../shared/http/forms.js';
import { guardFor } from './guards.js';

const names = { subjects: INQUIRY_SUBJECTS, subjectNames: SUBJECT_NAMES };
const NOTICES: Record<string, string> = {
  replied: 'Your answer is on its way by e-mail.',
  closed: 'The question is closed. It is deleted with its answers when the retention period has passed.',
};

/** Questions from the public (C12), answered by support and admins; every opening is audited. */
export function inquiriesAdminRouter(svc: ServiceContext): Router {
  const router = Router();
  const id = (req: Request) => String(req.params.id);

  router.get('/admin/inquiries', guardFor('GET', '/admin/inquiries'), async (_req, res) => {
    res.render('admin/inquiries/index', { ...names, title: 'Questions from the public', inquiries: await inquiriesForStaff(svc) });
  });

  router.get('/admin/inquiries/:id', guardFor('GET', '/admin/inquiries/:id'), async (req, res) => {
    const notice = NOTICES[Object.keys(req.query).find((k) => k in NOTICES) ?? ''];
    res.render('admin/inquiries/show', { ...names, title: 'Question', notice, ...(await openInquiry(svc, req.user!.id, id(req))) });
  });

  router.post('/admin/inquiries/:id/reply', guardFor('POST', '/admin/inquiries/:id/reply'), async (req, res) => {
    // Taken now: by the time an error page is drawn, the router has left this route and its params.
    const inquiryId = id(req);
    formView(res, 'admin/inquiries/show', async () => ({
      ...names,
      title: 'Question',
      ...(await openInquiry(svc, req.user!.id, inquiryId, { audit: false })),
    }));
    const { body } = parseForm(InquiryReply, req.body);
    await replyToInquiry(svc, req.user!.id, inquiryId, body);
    res.redirect(303, `/admin/inquiries/${inquiryId}?replied`);
  });

  router.post('/admin/inquiries/:id/close', guardFor('POST', '/admin/inquiries/:id/close'), async (req, res) => {
    await closeInquiry(svc, req.user!.id, id(req));
    res.redirect(303, `/admin/inquiries/${id(req)}?closed`);
  });

  return router;
}
