import { Router } from 'express';
import { NotFoundError } from '../shared/errors.js';
import { listCaughtMailIds, readCaughtMail } from './catcher.js';

/**
 * /dev/mail: what the development mail catcher caught, so a newcomer can click the links in
 * the mail Assent sends. Mounted only when the catcher runs, which is never in production.
 */
export function devMailRouter(dir: string): Router {
  const router = Router();

  router.get('/', async (_req, res) => {
    const mails = (await Promise.all(listCaughtMailIds(dir).map((id) => readCaughtMail(dir, id)))).filter((m) => m !== undefined);
    res.render('dev/mail-list', { title: 'Caught mail', mails });
  });

  router.get('/:id', async (req, res) => {
    const mail = await readCaughtMail(dir, String(req.params.id));
    if (!mail) throw new NotFoundError('No caught message with that id.');
    res.render('dev/mail-show', { title: mail.subject, mail, linkify });
  });

  /** The HTML body, served on its own with a CSP of its own, shown in a sandboxed frame. */
  router.get('/:id/html', async (req, res) => {
    const mail = await readCaughtMail(dir, String(req.params.id));
    if (!mail?.html) throw new NotFoundError('That message has no HTML body.');
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; base-uri 'none'",
    );
    res.setHeader('X-Frame-Options', 'SAMEORIGIN');
    res.type('html').send(mail.html);
  });

  return router;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** Escapes text and turns its http(s) URLs into links. */
export function linkify(text: string): string {
  return escapeHtml(text).replace(/https?:\/\/[^\s<>"']+/g, (url) => `<a href="${url}">${url}</a>`);
}
