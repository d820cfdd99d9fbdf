import { readTogether, type DbOrTx } from '../db.js';
import { clearFailures, countFailure, recentFailures, withinLimit, type FailureRule } from '../shared/rate-limit.js';

/**
 * Password sign-in lock-out, after OWASP's guidance (C11). Only failures count, so a right
 * password is never refused because of wrong ones before it from elsewhere:
 * - per (address, network): a handful of failures locks that address from that network only, so
 *   whoever guesses locks out themselves, not the owner;
 * - per network, across addresses: slows one network trying many accounts;
 * - per address, from anywhere: a slower ceiling against guessing spread over many networks. It
 *   does not lock the owner out: staff then sign in with password AND second factor in one step
 *   (so the password alone says nothing to a guesser); members, who have no second factor, sign in
 *   with an e-mailed link, which this lock never touches.
 * A burst of failures on one address is told to the account's owner by e-mail, once an hour.
 */
export type Audience = 'staff' | 'member';

interface Rules {
  pair: FailureRule;
  network: FailureRule;
  address: FailureRule;
  /** Failures on one address (any network) after which the owner is told. */
  alertAt: number;
}

export const LOCKOUT_RULES: Record<Audience, Rules> = {
  staff: {
    pair: { action: 'staff-fail:pair', windowSeconds: 900, max: 5 },
    network: { action: 'staff-fail:network', windowSeconds: 900, max: 40 },
    address: { action: 'staff-fail:address', windowSeconds: 3600, max: 20 },
    alertAt: 5,
  },
  member: {
    pair: { action: 'member-fail:pair', windowSeconds: 900, max: 10 },
    network: { action: 'member-fail:network', windowSeconds: 900, max: 100 },
    address: { action: 'member-fail:address', windowSeconds: 3600, max: 30 },
    alertAt: 10,
  },
};

export interface LockState {
  /** This network has failed too often for this address, or for any address: refuse, do not check. */
  locked: boolean;
  /** The address failed too often from everywhere: only a second factor (staff) or a link (members) will do. */
  addressCeiling: boolean;
}

export async function lockState(db: DbOrTx, audience: Audience, address: string, network: string): Promise<LockState> {
  const r = LOCKOUT_RULES[audience];
  const [pair, net, all] = await readTogether(db, [
    () => recentFailures(db, r.pair, address, network),
    () => recentFailures(db, r.network, network),
    () => recentFailures(db, r.address, address),
  ]);
  return { locked: pair >= r.pair.max || net >= r.network.max, addressCeiling: all >= r.address.max };
}

/** Counts a failed attempt; true when the owner should now be told of a burst (once an hour). */
export async function recordSignInFailure(db: DbOrTx, audience: Audience, address: string, network: string): Promise<boolean> {
  const r = LOCKOUT_RULES[audience];
  await countFailure(db, r.pair, address, network);
  await countFailure(db, r.network, network);
  const onAddress = await countFailure(db, r.address, address);
  if (onAddress < r.alertAt) return false;
  return withinLimit(db, { action: `${audience}-fail:alerted`, windowSeconds: 3600, max: 1 }, address);
}

/** A right answer forgives this network's failures for this address (not the address's ceiling). */
export async function recordSignInSuccess(db: DbOrTx, audience: Audience, address: string, network: string): Promise<void> {
  await clearFailures(db, LOCKOUT_RULES[audience].pair, address, network);
}
