import type { AdoptionReport } from './adopt-go-estate.ts';

/** The count table: one line per Go table, every row carried, merged or left out with a reason. */
export function formatCountTable(report: AdoptionReport): string {
  const header = ['table', 'Go rows', 'carried', 'merged', 'not carried', 'added', 'rows now', 'note'];
  const lines = report.counts.map((c) => [
    c.table,
    String(c.found),
    String(c.carried),
    String(c.merged),
    String(c.notCarried),
    String(c.added),
    String(c.after),
    c.note,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => (line[i] ?? '').length)));
  const format = (cells: string[]) =>
    cells
      .map((cell, i) =>
        i === 0 || i === cells.length - 1 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [format(header), format(widths.map((w) => '-'.repeat(w))), ...lines.map(format)].join('\n');
}

/** What adoption does, step by step, for the dry run and the real run alike. */
export function formatAdoption(report: AdoptionReport, mode: 'dry-run' | 'applied'): string {
  const verb = mode === 'dry-run' ? 'would' : 'did';
  const personal = report.personalOrganizations.map(
    (org) =>
      `    ${org.orgId} "${org.name}"${org.ownerId ? ` (Owner: ${org.ownerId})` : ' (no Owner)'}: ${org.projectIds.join(', ')}`,
  );
  return [
    `Go service schema found (migrations 001–${report.goVersion} in public.schema_migrations).`,
    `Adoption ${verb}, in one transaction:`,
    "  1. check every Go row fits ktrlplane's schema (ids are DNS labels, settings are JSON objects, scopes are known)",
    '  2. move the Go tables and public.schema_migrations into schema ktrlplane_go_archive, unchanged',
    `  3. apply ktrlplane's migrations up to the core schema, map the rows in, apply the rest (${report.applied.length} in all)`,
    ...(personal.length > 0
      ? ['  4. give projects without an organization one per owner:', ...personal]
      : []),
    ...(report.grants.length > 0
      ? [
          `  ${personal.length > 0 ? 5 : 4}. grant again what other roles held on the Go tables:`,
          ...report.grants.map((g) => `    ${g}`),
        ]
      : []),
    '',
    formatCountTable(report),
    '',
    `Steps: ${report.steps.map((s) => `${s.step} ${s.ms} ms`).join('; ')}`,
    `Total: ${report.steps.reduce((n, s) => n + s.ms, 0)} ms`,
  ].join('\n');
}
