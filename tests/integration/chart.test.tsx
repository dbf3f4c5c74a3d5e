import { describe, expect, it } from 'vitest';
import { niceTicks, TimeSeriesChart, timeTicks } from '../../src/views/components/chart.tsx';

const DAY = 86_400_000;
const day = (n: number) => new Date(Date.UTC(2026, 10, 1) + n * DAY);

async function render(node: unknown): Promise<string> {
  return String(await (node as Promise<string> | string));
}

function hoverData(html: string) {
  const match = html.match(/data-chart="([^"]*)"/);
  const json = (match?.[1] ?? '').replaceAll('&quot;', '"').replaceAll('&amp;', '&');
  return JSON.parse(json) as {
    xs: number[];
    times: string[];
    series: Array<{ name: string; values: Array<string | null> }>;
  };
}

describe('TimeSeriesChart', () => {
  it('picks nice y ticks and UTC time ticks', () => {
    expect(niceTicks(0, 87)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(-5, 5)).toEqual([-6, -4, -2, 0, 2, 4, 6]);
    expect(niceTicks(0, 0)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    const { ticks, step } = timeTicks(day(0).getTime(), day(30).getTime());
    expect(step).toBe(7 * DAY);
    expect(ticks.every((t) => t % DAY === 0)).toBe(true);
    expect(timeTicks(day(0).getTime(), day(0).getTime() + 6 * 3_600_000).step).toBe(3_600_000);
  });

  it('breaks a line at null (a gap, never a zero) and draws an isolated point as a dot', async () => {
    const html = await render(
      <TimeSeriesChart
        id="calls"
        title="API calls"
        series={[
          {
            name: 'Requests',
            unit: 'calls',
            points: [
              { t: day(0), v: 10 },
              { t: day(1), v: 20 },
              { t: day(2), v: null },
              { t: day(3), v: 40 },
              { t: day(4), v: null },
              { t: day(5), v: 30 },
              { t: day(6), v: 50 },
            ],
          },
        ]}
      />,
    );
    const paths = [...html.matchAll(/<path d="([^"]*)" fill="none"/g)].map((m) => m[1] ?? '');
    expect(paths).toHaveLength(1);
    // Two runs (days 0–1 and 5–6): two move-tos; day 3 stands alone as a circle.
    expect(paths[0]?.match(/M/g)).toHaveLength(2);
    expect(html.match(/<circle /g)).toHaveLength(1);
    const data = hoverData(html);
    expect(data.series[0]?.values).toEqual([
      '10 calls',
      '20 calls',
      null,
      '40 calls',
      null,
      '30 calls',
      '50 calls',
    ]);
    expect(html).toContain('<td>no data</td>');
    expect(data.xs).toHaveLength(7);
  });

  it('is accessible: role img labelled by title and desc, and a table with every value', async () => {
    const html = await render(
      <TimeSeriesChart
        id="cost"
        title="Cost so far"
        description="Cumulative cost this period."
        series={[
          {
            name: 'Cost',
            unit: 'USD',
            points: [
              { t: day(0), v: 1.5 },
              { t: day(1), v: 3 },
            ],
          },
          {
            name: 'Projected',
            unit: 'USD',
            dashed: true,
            points: [
              { t: day(1), v: 3 },
              { t: day(2), v: 4.5 },
            ],
          },
        ]}
      />,
    );
    expect(html).toContain('role="img"');
    expect(html).toContain('aria-labelledby="cost-title cost-desc"');
    expect(html).toContain('<title id="cost-title">Cost so far</title>');
    expect(html).toMatch(
      /<desc id="cost-desc">Cumulative cost this period\. From .*Cost: from 1\.5 USD to 3 USD, last 3 USD, 1 point without data\./,
    );
    expect(html).toContain('<div class="sr-only"><table>');
    expect(html).toContain('<th scope="col">Projected (USD)</th>');
    expect(html.match(/<tr>/g)).toHaveLength(4); // header + 3 times
    expect(html).toContain('stroke-dasharray="6 4"');
    // y axis unit and the hover component, no inline style (CSP).
    expect(html).toContain('>USD</text>');
    expect(html).toContain('x-data="chart"');
    expect(html).not.toMatch(/ style="/);
  });

  it('draws bars per bucket, skips null buckets and says when there is no data', async () => {
    const bars = await render(
      <TimeSeriesChart
        id="daily"
        kind="bar"
        title="Daily"
        stepMs={DAY}
        from={day(0)}
        to={day(4)}
        series={[
          {
            name: 'Instance-hours',
            unit: 'h',
            points: [
              { t: day(0), v: 24 },
              { t: day(1), v: null },
              { t: day(3), v: 12 },
            ],
          },
        ]}
      />,
    );
    expect(bars.match(/<rect x=/g)).toHaveLength(2);
    expect(hoverData(bars).times).toEqual(['Nov 1 2026', 'Nov 2 2026', 'Nov 4 2026']);

    const empty = await render(
      <TimeSeriesChart
        id="none"
        title="Nothing"
        series={[{ name: 'A', unit: 'u', points: [] }]}
        from={day(0)}
        to={day(1)}
      />,
    );
    expect(empty).toContain('No data for this period');
    expect(empty).not.toContain('tabindex');
  });
});
