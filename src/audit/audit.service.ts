import type { Db } from '../shared/db-types.js';
import { listAudit, listAuditActions, listAuditStaff, type AuditRow } from './audit.repository.js';
import { AuditQuery, auditFilter } from './audit.schemas.js';
import { auditActionName, auditSentence } from './audit.sentences.js';

export const AUDIT_PAGE_SIZE = 50;

/** The ids an entry names (request, topic, e-mail…), for whoever follows a trail: "Topic id: 3". */
function idsOf(details: unknown): [string, string][] {
  if (!details || typeof details !== 'object') return [];
  return Object.entries(details as Record<string, unknown>)
    .filter(([k, v]) => /Id$/.test(k) && (typeof v === 'string' || typeof v === 'number'))
    .map(([k, v]) => [
      `${k
        .slice(0, -2)
        .replace(/([A-Z])/g, ' $1')
        .toLowerCase()} id`.replace(/^./, (c) => c.toUpperCase()),
      String(v),
    ]);
}
const FIELDS = ['staff', 'member', 'action', 'from', 'to'] as const;
type Values = Record<(typeof FIELDS)[number], string>;

export interface AuditPage {
  values: Values;
  errors: Record<string, string>;
  entries: (AuditRow & { actionName: string; sentence: string; ids: [string, string][] })[];
  actions: { value: string; name: string }[];
  staffUsers: { id: string; name: string; role: string }[];
  page: number;
  /** The filters as query parameters, for pagination links. */
  kept: [string, string][];
  hasNext: boolean;
}

/**
 * One page of the audit log for the filters in the query string. Invalid filters list nothing and
 * say why per field; the choices of the filter form (actions, staff users) are always there.
 */
/** Takes any service context: only its database is read. */
export async function auditLogPage(svc: { db: Db }, query: Record<string, unknown>): Promise<AuditPage> {
  const raw = Object.fromEntries(FIELDS.map((f) => [f, typeof query[f] === 'string' ? (query[f] as string) : ''])) as Values;
  const parsed = AuditQuery.safeParse({ ...raw, page: query.page });
  const errors: Record<string, string> = {};
  if (!parsed.success) for (const issue of parsed.error.issues) errors[String(issue.path[0])] ??= issue.message;
  const values = parsed.success ? { ...parsed.data } : Object.fromEntries(FIELDS.map((f) => [f, raw[f].trim().slice(0, 200)]));
  const page = parsed.success ? parsed.data.page : 1;
  const rows = parsed.success
    ? await listAudit(svc.db, { ...auditFilter(parsed.data), limit: AUDIT_PAGE_SIZE + 1, offset: (page - 1) * AUDIT_PAGE_SIZE })
    : [];
  const [actions, staffUsers] = await Promise.all([listAuditActions(svc.db), listAuditStaff(svc.db)]);
  const shown = Object.fromEntries(FIELDS.map((f) => [f, String(values[f] ?? '')])) as Values;
  return {
    values: shown,
    errors,
    entries: rows.slice(0, AUDIT_PAGE_SIZE).map((e) => ({
      ...e,
      actionName: auditActionName(e.action),
      sentence: auditSentence(e.action, e.details),
      ids: idsOf(e.details),
    })),
    actions: actions.map((a) => ({ value: a, name: auditActionName(a) })).sort((a, b) => a.name.localeCompare(b.name)),
    staffUsers,
    page,
    kept: FIELDS.filter((f) => shown[f] !== '').map((f) => [f, shown[f]]),
    hasNext: rows.length > AUDIT_PAGE_SIZE,
  };
}
