/**
 * Server-rendered SVG time-series charts (line, area, bars) for every page that plots something:
 * billing usage and cost, API usage, error rates, latency.
 *
 * - A time x axis (UTC) and a y axis with the unit; several series; `v: null` is a gap (a line
 *   breaks, no bar is drawn) — missing data is never drawn as zero.
 * - Accessible: the SVG is role="img" labelled by its <title> and <desc> (a summary of each
 *   series), and a visually hidden table carries every value for screen readers.
 * - Hover (and arrow keys when focused) show the values at a time through the `chart`
 *   Alpine.data component in static-src/app.js (the CSP build: no inline expressions). The server
 *   hands it pre-formatted values in `data-chart`, so the browser only picks the nearest time.
 * - No inline `style` (our CSP forbids it): colours are SVG presentation attributes.
 */

export interface ChartPoint {
  t: Date;
  v: number | null;
}

export interface ChartSeries {
  name: string;
  /** Unit of the values, shown on the y axis and in tooltips (e.g. `API calls`, `USD`). */
  unit: string;
  points: ChartPoint[];
  /** Dashed for projections and other estimates. */
  dashed?: boolean;
}

export type ChartKind = 'line' | 'area' | 'bar';

export interface TimeSeriesChartProps {
  /** Unique on the page: prefixes the ids of the title, description and table. */
  id: string;
  title: string;
  /** One sentence about what the chart shows; the series summary is appended for screen readers. */
  description?: string;
  kind?: ChartKind;
  series: ChartSeries[];
  /** The x domain; defaults to the points' range (bars: plus one step). */
  from?: Date;
  to?: Date;
  /** Bars: the length of one bucket in ms (a day for daily usage); defaults to the smallest gap. */
  stepMs?: number;
  /** Size of the drawing in SVG units (it scales with the container): pick a width close to the
   * rendered one so the 12-unit labels read at about 12 px. Default 720 × 240. */
  width?: number;
  height?: number;
  /** Formats a value with its unit (tooltips, table, axis); the default is a compact number + unit. */
  formatValue?: (value: number, unit: string) => string;
  /** Text shown when no series has a value. */
  emptyText?: string;
}

const DEFAULT_WIDTH = 720;
const MARGIN = { top: 28, right: 16, bottom: 28, left: 60 };
/** Colour-blind-friendly palette (Okabe–Ito, darkened for contrast on white and slate). */
const PALETTE = ['#4f46e5', '#059669', '#d97706', '#db2777', '#0284c7', '#7c3aed', '#65a30d', '#dc2626'];

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TIME_STEPS = [
  MINUTE,
  5 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  7 * DAY,
  14 * DAY,
  30 * DAY,
];

const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 2 });
const precise = new Intl.NumberFormat('en-US', { maximumFractionDigits: 4 });

export function defaultFormatValue(value: number, unit: string): string {
  return `${Math.abs(value) >= 10_000 ? compact.format(value) : precise.format(value)} ${unit}`.trim();
}

/** "Nice" y ticks from 0 (or below, for negative data) to at least `max`: steps of 1, 2, 2.5 or 5 × 10ⁿ. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  const lo = Math.min(0, min);
  const hi = max > lo ? max : lo + 1;
  const rough = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * power >= rough) ?? 10) * power;
  const ticks: number[] = [];
  for (let v = Math.floor(lo / step) * step; v < hi + step * 0.999; v += step) {
    ticks.push(Number(v.toPrecision(12)));
    if (v >= hi) break;
  }
  return ticks;
}

/** Time ticks on UTC boundaries, at most `max` of them. */
export function timeTicks(from: number, to: number, max = 8): { ticks: number[]; step: number } {
  const span = Math.max(to - from, MINUTE);
  const step = TIME_STEPS.find((s) => span / s <= max) ?? Math.ceil(span / max / DAY) * DAY;
  const ticks: number[] = [];
  // Days (and longer) start at UTC midnight; shorter steps at their own multiples.
  const first = Math.ceil(from / step) * step;
  for (let t = first; t <= to; t += step) ticks.push(t);
  return { ticks, step };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function dayLabel(d: Date): string {
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;
}

function timeLabel(d: Date): string {
  return d.toISOString().slice(11, 16);
}

function tickLabel(t: number, step: number): string {
  const d = new Date(t);
  if (step >= DAY) return dayLabel(d);
  return d.getUTCHours() === 0 && d.getUTCMinutes() === 0 ? dayLabel(d) : timeLabel(d);
}

/** How a point's time reads in a tooltip or table row. */
function pointLabel(t: number, stepMs: number | undefined): string {
  const d = new Date(t);
  if (stepMs !== undefined && stepMs >= DAY) return `${dayLabel(d)} ${d.getUTCFullYear()}`;
  return `${dayLabel(d)} ${timeLabel(d)} UTC`;
}

interface Prepared {
  times: number[];
  /** values[series][timeIndex] */
  values: Array<Array<number | null>>;
}

/** Aligns every series on the union of their timestamps (a missing timestamp is a gap). */
function align(series: ChartSeries[]): Prepared {
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => p.t.getTime())))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const values = series.map((s) => {
    const row: Array<number | null> = times.map(() => null);
    for (const p of s.points) {
      const i = index.get(p.t.getTime());
      if (i !== undefined && p.v !== null && Number.isFinite(p.v)) row[i] = p.v;
    }
    return row;
  });
  return { times, values };
}

