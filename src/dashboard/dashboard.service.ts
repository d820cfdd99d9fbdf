import { KIND_NAMES } from '../consent/topics.schemas.js';
import type { TopicKind } from '../consent/consent.repository.js';
import type { ServiceContext } from '../context.js';
import { weeklyLineChart } from './charts.js';
import { DASHBOARD_WEEKS, memberTotals, topicFigures, topicSeries, weeklyFigures } from './dashboard.repository.js';

/**
 * The dashboard (C10): counts only. Every figure is an aggregate of rows Assent keeps anyway
 * (consents, the consent ledger, sign-ups, removal requests); nothing is tracked per visitor to
 * make them, and no name, address or per-person row reaches the page.
 */
export async function dashboardFigures(svc: ServiceContext) {
  const [topics, weeks, series, totals] = await Promise.all([
    topicFigures(svc.db),
    weeklyFigures(svc.db),
    topicSeries(svc.db),
    memberTotals(svc.db),
  ]);
  const oldestFirst = [...weeks].reverse();
  const weekStarts = oldestFirst.map((w) => w.starts);
  const span = weekStarts.length > 0 ? `from the week of ${weekStarts[0]} to the week of ${weekStarts[weekStarts.length - 1]}` : '';
  const activity = weeklyLineChart({
    id: 'chart-activity',
    title: `Sign-ups, removals and opt-outs per week, last ${DASHBOARD_WEEKS} weeks`,
    description: `Three lines, ${span} (weeks start on Monday, UTC): sign-ups confirmed, removal requests made, and opt-outs from a topic. The table below the chart gives every figure.`,
    weekStarts,
    series: [
      { name: 'Sign-ups confirmed', values: oldestFirst.map((w) => w.signups) },
      { name: 'Removals requested', values: oldestFirst.map((w) => w.removals_requested) },
      { name: 'Opt-outs', values: oldestFirst.map((w) => w.opt_outs) },
    ],
  });
  const seriesByTopic = new Map(series.map((s) => [s.topic_id, s]));
  const charted = topics.filter((t) => !t.retired || (seriesByTopic.get(t.id)?.opted_in.some((n) => n > 0) ?? false));
  const optedIn = weeklyLineChart({
    id: 'chart-topics',
    title: `Members opted in to each topic, last ${DASHBOARD_WEEKS} weeks`,
    description: `One line per topic, ${span}: how many members were opted in at the end of each week. The topics table gives today's figures.`,
    weekStarts,
    series: charted.map((t) => ({
      name: t.retired ? `${t.name} (retired)` : t.name,
      values: seriesByTopic.get(t.id)?.opted_in ?? weekStarts.map(() => 0),
    })),
  });
  return {
    topics: topics.map((t) => ({ ...t, kindName: KIND_NAMES[t.kind as TopicKind] ?? t.kind })),
    weeks,
    weekCount: DASHBOARD_WEEKS,
    totals,
    charts: { activity, optedIn },
  };
}
