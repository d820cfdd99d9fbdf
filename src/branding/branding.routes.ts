import { Router } from 'express';
import type { BrandingCache } from './branding.service.js';

/** A year, for URLs that name the branding's version (a new version is a new URL). */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * The branding's public side (issue 13.11), mounted before sessions: no cookie, no database on
 * the way (the branding is in memory). /brand.css sets the primary colour over site.css; the logo
 * is served with a sandboxing policy, so an SVG opened on its own runs nothing.
 */
export function brandingRouter(brand: BrandingCache): Router {
  const router = Router();
  const cacheFor = (version: unknown, current: string) => (version === current ? IMMUTABLE : 'no-cache');

  router.get('/brand.css', (req, res) => {
    const current = brand.current();
    res.set('Cache-Control', cacheFor(req.query.v, current.version));
    res.type('text/css').send(`:root {\n  --accent: ${current.colour};\n}\n`);
  });

  router.get('/brand/logo', (req, res) => {
    const { logo, version } = brand.current();
    if (!logo) return res.status(404).type('text').send('No logo has been set.');
    res.set({
      'Cache-Control': cacheFor(req.query.v, version),
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
      'X-Content-Type-Options': 'nosniff',
    });
    res.type(logo.type).send(logo.bytes);
  });

  return router;
}
