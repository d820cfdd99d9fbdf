import type { DbOrTx } from '../db.js';

export interface PolicyVersionRow {
  id: number;
  version: string;
  title: string;
  summary: string;
  body: string;
  introduces_new_use: boolean;
  published_at: Date | null;
  effective_at: Date | null;
  created_at: Date;
}

/** The version in force: the latest one whose effective time has come. */
export async function findPolicyInForce(db: DbOrTx): Promise<PolicyVersionRow | undefined> {
  return db<PolicyVersionRow>('policy_versions')
    .whereNotNull('published_at')
    .where('effective_at', '<=', db.fn.now())
    .orderBy('effective_at', 'desc')
    .first();
}

/** A published version still in its notice period (C7), the soonest first. */
export async function findUpcomingPolicy(db: DbOrTx): Promise<PolicyVersionRow | undefined> {
  return db<PolicyVersionRow>('policy_versions')
    .where('published_at', '<=', db.fn.now())
    .where('effective_at', '>', db.fn.now())
    .orderBy('effective_at', 'asc')
    .first();
}

export async function listPublishedPolicies(db: DbOrTx): Promise<PolicyVersionRow[]> {
  return db<PolicyVersionRow>('policy_versions')
    .whereNotNull('published_at')
    .where('published_at', '<=', db.fn.now())
    .orderBy('effective_at', 'desc');
}

export async function findPublishedPolicy(db: DbOrTx, version: string): Promise<PolicyVersionRow | undefined> {
  return db<PolicyVersionRow>('policy_versions')
    .where({ version })
    .whereNotNull('published_at')
    .where('published_at', '<=', db.fn.now())
    .first();
}
