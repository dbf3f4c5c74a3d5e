import { type Context, Hono } from 'hono';
import { listAuditEvents } from '../db/audit.repository.ts';
import { getOrganizationName } from '../db/organizations.repository.ts';
import type { AuditEvent } from '../db/types.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { requireAccess } from '../lib/auth-middleware.ts';
import { unprocessable } from '../lib/errors.ts';
import { fieldErrors, validate } from '../lib/forms.tsx';
import { representationFor, respond } from '../lib/negotiate.tsx';
import {
  AUDIT_FILTER_NAMES,
  AUDIT_PAGE_DEFAULT,
  type AuditFilterValues,
  auditQuery,
  encodeAuditCursor,
} from '../schemas/audit.ts';
import type { AuthorizedScope } from '../services/rbac.ts';
import {
  AuditLog,
  type AuditLogView,
  AuditPage,
  AuditRows,
  AuditRowsError,
} from '../views/pages/audit-page.tsx';

/** An organization's audit log: filters, keyset pagination, CSV export; page, fragment and JSON. */
export const auditRoutes = new Hono<AppEnv>();

/**
 * Most rows one CSV export holds. When more match, the response carries `X-Next-Cursor`: pass it
 * as `cursor=` with the same filters to export the next rows (or narrow the time range).
 */
export const AUDIT_CSV_MAX_ROWS = 10_000;

const CSV_COLUMNS = [
  'event_id',
  'occurred_at',
  'org_id',
  'actor_type',
  'actor_id',
  'actor_label',
  'action',
  'target_type',
  'target_id',
  'changes',
  'request_id',
  'ip',
  'user_agent',
] as const satisfies ReadonlyArray<keyof AuditEvent>;

/**
 * One CSV cell (RFC 4180: quoted when it holds a quote, comma or line break, quotes doubled).
 * Text a spreadsheet would run as a formula (starting with = + - @, or a tab or carriage return
 * that some of them skip first) gets a leading apostrophe, so an actor label or target id chosen
 * by an attacker cannot execute in the spreadsheet of the Owner who opens the export.
 */
export function csvCell(value: unknown): string {
  let text: string;
  if (value === null || value === undefined) text = '';
  else if (value instanceof Date) text = value.toISOString();
  else if (typeof value === 'object') text = JSON.stringify(value);
  else text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function auditCsv(events: AuditEvent[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const event of events) lines.push(CSV_COLUMNS.map((column) => csvCell(event[column])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** The filters as typed (trimmed, set ones only), for refilling the form and building links. */
function typedValues(query: Record<string, string>): AuditFilterValues {
  const values: AuditFilterValues = {};
  for (const name of AUDIT_FILTER_NAMES) {
    const value = query[name]?.trim();
    if (value) values[name] = value;
  }
  return values;
}

auditRoutes.get(
  '/organizations/:orgId/audit',
  // Only those who manage access (Owners) read the audit log: it shows members' emails and the IP
  // addresses and user agents they worked from, which every other member may not see.
  requireAccess('manage_access', 'organization', 'orgId'),
  async (c: Context<AppEnv>) => {
    const { db } = c.get('deps');
    const scope = c.get('scope') as AuthorizedScope<'organization'>;
    const query = c.req.query();
    const representation = representationFor(c);
    // "Load more" (htmx, with a cursor) wants rows to append; the filter form wants the whole log.
    const loadingMore = representation === 'fragment' && Boolean(query.cursor);
    const values = typedValues(query);
    const parsed = validate(auditQuery, query);

    const logView = async (extra: Partial<AuditLogView>): Promise<AuditLogView> => ({
      orgId: scope.orgId,
      orgName: await getOrganizationName(db, scope),
      permissions: [...scope.actions],
      values,
      limit: parsed.ok ? parsed.data.limit : AUDIT_PAGE_DEFAULT,
      events: [],
      nextCursor: null,
      csvLimit: AUDIT_CSV_MAX_ROWS,
      ...extra,
    });

    if (!parsed.ok) {
      if (representation === 'json' || query.format === 'csv') {
        throw unprocessable(parsed.errors, 'Some query parameters are invalid; see errors.');
      }
      if (loadingMore) {
        return c.html(
          <AuditRowsError message="This page link is no longer valid. Apply the filters again to start from the newest events." />,
          422,
        );
      }
      const view = await logView({ errors: fieldErrors(parsed.errors) });
      return respond(c, view, representation === 'fragment' ? AuditLog : AuditPage, {
        title: 'Audit log',
        status: 422,
      });
    }

    const input = parsed.data;
    const filters = {
      actor: input.actor,
      action: input.action,
      target: input.target,
      from: input.from?.start,
      to: input.to?.end,
    };

    if (input.format === 'csv') {
      const page = await listAuditEvents(db, scope, filters, {
        cursor: input.cursor,
        limit: AUDIT_CSV_MAX_ROWS,
      });
      const headers: Record<string, string> = {
        'Content-Type': 'text/csv; charset=utf-8',
        'Content-Disposition': `attachment; filename="audit-${scope.orgId}.csv"`,
        // Members' emails and IPs: no shared cache may keep a copy.
        'Cache-Control': 'private, no-store',
      };
      if (page.next) headers['X-Next-Cursor'] = encodeAuditCursor(page.next);
      return c.body(auditCsv(page.events), 200, headers);
    }

    const page = await listAuditEvents(db, scope, filters, { cursor: input.cursor, limit: input.limit });
    const nextCursor = page.next ? encodeAuditCursor(page.next) : null;
    c.header('Cache-Control', 'private, no-store');
    if (representation === 'json') return c.json({ events: page.events, next_cursor: nextCursor });
    if (loadingMore) {
      return c.html(
        <AuditRows
          orgId={scope.orgId}
          values={values}
          limit={input.limit}
          events={page.events}
          nextCursor={nextCursor}
        />,
      );
    }
    const view = await logView({
      events: page.events,
      nextCursor,
      ...(input.cursor && query.cursor ? { cursor: query.cursor } : {}),
    });
    return respond(c, view, representation === 'fragment' ? AuditLog : AuditPage, { title: 'Audit log' });
  },
);
