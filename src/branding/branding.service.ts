import type { Db } from '../db.js';
import { appendAudit } from '../audit/audit.repository.js';
import { inTransaction } from '../db.js';
import { ValidationError } from '../shared/errors.js';
import { AA_NORMAL_TEXT, contrastRatio, WHITE } from './colour.js';
import { findBranding, saveBranding } from './branding.repository.js';
import type { BrandingInput } from './branding.schemas.js';

/** The largest logo accepted (the database checks the same). */
export const LOGO_MAX_BYTES = 256 * 1024;

/** Assent's own colours, until the organisation sets its own. */
export const DEFAULT_COLOUR = '#2f5d50';

export interface Brand {
  colour: string;
  senderName: string | null;
  logo: { bytes: Buffer; type: string } | null;
  /** Changes whenever the branding does: for cache-busting URLs. */
  version: string;
}

const DEFAULT_BRAND: Brand = { colour: DEFAULT_COLOUR, senderName: null, logo: null, version: '0' };

/**
 * The branding every page and e-mail uses, read from the database at most every `ttlMs` per
 * process: `current()` answers at once from memory (no page waits for it) and refreshes in the
 * background once the copy is older than the TTL; a save in this process refreshes it at once,
 * other nodes see it within the TTL. It never throws: with the database away it keeps the last
 * branding it knew, or Assent's own.
 */
export class BrandingCache {
  private value: Brand | undefined;
  private readAt = 0;
  private pending: Promise<Brand> | undefined;

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 15_000,
  ) {}

  current(): Brand {
    if (Date.now() - this.readAt >= this.ttlMs) void this.refresh();
    return this.value ?? DEFAULT_BRAND;
  }

  /** Reads the branding now (one read at a time). */
  refresh(): Promise<Brand> {
    this.pending ??= this.read().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async read(): Promise<Brand> {
    try {
      const row = await findBranding(this.db);
      this.value = row
        ? {
            colour: row.primary_colour ?? DEFAULT_COLOUR,
            senderName: row.sender_name,
            logo: row.logo && row.logo_type ? { bytes: row.logo, type: row.logo_type } : null,
            version: String(row.updated_at.getTime()),
          }
        : DEFAULT_BRAND;
    } catch {
      // The database is away: keep what we had, and try again after the TTL.
    }
    this.readAt = Date.now();
    return this.value ?? DEFAULT_BRAND;
  }
}

/** The refusal of a colour white text cannot be read on (WCAG AA), with its ratio. */
export function colourProblem(colour: string): string | undefined {
  const ratio = contrastRatio(colour, WHITE);
  if (ratio >= AA_NORMAL_TEXT) return undefined;
  return `White text on ${colour} has a contrast of ${ratio.toFixed(2)}:1; it needs at least ${AA_NORMAL_TEXT}:1 (WCAG AA) to be read. Choose a darker colour.`;
}

/** What a logo file is, from its first bytes (not from what the browser says it is). */
export function logoType(bytes: Buffer): string | undefined {
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  const head = bytes.subarray(0, 1024).toString('utf8').trimStart().toLowerCase();
  if ((head.startsWith('<svg') || head.startsWith('<?xml')) && head.includes('<svg')) return 'image/svg+xml';
  return undefined;
}

/** Saves the branding (an admin's act, audited); refuses an unreadable colour or a file that is not a logo. */
export async function updateBranding(
  db: Db,
  cache: BrandingCache,
  staffUserId: string,
  input: BrandingInput,
  file: { bytes: Buffer } | undefined,
): Promise<void> {
  const kept = { primary_colour: input.primary_colour ?? '', sender_name: input.sender_name ?? '' };
  const problem = input.primary_colour ? colourProblem(input.primary_colour) : undefined;
  if (problem) throw new ValidationError({ primary_colour: problem }, kept);
  let logo: { bytes: Buffer; type: string } | null | undefined = input.remove_logo ? null : undefined;
  if (file && file.bytes.length > 0) {
    const type = logoType(file.bytes);
    if (!type) throw new ValidationError({ logo: 'The logo must be a PNG, JPEG or SVG image.' }, kept);
    logo = { bytes: file.bytes, type };
  }
  await inTransaction(db, async (trx) => {
    await saveBranding(trx, {
      primaryColour: input.primary_colour ?? null,
      senderName: input.sender_name ?? null,
      logo,
      staffUserId,
    });
    await appendAudit(trx, {
      staffUserId,
      action: 'branding.updated',
      details: { colour: input.primary_colour ?? null, logo: logo === undefined ? 'kept' : logo ? 'new' : 'removed' },
    });
  });
  await cache.refresh();
}
