import type { DbOrTx } from '../db.js';
import { NotFoundError } from '../shared/errors.js';
import {
  findPolicyInForce,
  findPublishedPolicy,
  findUpcomingPolicy,
  listPublishedPolicies,
  type PolicyVersionRow,
} from './policies.repository.js';
import { isVersionLabel } from './policies.schemas.js';

/**
 * The public privacy statement (C7): the version in force, or any published one by its label, with
 * the whole history of published versions. The history stays public.
 */
export async function privacyStatement(
  db: DbOrTx,
  version?: string,
): Promise<{ policy: PolicyVersionRow | undefined; history: PolicyVersionRow[]; isCurrent: boolean }> {
  const [current, history] = await Promise.all([findPolicyInForce(db), listPublishedPolicies(db)]);
  if (version === undefined) return { policy: current, history, isCurrent: true };
  const policy = isVersionLabel(version) ? await findPublishedPolicy(db, version) : undefined;
  if (!policy) throw new NotFoundError('There is no published policy version with that number.');
  return { policy, history, isCurrent: current?.id === policy.id };
}

/** The version in its notice period, if any, for the banner every page shows (C7). */
export function upcomingPolicy(db: DbOrTx): Promise<PolicyVersionRow | undefined> {
  return findUpcomingPolicy(db);
}
