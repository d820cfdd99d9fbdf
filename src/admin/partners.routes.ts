import { Router, type Request } from 'express';
import { streamCsv } from '../exports/csv.js';
import { ConsentDisclosureForm, LegalDisclosureForm, PartnerForm, parsePartnerId } from '../partners/partners.schemas.js';
import {
  DISCLOSURES_SHOWN,
  createPartner,
  editPartner,
  partnerPage,
  partnersForStaff,
  recordConsentDisclosure,
  recordLegalDisclosure,
} from '../partners/partners.service.js';
import { NotFoundError } from '../shared/errors.js';
import { formView, parseForm } from '../shared/http/forms.js';
import type { ServiceContext } from '../context.js';
import { guardFor } from './guards.js';

const NOTICES: Record<string, string> = {
  created: 'The partner was added.',
  saved: 'The partner was saved.',
  recorded: 'The disclosure required by law was recorded; each member concerned sees it on their data page.',
};

function partnerId(req: Request): number {
  const id = parsePartnerId(String(req.params.id));
  if (id === undefined) throw new NotFoundError('There is no such partner.');
  return id;
}

/** The partner page, as shown and as re-shown with the errors of one of its forms. */
async function showPartner(svc: ServiceContext, req: Request, id: number): Promise<Record<string, unknown>> {
  const page = await partnerPage(svc, id);
  const notice = NOTICES[Object.keys(req.query).find((k) => k in NOTICES) ?? ''];
  return { title: page.partner.name, ...page, shownLimit: DISCLOSURES_SHOWN, notice };
}

/** Staff screens for partners and disclosures (C2). */
export function partnersAdminRouter(svc: ServiceContext): Router {
  const router = Router();

  router.get('/admin/partners', guardFor('GET', '/admin/partners'), async (req, res) => {
    res.render('admin/partners/index', {
      title: 'Partners and disclosures',
      partners: await partnersForStaff(svc),
    });
  });

  router.get('/admin/partners/new', guardFor('GET', '/admin/partners/new'), (_req, res) => {
    res.render('admin/partners/new', { title: 'Add a partner' });
  });

  router.post('/admin/partners', guardFor('POST', '/admin/partners'), async (req, res) => {
    formView(res, 'admin/partners/new', () => ({ title: 'Add a partner' }));
    const fields = parseForm(PartnerForm, req.body);
    const id = await createPartner(svc, req.user!.id, fields);
    res.redirect(303, `/admin/partners/${id}?created`);
  });

  router.get('/admin/partners/:id', guardFor('GET', '/admin/partners/:id'), async (req, res) => {
    res.render('admin/partners/show', await showPartner(svc, req, partnerId(req)));
  });

  router.post('/admin/partners/:id', guardFor('POST', '/admin/partners/:id'), async (req, res) => {
    const id = partnerId(req);
    formView(res, 'admin/partners/show', () => showPartner(svc, req, id));
    await editPartner(svc, req.user!.id, id, parseForm(PartnerForm, req.body));
    res.redirect(303, `/admin/partners/${id}?saved`);
  });

  router.post('/admin/partners/:id/disclosures', guardFor('POST', '/admin/partners/:id/disclosures'), async (req, res) => {
    const id = partnerId(req);
    formView(res, 'admin/partners/show', () => showPartner(svc, req, id));
    const { purpose } = parseForm(ConsentDisclosureForm, req.body);
    const { disclosureId, rows } = await recordConsentDisclosure(svc, req.user!.id, id, purpose);
    await streamCsv(req, res, rows, {
      filename: `disclosure-partner-${id}-${new Date().toISOString().slice(0, 10)}-${disclosureId.slice(0, 8)}.csv`,
      columns: [
        { key: 'name', header: 'name' },
        { key: 'email', header: 'email' },
        { key: 'postal_address', header: 'postal_address' },
        { key: 'phone', header: 'phone' },
      ],
    });
  });

  router.post('/admin/partners/:id/legal-disclosures', guardFor('POST', '/admin/partners/:id/legal-disclosures'), async (req, res) => {
    const id = partnerId(req);
    formView(res, 'admin/partners/show', () => showPartner(svc, req, id));
    const body = (req.body ?? {}) as Record<string, unknown>;
    const input = { member_ids: body.member_ids, legal_purpose: body.legal_purpose, legal_reference: body.legal_reference };
    await recordLegalDisclosure(svc, req.user!.id, id, parseForm(LegalDisclosureForm, req.body), input);
    res.redirect(303, `/admin/partners/${id}?recorded`);
  });

  return router;
}
