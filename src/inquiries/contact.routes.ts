import { Router } from 'express';
import type { ServiceContext } from '../context.js';
import { ForbiddenError } from '../shared/errors.js';
import { formView, parseForm } from '../shared/http/forms.js';
import { LINK_CONFIRM_FIELD, pageFieldValid } from '../shared/http/link-confirm.js';
import { purposeKeys } from '../shared/keys.js';
import { ipPrefix } from '../shared/rate-limit.js';
import { INQUIRY_SUBJECTS, InquiryForm, SUBJECT_NAMES } from './inquiries.schemas.js';
import { submitInquiry } from './inquiries.service.js';

const VIEW = 'inquiries/contact';
const NOT_OUR_FORM =
  'This form did not come from our contact page, so nothing was sent. Please open the contact page again and send it from there.';
const locals = { title: 'Ask us a question', subjects: INQUIRY_SUBJECTS, subjectNames: SUBJECT_NAMES };

/**
 * The contact form (C12): no account needed, and no cookie, not even after it is used (C9). It is
 * protected against cross-site posting by a signed page field and the browser's same-origin proof
 * (see link-confirm.ts), and rate-limited per address and network.
 */
export function contactRouter(svc: ServiceContext): Router {
  const router = Router();
  const keys = purposeKeys(svc.config.secretKeys, 'link-confirm');
  const origin = new URL(svc.config.baseUrl).origin;

  router.get('/contact', (_req, res) => res.render(VIEW, locals));

  router.post('/contact', async (req, res) => {
    const field = (req.body as Record<string, unknown> | undefined)?.[LINK_CONFIRM_FIELD];
    if (!pageFieldValid(req, keys, origin, '/contact', field)) throw new ForbiddenError(NOT_OUR_FORM);
    formView(res, VIEW, () => locals);
    const input = parseForm(InquiryForm, req.body);
    await submitInquiry(svc, input, ipPrefix(req.ip));
    res.render('inquiries/contact-sent', { title: 'We have your question', email: input.email });
  });

  return router;
}
