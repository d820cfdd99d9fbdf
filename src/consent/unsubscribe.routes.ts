import express, { Router, type Request } from 'express';
import { InvalidLinkError } from '../shared/errors.js';
import type { ServiceContext } from '../context.js';
import type { LinkClaims } from '../shared/tokens.js';
import { describeUnsubscribe, unsubscribe } from './consent.service.js';

/**
 * C4: every non-transactional e-mail links here. The token is signed and names the member and the
 * topic (or "all"); it works without login and without cookies. GET only shows what would happen
 * (mail scanners follow links); the form POST unsubscribes and says so; an RFC 8058 one-click
 * POST (body List-Unsubscribe=One-Click, no cookie, no CSRF token) unsubscribes at once and
 * answers 200 without a redirect. Repeating either changes nothing more.
 */
export function unsubscribeRouter(svc: ServiceContext): Router {
  const router = Router();

  function claimsOf(token: string): LinkClaims & { scope: number | 'all' } {
    const claims = svc.links.signer.verify(token, 'unsubscribe');
    const scope = claims?.s === 'all' ? 'all' : Number(claims?.s);
    if (!claims || (scope !== 'all' && !Number.isInteger(scope))) {
      throw new InvalidLinkError(
        'This unsubscribe link is not valid: it may have been cut short or changed. Use the link in the e-mail again, or write to us.',
      );
    }
    return { ...claims, scope };
  }

  router.get('/unsubscribe/:token', async (req, res) => {
    const claims = claimsOf(req.params.token);
    const { stillMember, topicName } = await describeUnsubscribe(svc, claims.m, claims.scope);
    res.render('consent/unsubscribe', { title: 'Unsubscribe', step: stillMember ? 'ask' : 'gone', topicName, action: req.path });
  });

  // One-click clients may post multipart or plain bodies; urlencoded is parsed app-wide.
  router.post('/unsubscribe/:token', express.text({ type: ['multipart/form-data', 'text/plain'], limit: '2kb' }), async (req, res) => {
    const claims = claimsOf(req.params.token);
    const oneClick = isOneClick(req);
    const by = oneClick ? ({ source: 'one_click', channel: 'email' } as const) : ({ source: 'unsubscribe_link', channel: 'web' } as const);
    const { stillMember, topicName, changes } = await unsubscribe(svc, {
      memberId: claims.m,
      scope: claims.scope,
      viaBulletinId: claims.b,
      ...by,
    });
    if (oneClick) {
      res.status(200).type('text').send('You are unsubscribed.');
      return;
    }
    if (!stillMember) return res.render('consent/unsubscribe', { title: 'Unsubscribe', step: 'gone', topicName, action: req.path });
    res.render('consent/unsubscribe', {
      title: 'You are unsubscribed',
      step: 'done',
      topicName,
      changed: changes.length > 0,
      manageUrl: svc.links.manage(claims.m).replace(svc.config.baseUrl, ''),
    });
  });

  return router;
}

function isOneClick(req: Request): boolean {
  const body: unknown = req.body;
  if (typeof body === 'string') return /List-Unsubscribe[\s\S]*One-Click/.test(body);
  return (body as Record<string, unknown> | undefined)?.['List-Unsubscribe'] === 'One-Click';
}
