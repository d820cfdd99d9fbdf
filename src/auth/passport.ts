import type { RequestHandler } from 'express';
import { Passport } from 'passport';
import type { Db } from '../db.js';
import { findActiveStaffUser, type StaffRole } from './staff.repository.js';

/** What the session knows about who is signed in: a kind and an id, nothing personal (C9). */
export interface MemberSessionUser {
  kind: 'member';
  id: string;
  /** When this session signed in (ms): sensitive changes ask for a recent sign-in. */
  at?: number;
}

/** A staff member; the role is re-read from the database on every request, so a change applies at once. */
export interface StaffSessionUser {
  kind: 'staff';
  id: string;
  role: StaffRole;
  at?: number;
}

export type SessionUser = MemberSessionUser | StaffSessionUser;

/** How recent a sign-in must be for changing the e-mail address (the credential of every link). */
export const RECENT_SIGN_IN_MS = 15 * 60 * 1000;

export function signedInRecently(user: { at?: number } | undefined, now = Date.now()): boolean {
  return user?.at !== undefined && now - user.at <= RECENT_SIGN_IN_MS;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    // A union cannot be extended; staff-only fields are optional here and narrowed by kind.
    interface User {
      kind: SessionUser['kind'];
      id: string;
      at?: number;
      role?: StaffRole;
      /** Read from the database per request (the header's "signed in as"; for staff the TOTP label); never serialised. */
      name?: string;
      email?: string;
      /** Staff only, read per request (admin 2FA rule); never serialised. */
      twoFactor?: boolean;
    }
  }
}

/** A signed-in member as the header shows them; undefined once the member is no longer active. */
export type ActiveMemberLookup = (id: string) => Promise<{ name: string | null; email: string | null } | undefined>;

/**
 * The session user is re-read on every request: a member must still be active (the members
 * feature answers, given as activeMember), a staff user still enabled, with the role they have now.
 */
export function createPassport(db: Db, activeMember: ActiveMemberLookup): InstanceType<typeof Passport> {
  const passport = new Passport();
  passport.serializeUser((user, done) =>
    done(null, { kind: user.kind, id: user.id, at: user.at ?? Date.now(), ...(user.kind === 'staff' ? { role: user.role } : {}) }),
  );
  passport.deserializeUser(async (stored: SessionUser, done) => {
    try {
      const member = stored?.kind === 'member' ? await activeMember(stored.id) : undefined;
      if (member)
        return done(null, {
          kind: 'member',
          id: stored.id,
          at: stored.at,
          name: member.name ?? undefined,
          email: member.email ?? undefined,
        });
      if (stored?.kind === 'staff') {
        // A disabled account ends every session of it at the next request.
        const staff = await findActiveStaffUser(db, stored.id);
        if (staff)
          return done(null, {
            kind: 'staff',
            id: staff.id,
            role: staff.role,
            name: staff.name,
            email: staff.email,
            twoFactor: staff.totp_enabled_at !== null,
            at: stored.at,
          });
      }
      done(null, false);
    } catch (err) {
      done(err);
    }
  });
  return passport;
}

/** Member pages behind a session: without one, go to the sign-in page. */
export const requireMember: RequestHandler = (req, res, next) => {
  if (req.user?.kind === 'member') return next();
  res.redirect(303, res.locals.sessionExpired === 'member' ? '/manage?expired=1' : '/manage');
};
