import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { z } from 'zod';
import { appendAudit } from '../audit/audit.repository.js';
import type { ServiceContext } from '../context.js';
import { addSendJobBatches } from '../mail/outbox.js';
import { insertEmailMessages, type NewEmailMessage } from '../mail/outbox.repository.js';
import { nextSendSlot, releaseWindow, sendCapacity } from '../mail/send-rate.js';
import { addJob } from '../shared/queue.js';
import { hashToken, newSecretToken } from '../shared/secrets.js';
import { tryXactLock, XACT_LOCKS } from '../shared/xact-lock.js';
import { INVITATION_KIND, invitationEmail } from './imports.emails.js';
import { applyEvidenceBatch, dropStagedRows, findImport, inviteBatch, updateImport } from './imports.repository.js';

/**
 * Applying an import is a chain of worker jobs, each batch ONE transaction that also queues the
 * next, so a worker killed anywhere leaves a whole batch or none of it, and cancelling stops the
 * chain before its next batch. A batch's payload names where it starts; a job that finds the
 * import elsewhere (a retry after its commit) does nothing. In "ask them" mode the invitations
 * are mailed by a second chain, paced by the bulletins' shared send rate.
 */
export const IMPORT_APPLY_TASK = 'import_apply';
export const IMPORT_INVITE_TASK = 'import_invite';

export const APPLY_BATCH_SIZE = 5000;
/** Re-permission mails queued at once, at most (they wait for their send-rate slot like a bulletin's). */
const INVITE_MAX = 500;
/** Days an invitation link works; unanswered ones are purged then (C15). */
export const INVITATION_DAYS = 30;
const CHAIN_MAX_ATTEMPTS = 25;
const CHAIN_PRIORITY = -10;

export const ApplyPayload = z.object({
  importId: z.number().int().positive(),
  after: z.number().int().min(0),
  batchSize: z.number().int().min(1).max(50_000).optional(),
});
export type ApplyPayload = z.infer<typeof ApplyPayload>;
export const InvitePayload = z.object({ importId: z.number().int().positive() });

export function queueApplyBatch(trx: Knex.Transaction, importId: number, after: number, batchSize?: number): Promise<void> {
  return addJob(
    trx,
    IMPORT_APPLY_TASK,
    { importId, after, ...(batchSize ? { batchSize } : {}) },
    { maxAttempts: CHAIN_MAX_ATTEMPTS, priority: CHAIN_PRIORITY, jobKey: `import-apply:${importId}` },
  );
}

function wakeInviter(trx: Knex.Transaction, importId: number, at?: Date): Promise<void> {
  return addJob(
    trx,
    IMPORT_INVITE_TASK,
    { importId },
    { maxAttempts: CHAIN_MAX_ATTEMPTS, priority: CHAIN_PRIORITY, jobKey: `import-invite:${importId}`, runAt: at },
  );
}

/** One batch of an import; the last (finding nothing left) ends it and deletes the staged rows. */
export async function runApplyBatch(svc: ServiceContext, p: ApplyPayload): Promise<string> {
  return svc.db.transaction(async (trx) => {
    const imp = await findImport(trx, p.importId, 'update');
    if (!imp || imp.status !== 'applying' || imp.applied_upto !== p.after) return 'nothing to do';
    const size = p.batchSize ?? APPLY_BATCH_SIZE;
    const r = imp.mode === 'evidence' ? await applyEvidenceBatch(trx, imp, p.after, size) : await inviteBatch(trx, imp.id, p.after, size);
    if (!r) {
      await updateImport(trx, imp.id, { status: 'applied', finished_at: new Date() });
      await dropStagedRows(trx, imp.id);
      await appendAudit(trx, {
        staffUserId: imp.staff_user_id,
        action: 'import.applied',
        details: { importId: imp.id, mode: imp.mode, membersCreated: imp.members_created, invitations: imp.invitations_created },
      });
      return 'finished';
    }
    await updateImport(trx, imp.id, {
      rows_done: imp.rows_done + r.handled,
      applied_upto: r.upto,
      ...(imp.mode === 'evidence'
        ? { members_created: imp.members_created + r.created }
        : { invitations_created: imp.invitations_created + r.created }),
    });
    await queueApplyBatch(trx, imp.id, r.upto, p.batchSize);
    if (imp.mode === 'ask' && r.created > 0) await wakeInviter(trx, imp.id);
    return `${r.handled} rows up to row ${r.upto}`;
  });
}

/**
 * A batch that kept failing (its job's last attempt): the import stops as failed, with a reason
 * that names no one (a database message may quote an address), the staged rows are deleted and
 * the admins can see it; what the batches before wrote stays, and can be undone like a stopped
 * import's.
 */
