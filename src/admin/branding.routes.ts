import { Router } from 'express';
import type { ServiceContext } from '../context.js';
import { BrandingForm } from '../branding/branding.schemas.js';
import { DEFAULT_COLOUR, updateBranding } from '../branding/branding.service.js';
import { AA_NORMAL_TEXT, contrastRatio, WHITE } from '../branding/colour.js';
import { ValidationError } from '../shared/errors.js';
import { formView, parseForm } from '../shared/http/forms.js';
import { uploadProblem } from '../shared/http/uploads.js';
import { guardFor } from './guards.js';

const VIEW = 'admin/branding';

/** Branding (issue 13.11): the organisation's logo, primary colour and sender name; admins only, audited. */
export function brandingAdminRouter(svc: ServiceContext): Router {
  const router = Router();

  const locals = () => {
    const brand = svc.brand.current();
    return {
      title: 'Branding',
      current: brand,
      defaultColour: DEFAULT_COLOUR,
      ratio: contrastRatio(brand.colour, WHITE).toFixed(2),
      minimum: AA_NORMAL_TEXT,
      defaultSender: svc.config.mailFrom,
    };
  };

  router.get('/admin/branding', guardFor('GET', '/admin/branding'), (req, res) => {
    const brand = svc.brand.current();
    res.render(VIEW, {
      ...locals(),
      saved: 'saved' in req.query,
      input: { primary_colour: brand.colour === DEFAULT_COLOUR ? '' : brand.colour, sender_name: brand.senderName ?? '' },
    });
  });

  router.post('/admin/branding', guardFor('POST', '/admin/branding'), async (req, res) => {
    formView(res, VIEW, locals);
    const input = parseForm(BrandingForm, req.body);
    const problem = uploadProblem(req);
    if (problem)
      throw new ValidationError({ logo: problem }, { primary_colour: input.primary_colour ?? '', sender_name: input.sender_name ?? '' });
    await updateBranding(svc.db, svc.brand, req.user!.id, input, req.file ? { bytes: req.file.buffer } : undefined);
    res.redirect(303, '/admin/branding?saved');
  });

  return router;
}
