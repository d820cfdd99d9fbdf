import type { DbOrTx } from '../db.js';

export interface BrandingRow {
  primary_colour: string | null;
  sender_name: string | null;
  logo: Buffer | null;
  logo_type: string | null;
  updated_at: Date;
}

export async function findBranding(db: DbOrTx): Promise<BrandingRow | undefined> {
  return db<BrandingRow>('branding').first('primary_colour', 'sender_name', 'logo', 'logo_type', 'updated_at');
}

/** Sets the colour and sender name, and the logo when given (null removes it; undefined keeps it). */
export async function saveBranding(
  db: DbOrTx,
  b: { primaryColour: string | null; senderName: string | null; logo?: { bytes: Buffer; type: string } | null; staffUserId: string },
): Promise<void> {
  const row: Record<string, unknown> = {
    id: true,
    primary_colour: b.primaryColour,
    sender_name: b.senderName,
    updated_at: db.fn.now(),
    updated_by: b.staffUserId,
  };
  if (b.logo !== undefined) Object.assign(row, { logo: b.logo?.bytes ?? null, logo_type: b.logo?.type ?? null });
  await db('branding').insert(row).onConflict('id').merge();
}