export async function failImport(svc: ServiceContext, importId: number, err: unknown, attempts: number): Promise<void> {
  const code = (err as { code?: unknown } | null)?.code;
  const reason = `A batch failed ${attempts} times${typeof code === 'string' ? ` (database error ${code})` : ''}; the import stopped there.`;
  await svc.db.transaction(async (trx) => {
    const imp = await findImport(trx, importId, 'update');
    if (!imp || imp.status !== 'applying') return;
    await updateImport(trx, imp.id, { status: 'failed', finished_at: new Date(), error: reason });
    await dropStagedRows(trx, imp.id);
    await appendAudit(trx, {
      staffUserId: imp.staff_user_id,
      action: 'import.failed',
      details: { importId: imp.id, membersCreated: imp.members_created, invitations: imp.invitations_created, attempts },
    });
  });
}

/**
 * One round of mailing invitations, in one transaction: as many as the shared send rate leaves
 * room for now (each message also takes its own slot when it is sent), each with a fresh
 * single-use token stored only as a hash, and exactly one message per invitation (the row
 * records it). Then the next round is set for when there is room again.
 */
export async function runInviteRound(svc: ServiceContext, importId: number): Promise<string> {
  const rate = svc.config.sendRate;
  return svc.db.transaction(async (trx) => {
    // Another round of this import is running (an apply batch woke this one meanwhile): it sets its
    // own next round. Two side by side would each fill the same release window.
    if (!(await tryXactLock(trx, XACT_LOCKS.importInvites, importId))) return 'another round is running';
    const imp = await findImport(trx, importId, 'share');
    if (!imp || imp.mode !== 'ask' || !['applying', 'applied'].includes(imp.status)) return 'stopped';
    const { rows } = await trx.raw<{ rows: { n: number }[] }>(
      `SELECT count(*)::int AS n FROM email_messages WHERE status = 'queued' AND kind = ? AND NOT held`,
      [INVITATION_KIND],
    );
    const inFlight = rows[0]?.n ?? 0;
    const room = releaseWindow(rate.perSecond) - inFlight;
    const capacity = await sendCapacity(trx, rate);
    const n = Math.max(0, Math.min(room, capacity.thisSecond, capacity.thisHour, INVITE_MAX));
    const due = (await trx('import_invitations')
      .where({ import_id: importId })
      .whereNull('mailed_at')
      .orderBy('id')
      .limit(n)
      .forUpdate()
      .skipLocked()
      .select('id', 'email')) as { id: string; email: string }[];
    const messages: NewEmailMessage[] = [];
    const marks: { id: string; token_hash: string; email_message_id: string }[] = [];
    for (const inv of due) {
      const token = newSecretToken();
      const email = invitationEmail(svc.mail, { to: inv.email, url: svc.links.action('/join/invited', token), days: INVITATION_DAYS });
      const id = randomUUID();
      messages.push({
        id,
        kind: email.kind,
        recipient: email.to,
        member_id: null,
        topic_id: null,
        message_id: `<${id}@${svc.outbox.messageIdHost}>`,
        subject: email.subject,
        text_body: email.text,
        html_body: email.html,
        headers: email.headers,
        rate_limited: true,
      });
      marks.push({ id: inv.id, token_hash: hashToken(token), email_message_id: id });
    }
    await insertEmailMessages(trx, messages);
    if (marks.length)
      await trx.raw(
        `UPDATE import_invitations i SET token_hash = m.token_hash, email_message_id = m.email_message_id,
           mailed_at = now(), expires_at = now() + make_interval(days => ?)
         FROM json_to_recordset(?::json) AS m(id uuid, token_hash text, email_message_id uuid) WHERE i.id = m.id`,
        [INVITATION_DAYS, JSON.stringify(marks)],
      );
    // Paced bulk mail like a bulletin's: eight messages to a job (see addSendJobBatches).
    await addSendJobBatches(
      trx,
      messages.map((m) => m.id),
      svc.outbox.maxAttempts,
    );
    const left = await trx('import_invitations').where({ import_id: importId }).whereNull('mailed_at').first('id');
    if (!left && imp.status === 'applied') return `${marks.length} mailed; all invitations mailed`;
    const now = Date.now();
    let next: Date;
    if (!left) next = new Date(now + 2000);
    else if (capacity.thisHour <= marks.length) next = await nextSendSlot(trx, rate);
    else if (capacity.thisSecond <= marks.length) next = capacity.nextSecond;
    else next = new Date(now + 200);
    await wakeInviter(trx, importId, next);
    return `${marks.length} mailed`;
  });
}
