import { z } from 'zod';
import { isUuid } from '../shared/ids.js';
import { singleLineText } from '../shared/http/text.js';
import type { AuditFilter } from './audit.repository.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** A calendar date (YYYY-MM-DD, as an <input type="date"> sends it) as the start of that UTC day. */
export function utcDay(value: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return undefined;
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return date.toISOString().slice(0, 10) === value ? date : undefined;
}

const text = (max: number) => singleLineText().max(max).optional().default('');

/**
 * The audit log's filters from the query string (C11). Bad values are field errors on the page,
 * never a database error: no control characters, the staff user and member are ids, the dates
 * calendar days (UTC), "to" included.
 */
export const AuditQuery = z
  .object({
    staff: text(200).refine((v) => v === '' || isUuid(v), 'Choose a staff user from the list.'),
    member: text(200).refine(
      (v) => v === '' || isUuid(v),
      'Enter a member id like 0b9f3c1e-5d2a-4c7b-9e61-2f0a8d4b7c35, or leave it empty.',
    ),
    action: text(200),
    from: text(20).refine((v) => v === '' || utcDay(v) !== undefined, 'Enter the date as YYYY-MM-DD, for example 2026-11-01.'),
    to: text(20).refine((v) => v === '' || utcDay(v) !== undefined, 'Enter the date as YYYY-MM-DD, for example 2026-11-30.'),
    page: z.coerce.number().int().min(1).max(100000).catch(1),
  })
  .refine((q) => !q.from || !q.to || utcDay(q.to)! >= utcDay(q.from)!, {
    message: 'The "to" date must not be before the "from" date.',
    path: ['to'],
  });
export type AuditQuery = z.infer<typeof AuditQuery>;

/** The repository's filter for a valid query. */
export function auditFilter(q: AuditQuery): AuditFilter {
  const filter: AuditFilter = {};
  if (q.action) filter.action = q.action.slice(0, 100);
  if (q.staff) filter.staffUserId = q.staff;
  if (q.member) filter.memberId = q.member.toLowerCase();
  if (q.from) filter.from = utcDay(q.from);
  if (q.to) filter.before = new Date(utcDay(q.to)!.getTime() + DAY_MS);
  return filter;
}