function smallestGap(times: number[]): number | undefined {
  let gap: number | undefined;
  for (let i = 1; i < times.length; i++) {
    const d = (times[i] as number) - (times[i - 1] as number);
    if (d > 0 && (gap === undefined || d < gap)) gap = d;
  }
  return gap;
}

const round = (n: number) => Math.round(n * 10) / 10;

/** A line's path, restarting (M) after every gap; isolated points are returned apart (drawn as dots). */
function linePaths(xs: number[], ys: Array<number | null>): { d: string; dots: Array<[number, number]> } {
  const parts: string[] = [];
  const dots: Array<[number, number]> = [];
  let run: Array<[number, number]> = [];
  const flush = () => {
    if (run.length === 1) dots.push(run[0] as [number, number]);
    else if (run.length > 1) parts.push(run.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x},${y}`).join(''));
    run = [];
  };
  ys.forEach((y, i) => {
    if (y === null) flush();
    else run.push([round(xs[i] as number), round(y)]);
  });
  flush();
  return { d: parts.join(''), dots };
}

function areaPaths(xs: number[], ys: Array<number | null>, baseline: number): string {
  const parts: string[] = [];
  let run: Array<[number, number]> = [];
  const flush = () => {
    if (run.length > 1) {
      const first = run[0] as [number, number];
      const last = run[run.length - 1] as [number, number];
      parts.push(
        `M${first[0]},${baseline}${run.map(([x, y]) => `L${x},${y}`).join('')}L${last[0]},${baseline}Z`,
      );
    }
    run = [];
  };
  ys.forEach((y, i) => {
    if (y === null) flush();
    else run.push([round(xs[i] as number), round(y)]);
  });
  flush();
  return parts.join('');
}

function summaryOf(
  s: ChartSeries,
  values: Array<number | null>,
  format: (v: number, u: string) => string,
): string {
  const present = values.filter((v): v is number => v !== null);
  if (present.length === 0) return `${s.name}: no data.`;
  const min = Math.min(...present);
  const max = Math.max(...present);
  const last = present[present.length - 1] as number;
  const gaps = values.length - present.length;
  return `${s.name}: from ${format(min, s.unit)} to ${format(max, s.unit)}, last ${format(last, s.unit)}${
    gaps > 0 ? `, ${gaps} point${gaps === 1 ? '' : 's'} without data` : ''
  }.`;
}

export function TimeSeriesChart(props: TimeSeriesChartProps) {
  const kind = props.kind ?? 'line';
  const height = props.height ?? 240;
  const WIDTH = props.width ?? DEFAULT_WIDTH;
  const format = props.formatValue ?? defaultFormatValue;
  const { times, values } = align(props.series);
  const stepMs = props.stepMs ?? smallestGap(times) ?? DAY;
  const bars = kind === 'bar';
  // Points on whole days (daily figures) read as dates, not as midnight times.
  const daily = stepMs >= DAY && times.every((t) => t % DAY === 0);
  const labelStep = bars || daily ? stepMs : undefined;

  const firstT = times[0] ?? props.from?.getTime() ?? 0;
  const lastT = times[times.length - 1] ?? props.to?.getTime() ?? firstT + DAY;
  const x0 = props.from?.getTime() ?? firstT;
  const x1Raw = props.to?.getTime() ?? (bars ? lastT + stepMs : lastT);
  const x1 = x1Raw > x0 ? x1Raw : x0 + (bars ? stepMs : HOUR);

  const present = values.flat().filter((v): v is number => v !== null);
  const hasData = present.length > 0;
  const yTicks = niceTicks(hasData ? Math.min(...present) : 0, hasData ? Math.max(...present) : 1);
  const yLo = yTicks[0] as number;
  const yHi = yTicks[yTicks.length - 1] as number;

  const plotLeft = MARGIN.left;
  const plotRight = WIDTH - MARGIN.right;
  const plotTop = MARGIN.top;
  const plotBottom = height - MARGIN.bottom;
  const xOf = (t: number) => plotLeft + ((t - x0) / (x1 - x0)) * (plotRight - plotLeft);
  const yOf = (v: number) => plotBottom - ((v - yLo) / (yHi - yLo)) * (plotBottom - plotTop);

  // Bars sit in their bucket [t, t + step); hover and lines use the bucket's middle for bars.
  const slotWidth = Math.max(1, xOf(x0 + stepMs) - xOf(x0));
  const xs = times.map((t) => (bars ? xOf(t) + slotWidth / 2 : xOf(t)));
  const { ticks: xTicks, step: xStep } = timeTicks(x0, x1);
  const units = [...new Set(props.series.map((s) => s.unit))];
  const axisUnit = units.join(' / ');

  const titleId = `${props.id}-title`;
  const descId = `${props.id}-desc`;
  const summary = props.series.map((s, i) => summaryOf(s, values[i] ?? [], format)).join(' ');
  const description = `${props.description ? `${props.description} ` : ''}From ${pointLabel(x0, stepMs)} to ${pointLabel(x1, stepMs)}. ${summary}`;

  const hoverData = {
    width: WIDTH,
    xs: xs.map(round),
    times: times.map((t) => pointLabel(t, labelStep)),
    series: props.series.map((s, i) => ({
      name: s.name,
      color: PALETTE[i % PALETTE.length],
      // null: the tooltip leaves the series out (or says "no data" when every series lacks one).
      values: (values[i] ?? []).map((v) => (v === null ? null : format(v, s.unit))),
    })),
  };

  const groupWidth = slotWidth * 0.8;
  const barWidth = Math.max(1, groupWidth / Math.max(1, props.series.length));

  return (
    <figure class="relative" data-testid={`chart-${props.id}`} data-chart-kind={kind}>
      <figcaption class="mb-1 flex flex-wrap items-baseline justify-between gap-2">
        <span class="text-sm font-medium">{props.title}</span>
        {props.series.length > 0 && (
          <span class="flex flex-wrap gap-3 text-xs text-slate-600 dark:text-slate-300">
            {props.series.map((s, i) => (
              <span class="inline-flex items-center gap-1">
                <svg viewBox="0 0 12 12" class="size-3" aria-hidden="true">
                  <rect width="12" height="12" rx="2" fill={PALETTE[i % PALETTE.length]} />
                </svg>
                {s.name}
                {s.dashed ? ' (estimate)' : ''}
              </span>
            ))}
          </span>
        )}
      </figcaption>
      <div
        class="relative"
        x-data="chart"
        data-chart={JSON.stringify(hoverData)}
        x-on:mousemove="move"
        x-on:mouseleave="leave"
        x-on:focus="focusFirst"
        x-on:blur="leave"
        x-on:keydown="key"
        tabindex={hasData ? 0 : undefined}
      >
        <svg
          x-ref="svg"
          viewBox={`0 0 ${WIDTH} ${height}`}
          class="h-auto w-full overflow-visible text-slate-500 dark:text-slate-400"
          role="img"
          aria-labelledby={`${titleId} ${descId}`}
        >
          <title id={titleId}>{props.title}</title>
          <desc id={descId}>{description}</desc>
          {/* Unit above the y axis. */}
          <text x="4" y={plotTop - 8} font-size="12" fill="currentColor">
            {axisUnit}
          </text>
          {yTicks.map((v) => (
            <g>
              <line
                x1={plotLeft}
                x2={plotRight}
                y1={round(yOf(v))}
                y2={round(yOf(v))}
                stroke="currentColor"
                stroke-opacity={v === 0 ? '0.5' : '0.15'}
              />
              <text
                x={plotLeft - 8}
                y={round(yOf(v)) + 4}
                text-anchor="end"
                font-size="12"
                fill="currentColor"
              >
                {compact.format(v)}
              </text>
            </g>
          ))}
          {xTicks.map((t) => (
            <g>
              <line
                x1={round(xOf(t))}
                x2={round(xOf(t))}
                y1={plotBottom}
                y2={plotBottom + 4}
                stroke="currentColor"
                stroke-opacity="0.5"
              />
              <text
                x={round(xOf(t))}
                y={plotBottom + 17}
                text-anchor="middle"
                font-size="12"
                fill="currentColor"
              >
                {tickLabel(t, xStep)}
              </text>
            </g>
          ))}
          {!hasData && (
            <text
              x={(plotLeft + plotRight) / 2}
              y={(plotTop + plotBottom) / 2}
              text-anchor="middle"
              font-size="13"
              fill="currentColor"
            >
              {props.emptyText ?? 'No data for this period'}
            </text>
          )}
          {props.series.map((s, i) => {
            const color = PALETTE[i % PALETTE.length] as string;
            const ys = (values[i] ?? []).map((v) => (v === null ? null : yOf(v)));
            if (bars) {
              return (
                <g fill={color}>
                  {ys.map((y, j) =>
                    // Nothing (null) and zero both draw no bar; the tooltip and table tell them apart.
                    y === null || values[i]?.[j] === 0 ? null : (
                      <rect
                        x={round(xOf(times[j] as number) + (slotWidth - groupWidth) / 2 + i * barWidth)}
                        y={round(Math.min(y, yOf(0)))}
                        width={round(barWidth)}
                        height={round(Math.max(Math.abs(yOf(0) - y), 0.5))}
                        rx="1.5"
                      />
                    ),
                  )}
                </g>
              );
            }
            const { d, dots } = linePaths(xs, ys);
            return (
              <g>
                {kind === 'area' && (
                  <path d={areaPaths(xs, ys, round(yOf(0)))} fill={color} fill-opacity="0.15" />
                )}
                <path
                  d={d}
                  fill="none"
                  stroke={color}
                  stroke-width="2"
                  stroke-linejoin="round"
                  stroke-linecap="round"
                  stroke-dasharray={s.dashed ? '6 4' : undefined}
                />
                {dots.map(([x, y]) => (
                  <circle cx={x} cy={y} r="2.5" fill={color} />
                ))}
              </g>
            );
          })}
          {/* The hover guide: where the tooltip's values are. */}
          <line
            x-cloak
            x-show="active"
            x-bind:x1="guide"
            x-bind:x2="guide"
            y1={plotTop}
            y2={plotBottom}
            stroke="currentColor"
            stroke-opacity="0.6"
            stroke-dasharray="3 3"
          />
        </svg>
        <div
          x-cloak
          x-show="active"
          x-bind:style="tipStyle"
          class="pointer-events-none absolute top-2 z-10 min-w-36 rounded-md border border-slate-200 bg-white/95 px-2.5 py-1.5 text-xs shadow-md dark:border-slate-700 dark:bg-slate-900/95"
          role="status"
          aria-live="polite"
        >
          <p class="font-medium" x-text="label" />
          <template x-for="row in rows" x-bind:key="row.name">
            <p class="flex items-center justify-between gap-3">
              <span class="inline-flex items-center gap-1">
                <span class="inline-block size-2 rounded-sm" x-bind:style="row.swatch" />
                <span x-text="row.name" />
              </span>
              <span class="tabular-nums" x-text="row.value" />
            </p>
          </template>
        </div>
      </div>
      {/* A table ignores sr-only's 1px size and would stretch the page: the wrapper clips it. */}
      <div class="sr-only">
        <table>
          <caption>{props.title}</caption>
          <thead>
            <tr>
              <th scope="col">Time (UTC)</th>
              {props.series.map((s) => (
                <th scope="col">{`${s.name} (${s.unit})`}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {times.map((t, j) => (
              <tr>
                <th scope="row">{pointLabel(t, labelStep)}</th>
                {props.series.map((s, i) => {
                  const v = values[i]?.[j] ?? null;
                  return <td>{v === null ? 'no data' : format(v, s.unit)}</td>;
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}

export function LineChart(props: Omit<TimeSeriesChartProps, 'kind'>) {
  return <TimeSeriesChart {...props} kind="line" />;
}

export function AreaChart(props: Omit<TimeSeriesChartProps, 'kind'>) {
  return <TimeSeriesChart {...props} kind="area" />;
}

export function BarChart(props: Omit<TimeSeriesChartProps, 'kind'>) {
  return <TimeSeriesChart {...props} kind="bar" />;
}
