/** How a metric name reads to people: `storage_gb_hours` → `Storage GB-hours`, `api_calls` → `API calls`. */
export function metricLabel(metric: string): string {
  const text = metric
    .replace(/_hours$/, '-hours')
    .replaceAll('_', ' ')
    .replace(/\bgb\b/, 'GB')
    .replace(/\bapi\b/, 'API');
  return text.charAt(0).toUpperCase() + text.slice(1);
}
