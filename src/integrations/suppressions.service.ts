import { inTransaction, type DbOrTx } from '../db.js';
import type { ServiceContext } from '../context.js';
import { markAddressUndeliverable } from '../mail/outbox.repository.js';
import { addressHash, normaliseAddress, suppressAddress } from '../shared/suppression.js';
import { recordWebhookEvent } from '../events/webhook-events.js';

/** What another system may report about an address (REST API, bounce and complaint intake). */
export const REPORTED_REASONS = ['bounce', 'complaint', 'manual'] as const;
export type ReportedReason = (typeof REPORTED_REASONS)[number];

/**
 * An address another system reports as undeliverable (a hard bounce), complained of (marked as
 * spam) or to be suppressed by hand: it goes on the suppression list (a keyed hash, C6), so no
 * audience includes it and the send task mails it nothing more (C12); a bounced address is also
 * marked undeliverable on the member who has it. The answer is the same whether or not any member
 * has the address (no enumeration). It stays suppressed until its owner confirms it afresh (join).
 *
 * Shared by the REST API (POST /api/v1/suppressions) and bounce/complaint intake (webhooks).
 */
export async function suppressReportedAddress(
  svc: ServiceContext,
  input: { email: string; reason: ReportedReason },
  db: DbOrTx = svc.db,
): Promise<void> {
  const email = normaliseAddress(input.email);
  await inTransaction(db, async (trx) => {
    const added = await suppressAddress(trx, email, svc.keys.suppression, input.reason);
    if (input.reason === 'bounce') await markAddressUndeliverable(trx, email);
    if (added)
      await recordWebhookEvent(trx, 'suppression.added', {
        address_hash: addressHash(email, svc.keys.suppression.write),
        reason: input.reason,
      });
  });
}
