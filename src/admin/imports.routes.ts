import { Router, type Request } from 'express';
import type { ServiceContext } from '../context.js';
import { streamCsv } from '../exports/csv.js';
import { differencesQuery, errorRowsQuery } from '../imports/check.repository.js';
import { FORMAT_NAMES, MAPPED_FIELDS } from '../imports/formats.js';
import { listImports } from '../imports/imports.repository.js';
import {
  auditReportDownload,
  cancelImport,
  findImportOr404,
  importPage,
  IMPORT_MAX_BYTES,
  saveMapping,
  startImport,
  undoImport,
  uploadImport,
} from '../imports/imports.service.js';
import { NotFoundError } from '../shared/errors.js';
import { formView } from '../shared/http/forms.js';
import { uploadProblem } from '../shared/http/uploads.js';
import { guardFor } from './guards.js';

const FIELD_LABELS: Record<(typeof MAPPED_FIELDS)[number], string> = {
  email: 'E-mail address',
  name: 'Name (whole)',
  first_name: 'First name',
  last_name: 'Last name',
  postal_address: 'Postal address',
  phone: 'Phone',
  date: 'Date consent was given',
  status: 'Status (rows saying unsubscribed, cleaned or blocklisted get no “everyone” consent)',
};

/** The import's id from the path; anything but a plain whole number is no import (404). */
function idOf(req: Request): number {
  const id = Number(req.params.id);
  if (!/^\d{1,9}$/.test(String(req.params.id)) || id < 1) throw new NotFoundError('There is no such import.');
  return id;
}

/** Importing an existing member list (issue 14): admins only, every step audited. */
export function importsAdminRouter(svc: ServiceContext): Router {
  const router = Router();
  const common = { formatNames: FORMAT_NAMES, fieldLabels: FIELD_LABELS, fields: MAPPED_FIELDS, maxMb: IMPORT_MAX_BYTES / (1024 * 1024) };

  const listLocals = async () => ({ ...common, title: 'Imports', imports: await listImports(svc.db) });

  router.get('/admin/imports', guardFor('GET', '/admin/imports'), async (_req, res) => {
    res.render('admin/imports/index', { ...(await listLocals()), input: {} });
  });

  router.post('/admin/imports', guardFor('POST', '/admin/imports'), async (req, res) => {
    formView(res, 'admin/imports/index', listLocals);
    const id = await uploadImport(svc, req.user!.id, req.file, uploadProblem(req));
    res.redirect(303, `/admin/imports/${id}`);
  });

  const showLocals = async (id: number, page = 1) => ({ ...common, title: 'Import', ...(await importPage(svc, id, page)) });

  router.get('/admin/imports/:id', guardFor('GET', '/admin/imports/:id'), async (req, res) => {
    const page = Math.max(1, Math.min(10_000, Number(req.query.page) || 1));
    const locals = await showLocals(idOf(req), page);
    res.render('admin/imports/show', { ...locals, title: `Import of ${locals.imp.file_name}`, input: {} });
  });

  router.get('/admin/imports/:id/mapping', guardFor('GET', '/admin/imports/:id/mapping'), async (req, res) => {
    const locals = await showLocals(idOf(req));
    const m = locals.imp.mapping;
    const input: Record<string, string> = {};
    if (m) {
      for (const f of MAPPED_FIELDS) if (m[f] !== undefined) input[f] = String(m[f]);
      for (const t of m.topics) input[`topic_${t.topicId}`] = String(t.column);
    }
    res.render('admin/imports/mapping', { ...locals, title: 'Map the columns', input });
  });

  router.post('/admin/imports/:id/mapping', guardFor('POST', '/admin/imports/:id/mapping'), async (req, res) => {
    const id = idOf(req);
    formView(res, 'admin/imports/mapping', async () => ({ ...(await showLocals(id)), title: 'Map the columns' }));
    await saveMapping(svc, req.user!.id, id, req.body);
    res.redirect(303, `/admin/imports/${id}`);
  });

  router.post('/admin/imports/:id/start', guardFor('POST', '/admin/imports/:id/start'), async (req, res) => {
    const id = idOf(req);
    formView(res, 'admin/imports/show', async () => ({ ...(await showLocals(id)), title: 'Import' }));
    await startImport(svc, req.user!.id, id, req.body);
    res.redirect(303, `/admin/imports/${id}`);
  });

  router.post('/admin/imports/:id/cancel', guardFor('POST', '/admin/imports/:id/cancel'), async (req, res) => {
    await cancelImport(svc, req.user!.id, idOf(req));
    res.redirect(303, `/admin/imports/${idOf(req)}`);
  });

  router.post('/admin/imports/:id/undo', guardFor('POST', '/admin/imports/:id/undo'), async (req, res) => {
    await undoImport(svc, req.user!.id, idOf(req));
    res.redirect(303, `/admin/imports/${idOf(req)}`);
  });

  router.get('/admin/imports/:id/errors', guardFor('GET', '/admin/imports/:id/errors'), async (req, res) => {
    const imp = await findImportOr404(svc, idOf(req));
    await auditReportDownload(svc, req.user!.id, imp.id, 'errors');
    await streamCsv(req, res, errorRowsQuery(svc.db, imp.id), {
      filename: `import-${imp.id}-errors.csv`,
      columns: [
        { key: 'row_no', header: 'row' },
        { key: 'email', header: 'e-mail address' },
        { key: 'problem', header: 'problem' },
      ],
    });
  });

  router.get('/admin/imports/:id/differences', guardFor('GET', '/admin/imports/:id/differences'), async (req, res) => {
    const imp = await findImportOr404(svc, idOf(req));
    await auditReportDownload(svc, req.user!.id, imp.id, 'differences');
    await streamCsv(req, res, differencesQuery(svc.db, imp.id), {
      filename: `import-${imp.id}-differences.csv`,
      columns: [
        { key: 'row_no', header: 'row' },
        { key: 'email', header: 'e-mail address' },
        { key: 'topic', header: 'topic' },
        { key: 'in_file', header: 'in the file' },
        { key: 'now', header: 'member’s own choice now' },
      ],
    });
  });

  return router;
}
