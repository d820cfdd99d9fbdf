import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { ForbiddenError } from '../errors.js';

/**
 * CSRF protection for the pages an e-mail link opens and whose button signs someone in or acts
 * for them (sign-in, join confirmation, e-mail verification, my data, removal). The link token is
 * the credential, so without more an attacker could make a victim's browser post the attacker's
 * own sign-in link (login CSRF) and have the victim type personal details into the attacker's
 * account.
 *
 * The GET page carries a field bound to that page's path and, when the browser keeps cookies, to
 * a random nonce in an opaque cookie (CSRF material only, C9). The POST must come from our own
 * origin and carry that field: with the cookie, it must be this browser's; without any cookie (a
 * visitor who refuses them, C9) the browser must prove the post is same-origin (Fetch metadata or
 * Origin). A cross-site post never carries the SameSite cookie, so it always needs that proof,
 * and never has it.
 */
export const LINK_CONFIRM_COOKIE = 'assent.csrf';
export const LINK_CONFIRM_FIELD = '_confirm';
/** How long a confirmation page may stay open before its button must be fetched again. */
export const LINK_CONFIRM_TTL_S = 60 * 60;

const NONCE = /^[A-Za-z0-9_-]{22}$/;
const FIELD = /^(\d{1,12})\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$/;
const COOKIE = new RegExp(`(?:^|;\\s*)${LINK_CONFIRM_COOKIE.replace('.', '\\.')}=([^;]*)`);

export const REFUSED_MESSAGE =
  'This button did not come from a page we showed this browser, so nothing was done. Open the link from your e-mail again and press the button there.';

function mac(key: string, parts: string[]): string {
  return createHmac('sha256', key).update(parts.join('\n')).digest('base64url');
}

function pathHash(path: string): string {
  return createHash('sha256').update(path).digest('base64url');
}

/**
 * The field's value for a page whose form posts to `path`: an expiry, a MAC over the page, and a
 * MAC over the page and the browser's nonce (or none, for a browser that sent no cookie).
 */
export function mintConfirmField(key: string, path: string, nonce: string | null, nowMs = Date.now()): string {
  const exp = String(Math.floor(nowMs / 1000) + LINK_CONFIRM_TTL_S);
  const page = pathHash(path);
  return `${exp}.${mac(key, ['page', exp, page])}.${mac(key, ['browser', exp, page, nonce ?? ''])}`;
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function cookieNonce(req: Request): string | null {
  const value = COOKIE.exec(req.headers.cookie ?? '')?.[1];
  return value && NONCE.test(value) ? value : null;
}

/** Whether the browser itself says this POST comes from one of our pages. */
function provenSameOrigin(req: Request, origin: string): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin';
  return req.headers.origin === origin;
}

/** Whether the browser says this POST comes from another site (an absent or opaque Origin says nothing). */
function crossOrigin(req: Request, origin: string): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return true;
  const given = req.headers.origin;
  return given !== undefined && given !== 'null' && given !== origin;
}

/** The field's parts if it is well formed and unexpired, with the key that made its page MAC. */
function pageOf(keys: readonly string[], path: string, field: unknown, nowMs: number) {
  const m = typeof field === 'string' ? FIELD.exec(field) : null;
  if (!m) return undefined;
  const [, exp = '', pageMac = '', browserMac = ''] = m;
  if (Number(exp) * 1000 < nowMs) return undefined;
  const page = pathHash(path);
  const key = keys.find((k) => equal(mac(k, ['page', exp, page]), pageMac));
  return key === undefined ? undefined : { key, exp, page, browserMac };
}

export function confirmFieldValid(
  req: Request,
  keys: readonly string[],
  origin: string,
  path: string,
  field: unknown,
  nowMs = Date.now(),
): boolean {
  if (crossOrigin(req, origin)) return false;
  const found = pageOf(keys, path, field, nowMs);
  if (!found) return false;
  const nonce = cookieNonce(req);
  // With a cookie, only this browser's page will do; without one, only a proven same-origin post.
  return nonce ? equal(mac(found.key, ['browser', found.exp, found.page, nonce]), found.browserMac) : provenSameOrigin(req, origin);
}

/**
 * For a public form that must set no cookie until it is used (C9) and acts for nobody signed in:
 * the field proves the post comes from a page we served for that path, not long ago, and the
 * browser must say the post is same-origin. No browser binding: there is no one to log in as.
 */
export function pageFieldValid(
  req: Request,
  keys: readonly string[],
  origin: string,
  path: string,
  field: unknown,
  nowMs = Date.now(),
): boolean {
  return !crossOrigin(req, origin) && provenSameOrigin(req, origin) && pageOf(keys, path, field, nowMs) !== undefined;
}

/**
 * The middleware: on every request it offers views `linkConfirmField(action)`, which sets the
 * nonce cookie if the browser has none and returns the hidden field's value; on a POST to one of
 * the guarded paths it refuses (403) a post without a valid field, before any handler runs.
 */
export function linkConfirmation(opts: { keys: readonly string[]; baseUrl: string; secure: boolean; paths: RegExp }): RequestHandler {
  const origin = new URL(opts.baseUrl).origin;
  const [signingKey] = opts.keys;
  if (!signingKey) throw new Error('linkConfirmation needs a key');
  return (req: Request, res: Response, next) => {
    // A public form's field, without any cookie (see pageFieldValid).
    res.locals.pageField = (action: string) => mintConfirmField(signingKey, action, null);
    res.locals.linkConfirmField = (action: string) => {
      let nonce = cookieNonce(req);
      if (!nonce) {
        nonce = randomBytes(16).toString('base64url');
        res.cookie(LINK_CONFIRM_COOKIE, nonce, {
          httpOnly: true,
          sameSite: 'lax',
          secure: opts.secure,
          path: '/',
          maxAge: LINK_CONFIRM_TTL_S * 1000 * 24,
        });
      }
      return mintConfirmField(signingKey, action, nonce);
    };
    if (req.method !== 'POST' || !opts.paths.test(req.path)) return next();
    const field = (req.body as Record<string, unknown> | undefined)?.[LINK_CONFIRM_FIELD];
    if (!confirmFieldValid(req, opts.keys, origin, req.path, field)) return next(new ForbiddenError(REFUSED_MESSAGE));
    next();
  };
}
