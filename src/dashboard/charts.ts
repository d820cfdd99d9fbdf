import { scaleLinear } from 'd3-scale';
import { line } from 'd3-shape';

/**
 * Line charts drawn on the server as SVG (issue 13.8): d3-scale and d3-shape compute the geometry,
 * views/admin/dashboard/_chart.ejs writes the markup. No script reaches the browser; the page keeps
 * the figures as a table for screen readers, and the SVG carries a title and a description.
 */

export interface ChartSeries {
  name: string;
  /** One value per point on the x axis, oldest first. */
  values: number[];
}

export interface ChartLine {
  name: string;
  /** The SVG path. */
  d: string;
  colour: string;
  /** stroke-dasharray, so lines differ by more than colour. */
  dash: string;
  /** The newest value, shown in the legend. */
  latest: number;
}

export interface LineChart {
  id: string;
  title: string;
  description: string;
  width: number;
  height: number;
  plot: { left: number; right: number; top: number; bottom: number };
  lines: ChartLine[];
  yTicks: { y: number; label: string }[];
  xTicks: { x: number; label: string }[];
}

/** Colours with at least 3:1 contrast against white (WCAG 1.4.11), told apart by dash as well. */
const PALETTE = ['#1f5fa8', '#b3261e', '#2e7d32', '#6a3d9a', '#8a4b00', '#00695c', '#ad1457', '#424242'];
const DASHES = ['', '7 4', '2 3', '9 3 2 3'];

const WIDTH = 720;
const HEIGHT = 240;
const MARGIN = { left: 48, right: 16, top: 12, bottom: 28 };

const monthName = new Intl.DateTimeFormat('en-GB', { month: 'short', timeZone: 'UTC' });

/**
 * Month labels for a weekly axis: a tick at the first week that starts in a new month, named by
 * the month, with the year on the first tick and where the year turns.
 */
function monthTicks(weekStarts: string[], x: (i: number) => number): { x: number; label: string }[] {
  const ticks: { x: number; label: string }[] = [];
  weekStarts.forEach((starts, i) => {
    const month = starts.slice(0, 7);
    if (i === 0 || month === weekStarts[i - 1]!.slice(0, 7)) return;
    const name = monthName.format(new Date(`${starts}T00:00:00Z`));
    const label = ticks.length === 0 || month.endsWith('-01') ? `${name} ${month.slice(0, 4)}` : name;
    ticks.push({ x: x(i), label });
  });
  return ticks;
}

/** Lays out one line per series over a weekly x axis (`weekStarts`, oldest first, YYYY-MM-DD). */
export function weeklyLineChart(opts: {
  id: string;
  title: string;
  description: string;
  weekStarts: string[];
  series: ChartSeries[];
}): LineChart {
  const plot = { left: MARGIN.left, right: WIDTH - MARGIN.right, top: MARGIN.top, bottom: HEIGHT - MARGIN.bottom };
  const count = opts.weekStarts.length;
  const xScale = scaleLinear()
    .domain([0, Math.max(count - 1, 1)])
    .range([plot.left, plot.right]);
  const highest = Math.max(0, ...opts.series.flatMap((s) => s.values));
  const yScale = scaleLinear()
    .domain([0, Math.max(highest, 4)])
    .nice(4)
    .range([plot.bottom, plot.top]);
  const draw = line<number>()
    .x((_, i) => round(xScale(i)))
    .y((v) => round(yScale(v)));
  const lines = opts.series.map((s, i) => ({
    name: s.name,
    d: draw(s.values) ?? '',
    colour: PALETTE[i % PALETTE.length] as string,
    dash: DASHES[(i + Math.floor(i / PALETTE.length)) % DASHES.length] as string,
    latest: s.values[s.values.length - 1] ?? 0,
  }));
  const yTicks = yScale
    .ticks(4)
    .filter((v) => Number.isInteger(v))
    .map((v) => ({ y: round(yScale(v)), label: v.toLocaleString('en-GB') }));
  return {
    id: opts.id,
    title: opts.title,
    description: opts.description,
    width: WIDTH,
    height: HEIGHT,
    plot,
    lines,
    yTicks,
    xTicks: monthTicks(opts.weekStarts, (i) => round(xScale(i))),
  };
}

const round = (n: number) => Math.round(n * 10) / 10;
