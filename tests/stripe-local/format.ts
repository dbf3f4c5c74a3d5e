/** How amounts and dates read on invoice lines and pages (English, UTC, like Stripe's defaults). */

const ZERO_DECIMAL = new Set([
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
]);

/** `1234` usd → `$12.34`; sub-cent unit prices keep their digits (`0.05` → `$0.0005`). */
export function formatMoney(minorUnits: number, currency: string): string {
  const digits = ZERO_DECIMAL.has(currency) ? 0 : 2;
  const major = minorUnits / 10 ** digits;
  const fraction = Number.isInteger(minorUnits) ? digits : Math.max(digits, decimalsOf(major));
  const text = Math.abs(major).toFixed(fraction);
  const sign = minorUnits < 0 ? '-' : '';
  const symbol = currency === 'usd' ? '$' : currency === 'eur' ? '€' : currency === 'gbp' ? '£' : '';
  return symbol ? `${sign}${symbol}${text}` : `${sign}${text} ${currency.toUpperCase()}`;
}

function decimalsOf(value: number): number {
  const text = String(value);
  const dot = text.indexOf('.');
  return dot === -1 ? 0 : Math.min(12, text.length - dot - 1);
}

/** `Mar 5, 2026` (UTC). */
export function formatDate(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toLocaleDateString('en-US', {
    month: 'short',
    day: 'numeric',
    year: 'numeric',
    timeZone: 'UTC',
  });
}
