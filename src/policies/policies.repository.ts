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
  return upcomingPolicyQuery(db).first();
}

/** The versions in their notice period, earliest first; the banner shows the first (C7). */
export function upcomingPolicyQuery(db: DbOrTx) {
  return db<PolicyVersionRow>('policy_versions')
    .where('published_at', '<=', db.fn.now())
    .where('effective_at', '>', db.fn.now())
    .orderBy('effective_at', 'asc');
}

/** Every published version not yet in force (usually one), earliest first. */
export async function listUpcomingPolicies(db: DbOrTx): Promise<PolicyVersionRow[]> {
  return db<PolicyVersionRow>('policy_versions')
    .where('published_at', '<=', db.fn.now())
    .where('effective_at', '>', db.fn.now())
    .orderBy('effective_at', 'asc');
}

export async function listPublishedPolicies(db: DbOrTx): Promise<PolicyVersionRow[]> {
  return db<PolicyVersionRow>('policy_versions')
    .whereNotNull('published_at')
    .where('published_at', '<=', db.fn.now())
    .orderBy('effective_at', 'desc');
}

/** The newest published version, in force or upcoming: what a new draft starts from and is compared with. */
export async function findLatestPublishedPolicy(db: DbOrTx): Promise<PolicyVersionRow | undefined> {
  return db<PolicyVersionRow>('policy_versions')
    .whereNotNull('published_at')
    .orderBy([
      { column: 'effective_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .first();
}

export async function findPublishedPolicy(db: DbOrTx, version: string): Promise<PolicyVersionRow | undefined> {
  return db<PolicyVersionRow>('policy_versions')
    .where({ version })
    .whereNotNull('published_at')
    .where('published_at', '<=', db.fn.now())
    .first();
}

/** Every version, drafts included, newest first: the staff list. */
export async function listAllPolicies(db: DbOrTx): Promise<PolicyVersionRow[]> {
  return db<PolicyVersionRow>('policy_versions').orderBy([
    { column: 'created_at', order: 'desc' },
    { column: 'id', order: 'desc' },
  ]);
}

export async function findPolicyById(db: DbOrTx, id: number): Promise<PolicyVersionRow | undefined> {
  return db<PolicyVersionRow>('policy_versions').where({ id }).first();
}

export interface PolicyDraft {
  version: string;
  title: string;
  summary: string;
  body: string;
  introduces_new_use: boolean;
}

export async function insertPolicyDraft(db: DbOrTx, draft: PolicyDraft): Promise<PolicyVersionRow> {
  const [row] = await db<PolicyVersionRow>('policy_versions').insert(draft).returning('*');
  return row as PolicyVersionRow;
}

/** Changes a draft; a published version is not touched (and the database would refuse). */
export async function updatePolicyDraft(db: DbOrTx, id: number, draft: PolicyDraft): Promise<PolicyVersionRow | undefined> {
  const [row] = await db<PolicyVersionRow>('policy_versions').where({ id }).whereNull('published_at').update(draft).returning('*');
  return row as PolicyVersionRow | undefined;
}

/**
 * Publishes a draft now, to take effect at effectiveAt. The database checks the seven days'
 * notice against its own clock (C7); a version already published is left alone.
 */
export async function markPolicyPublished(db: DbOrTx, id: number, effectiveAt: Date): Promise<PolicyVersionRow | undefined> {
  const [row] = await db<PolicyVersionRow>('policy_versions')
    .where({ id })
    .whereNull('published_at')
    .update({ published_at: db.fn.now() as unknown as Date, effective_at: effectiveAt })
    .returning('*');
  return row as PolicyVersionRow | undefined;
}
