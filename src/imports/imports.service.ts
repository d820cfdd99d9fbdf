import { unlink } from 'node:fs/promises';
import { appendAudit } from '../audit/audit.repository.js';
import { listOfferedTopics, type TopicRow } from '../consent/consent.repository.js';
import type { ServiceContext } from '../context.js';
import { inTransaction } from '../db.js';
import { findPolicyInForce } from '../policies/policies.repository.js';
import { ConflictError, NotFoundError, ValidationError } from '../shared/errors.js';
import { parseForm } from '../shared/http/forms.js';
import { progressOf } from '../shared/progress.js';
import { queueApplyBatch } from './apply.service.js';
import { checkStagedRows, countOutcomes } from './check.repository.js';
import { NotCsvError, readHead, stageRows } from './csv-file.js';
import { recognise, type Mapping } from './formats.js';
import {
  dropStagedRows,
  findImport,
  importedMembers,
  insertImport,
  invitationCounts,
  sampleRows,
  undoImportRows,
  UNDO_DAYS,
  updateImport,
  type ImportRow,
} from './imports.repository.js';
import { ImportMapping, ImportStart } from './imports.schemas.js';

/** The largest file accepted (the issue asks for at least 50 MB and 200,000 rows). */
export const IMPORT_MAX_BYTES = 100 * 1024 * 1024;
export const IMPORT_MAX_ROWS = 1_000_000;

export interface UploadedFile {
  path: string;
  originalname: string;
  size: number;
}

/** Topics an import may opt anyone in to: newsletters and announcements only (C1). */
export async function importableTopics(svc: ServiceContext): Promise<TopicRow[]> {
  return (await listOfferedTopics(svc.db)).filter((t) => t.kind === 'newsletter' || t.kind === 'announcement');
}

function fileProblem(message: string): ValidationError {
  return new ValidationError({ file: message }, {}, message);
}

/**
 * Takes an uploaded file (already streamed to disk by the upload middleware), checks that it is
 * CSV, stages its rows with COPY and, for a known export, runs the dry run at once. The file on
 * disk is deleted whatever happens; from here on the staged rows are the file. Nothing is
 * written about members until staff confirm the import.
 */
export async function uploadImport(
  svc: ServiceContext,
  staffUserId: string,
  file: UploadedFile | undefined,
  problem?: string,
): Promise<number> {
  try {
    if (problem) throw fileProblem(problem);
    if (!file || file.size === 0)
      throw fileProblem(
        file ? 'The file is empty. Choose a CSV file with a header row and one row per member.' : 'Choose a CSV file to upload.',
      );
    if (/\.(xlsx?|ods|numbers|pdf|docx?)$/i.test(file.originalname))
      throw fileProblem('This is a spreadsheet or document, not a CSV file. Save the sheet as “CSV UTF-8” and upload that file.');
    const head = await readHead(file.path).catch((err: unknown) => {
      throw err instanceof NotCsvError ? fileProblem(err.message) : err;
    });
    const { format, mapping } = recognise(head.headers);
    const fileName = file.originalname.slice(0, 255) || 'upload.csv';
    const id = await insertImport(svc.db, { staff_user_id: staffUserId, file_name: fileName, format, headers: head.headers });
    let rows: number;
    try {
      rows = await stageRows(svc.db, id, file.path, head, IMPORT_MAX_ROWS);
      if (rows === 0) throw new NotCsvError('The file has a header row but no members under it.');
    } catch (err) {
      await svc.db('imports').where({ id }).delete();
      throw err instanceof NotCsvError ? fileProblem(err.message) : err;
    }
    await updateImport(svc.db, id, { rows_total: rows });
    await appendAudit(svc.db, { staffUserId, action: 'import.uploaded', details: { importId: id, fileName, rows, format } });
    if (mapping) await runCheck(svc, id, mapping);
    return id;
  } finally {
    if (file) await unlink(file.path).catch(() => undefined);
  }
}

/** The dry run: one transaction, set-based; the counts are kept on the import for the preview. */
async function runCheck(svc: ServiceContext, importId: number, mapping: Mapping): Promise<void> {
  await inTransaction(svc.db, async (trx) => {
    await checkStagedRows(trx, importId, mapping, svc.keys.suppression);
    const counts = await countOutcomes(trx, importId);
    await updateImport(trx, importId, {
      mapping: JSON.stringify(mapping),
      counts: JSON.stringify(counts),
      status: 'checked',
      checked_at: new Date(),
    });
  });
}

export async function findImportOr404(svc: ServiceContext, id: number): Promise<ImportRow> {
  const imp = Number.isInteger(id) && id > 0 && id < 2 ** 31 ? await findImport(svc.db, id) : undefined;
  if (!imp) throw new NotFoundError('There is no such import.');
  return imp;
}

/** Saves the mapping from the mapping screen and runs the dry run again with it. */
export async function saveMapping(svc: ServiceContext, staffUserId: string, id: number, body: unknown): Promise<void> {
  const imp = await findImportOr404(svc, id);
  if (imp.status !== 'mapping' && imp.status !== 'checked')
    throw new ConflictError('This import has started or ended: its mapping can no longer change.');
  const topics = await importableTopics(svc);
  const mapping = parseForm(
    ImportMapping(
      imp.headers.length,
      topics.map((t) => t.id),
    ),
    body,
  );
  await runCheck(svc, id, mapping);
  await appendAudit(svc.db, { staffUserId, action: 'import.mapped', details: { importId: id, topics: mapping.topics.length } });
}

/**
 * Confirms an import: the mode and its evidence are recorded, the policy in force is the one the
 * consents are recorded under (C8), and the first batch job is queued. The work is the worker's.
 */
