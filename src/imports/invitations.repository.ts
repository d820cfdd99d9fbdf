import type { DbOrTx } from '../db.js';

export interface InvitationRow {
  id: string;
  import_id: number;
  email: string;
  name: string | null;
  postal_address: string | null;
  phone: string | null;
}

const live = (db: DbOrTx, tokenHash: string) =>
  db('import_invitations').where({ token_hash: tokenHash }).where('expires_at', '>', db.fn.now());

export async function findLiveInvitation(db: DbOrTx, tokenHash: string): Promise<InvitationRow | undefined> {
  return (await live(db, tokenHash).first('id', 'import_id', 'email', 'name', 'postal_address', 'phone')) as InvitationRow | undefined;
}

/** Takes the invitation out as it is read, so a link confirms once; its member now holds the data. */
export async function takeInvitation(db: DbOrTx, tokenHash: string): Promise<InvitationRow | undefined> {
  const rows = (await live(db, tokenHash)
    .delete()
    .returning(['id', 'import_id', 'email', 'name', 'postal_address', 'phone'])) as InvitationRow[];
  return rows[0];
}

/** C15: an invitation nobody answered is deleted when its link expires. */
export async function purgeExpiredInvitations(db: DbOrTx): Promise<number> {
  return db('import_invitations').where('expires_at', '<=', db.fn.now()).delete();
}
