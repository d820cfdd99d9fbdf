import { KIND_NAMES } from '../consent/topics.schemas.js';
import type { TopicKind } from '../consent/consent.repository.js';
import type { ServiceContext } from '../context.js';
import { DASHBOARD_WEEKS, memberTotals, topicFigures, weeklyFigures } from './dashboard.repository.js';

/**
 * The dashboard (C10): counts only. Every figure is an aggregate of rows Assent keeps anyway
 * (consents, sign-ups, removal requests); nothing is tracked per visitor to make them, and no
 * name, address or per-person row reaches the page.
 */
export async function dashboardFigures(svc: ServiceContext) {
  const [topics, weeks, totals] = await Promise.all([topicFigures(svc.db), weeklyFigures(svc.db), memberTotals(svc.db)]);
  return {
    topics: topics.map((t) => ({ ...t, kindName: KIND_NAMES[t.kind as TopicKind] ?? t.kind })),
    weeks,
    weekCount: DASHBOARD_WEEKS,
    totals,
  };
}