export async function startImport(svc: ServiceContext, staffUserId: string, id: number, body: unknown): Promise<void> {
  const input = parseForm(ImportStart, body);
  await inTransaction(svc.db, async (trx) => {
    const imp = await findImport(trx, id, 'update');
    if (!imp) throw new NotFoundError('There is no such import.');
    if (imp.status !== 'checked') throw new ConflictError('This import is not waiting to be confirmed.');
    const policy = await findPolicyInForce(trx);
    if (!policy)
      throw new ValidationError(
        { form: 'Publish a privacy policy first: imported consents are recorded under the policy in force.' },
        body as Record<string, unknown>,
      );
    await updateImport(trx, id, {
      mode: input.mode,
      evidence_where: input.mode === 'evidence' ? input.evidence_where : null,
      evidence_collected_on: input.mode === 'evidence' ? input.evidence_collected_on : null,
      evidence_reference: input.mode === 'evidence' ? input.evidence_reference : null,
      policy_version_id: policy.id,
      status: 'applying',
      started_at: new Date(),
    });
    await queueApplyBatch(trx, id, 0);
    await appendAudit(trx, {
      staffUserId,
      action: 'import.started',
      details: { importId: id, mode: input.mode, newMembers: imp.counts.new ?? 0 },
    });
  });
}

/**
 * Stops an import. Before it is confirmed nothing has been written, and nothing is; while it
 * runs, no further batch starts (what the batches before wrote can be undone). Either way the
 * staged rows, the file's content, are deleted.
 */
export async function cancelImport(svc: ServiceContext, staffUserId: string, id: number): Promise<void> {
  await inTransaction(svc.db, async (trx) => {
    const imp = await findImport(trx, id, 'update');
    if (!imp) throw new NotFoundError('There is no such import.');
    if (!['mapping', 'checked', 'applying'].includes(imp.status)) throw new ConflictError('This import has already ended.');
    const running = imp.status === 'applying';
    await updateImport(trx, id, { status: 'cancelled', cancelled_at: new Date(), ...(running ? { finished_at: new Date() } : {}) });
    await dropStagedRows(trx, id);
    await appendAudit(trx, {
      staffUserId,
      action: 'import.cancelled',
      details: { importId: id, running, membersCreated: imp.members_created, invitations: imp.invitations_created },
    });
  });
}

export function canUndo(imp: ImportRow, now = new Date()): boolean {
  return (
    (imp.status === 'applied' || imp.status === 'cancelled' || imp.status === 'failed') &&
    imp.started_at !== null &&
    imp.finished_at !== null &&
    now.getTime() - imp.finished_at.getTime() < UNDO_DAYS * 24 * 3600 * 1000
  );
}

/** Undoes an import within 7 days: untouched members go, unanswered invitations are withdrawn. */
export async function undoImport(svc: ServiceContext, staffUserId: string, id: number): Promise<void> {
  await inTransaction(svc.db, async (trx) => {
    const imp = await findImport(trx, id, 'update');
    if (!imp) throw new NotFoundError('There is no such import.');
    if (!canUndo(imp)) throw new ConflictError(`Only an import that ended less than ${UNDO_DAYS} days ago can be undone.`);
    await updateImport(trx, id, { status: 'undoing' });
    const counts = await undoImportRows(trx, id);
    await updateImport(trx, id, { status: 'undone', undone_at: new Date(), undo_counts: JSON.stringify(counts) });
    await appendAudit(trx, { staffUserId, action: 'import.undone', details: { importId: id, ...counts } });
  });
}

/** Everything the import's page shows, whatever its state. */
export async function importPage(svc: ServiceContext, id: number, page: number) {
  const imp = await findImportOr404(svc, id);
  const perPage = 50;
  const [members, invitations, topics, samples] = await Promise.all([
    importedMembers(svc.db, id, perPage + 1, (page - 1) * perPage),
    invitationCounts(svc.db, id),
    importableTopics(svc),
    imp.status === 'mapping' || imp.status === 'checked' ? sampleRows(svc.db, id) : Promise.resolve([]),
  ]);
  const toApply = imp.counts.new ?? 0;
  const bar =
    imp.started_at && ['applying', 'applied', 'cancelled'].includes(imp.status)
      ? progressOf({ done: imp.rows_done, total: toApply, startedAt: imp.started_at, finishedAt: imp.finished_at })
      : undefined;
  const mailed = imp.invitations_created - invitations.unmailed;
  const inviteBar =
    imp.mode === 'ask' && imp.started_at && imp.invitations_created > 0
      ? progressOf({ done: mailed, total: imp.invitations_created, startedAt: imp.started_at })
      : undefined;
  return {
    imp,
    topics,
    topicName: new Map(topics.map((t) => [t.id, t.name])),
    samples,
    members: members.slice(0, perPage),
    page,
    hasNext: members.length > perPage,
    invitations: { ...invitations, mailed, confirmed: imp.mode === 'ask' ? await countImportMembers(svc, id) : 0 },
    bar,
    inviteBar,
    undoable: canUndo(imp),
    undoUntil: imp.finished_at ? new Date(imp.finished_at.getTime() + UNDO_DAYS * 24 * 3600 * 1000) : undefined,
  };
}

async function countImportMembers(svc: ServiceContext, id: number): Promise<number> {
  const r = await svc.db('members').where({ import_id: id }).count<{ n: number }[]>('* as n');
  return Number(r[0]?.n ?? 0);
}

/** The error report and the differences, streamed; opening either is audited (it holds addresses). */
export async function auditReportDownload(
  svc: ServiceContext,
  staffUserId: string,
  id: number,
  report: 'errors' | 'differences',
): Promise<void> {
  await appendAudit(svc.db, { staffUserId, action: 'import.report_downloaded', details: { importId: id, report } });
}
