import type { Request, RequestHandler, Response } from 'express';
import type { DbOrTx } from '../db.js';
import type { SessionUser } from './passport.js';

export const SESSION_COOKIE = 'assent.sid';

declare module 'express-session' {
  interface SessionData {
    /** Last request of the signed-in member or staff user (ms), for the idle timeout. */
    lastSeen?: number;
  }
}

/**
 * Ends every session of one member or staff user except the one given (the browser that made the
 * change). A credential change must not leave a session elsewhere alive: a stolen session, or one
 * left open on a shared computer, would outlive the very change meant to shut it out.
 */
export async function endOtherSessions(db: DbOrTx, who: Pick<SessionUser, 'kind' | 'id'>, keepSid?: string): Promise<number> {
  const query = db('sessions')
    .whereRaw(`(sess #>> '{passport,user,id}') = ?`, [who.id])
    .whereRaw(`(sess #>> '{passport,user,kind}') = ?`, [who.kind]);
  if (keepSid) query.whereNot('sid', keepSid);
  return query.delete();
}

/**
 * Saves what the request wrote to its session before the answer goes out. express-session saves at
 * the end of the response but sends the headers first, and a browser follows a redirect on the
 * headers alone: the next page could read the session from before this request.
 */
export function saveSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())));
}

/** Signs in (passport regenerates the session: no fixation) and starts the idle clock. */
export async function startSession(req: Request, user: Express.User): Promise<void> {
  await new Promise<void>((resolve, reject) => req.login(user, (err) => (err ? reject(err) : resolve())));
  req.session.lastSeen = Date.now();
  await saveSession(req);
}

/**
 * Gives the current session a new id, keeping what it holds (who is signed in, when, the CSRF
 * secret): after a credential change, an id that may have been seen before is worth nothing.
 */
export function renewSession(req: Request): Promise<void> {
  const user = req.user;
  if (!user) return Promise.resolve();
  return new Promise((resolve, reject) =>
    req.login(user, { session: true, keepSessionInfo: true }, (err) => (err ? reject(err) : resolve())),
  );
}

/** Signs out and throws the session away, cookie included. */
export async function endSession(req: Request, res: Response): Promise<void> {
  await new Promise<void>((resolve, reject) => req.logout((err) => (err ? reject(err) : resolve())));
  await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
  res.clearCookie(SESSION_COOKIE);
}

// The idle clock is written at most once a minute, so a busy session is not saved on every request.
const TOUCH_MS = 60 * 1000;

/**
 * Ends a signed-in session that sat idle too long (C11): members after memberIdleMinutes, staff
 * after staffIdleMinutes. The request goes on signed out, in a fresh session, so a sign-in it
 * carries still works; a page that needs a session sends the visitor to sign in, told why
 * (res.locals.sessionExpired).
 */
export function idleTimeout(opts: { memberIdleMinutes: number; staffIdleMinutes: number }): RequestHandler {
  return async (req, res, next) => {
    const kind = req.user?.kind;
    if (!kind) return next();
    const limit = (kind === 'staff' ? opts.staffIdleMinutes : opts.memberIdleMinutes) * 60 * 1000;
    const now = Date.now();
    // A session from before the idle clock existed counts from its sign-in.
    const last = req.session.lastSeen ?? req.user?.at;
    if (last === undefined || now - last > limit) {
      // passport's logout also gives the request a fresh, empty session.
      await new Promise<void>((resolve, reject) => req.logout((err) => (err ? reject(err) : resolve())));
      res.locals.sessionExpired = kind;
      return next();
    }
    if (now - last > TOUCH_MS) req.session.lastSeen = now;
    next();
  };
}
