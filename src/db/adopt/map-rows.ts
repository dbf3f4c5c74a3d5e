import { type Kysely, sql } from 'kysely';
import { type GoTable, goHas } from './go-schema.ts';
import { ADOPTION_ARCHIVE_SCHEMA } from './recognise.ts';

/**
 * Copies the Go service's rows (moved into schema ktrlplane_go_archive) into ktrlplane's schema,
 * mapping each column as deploy/switch-over.md ("How rows are mapped") describes. Runs in the
 * adoption transaction, after ktrlplane's migrations up to the core schema adoption targets.
 */

const A = ADOPTION_ARCHIVE_SCHEMA;

export interface AdoptionCount {
  table: string;
  /** Rows in the Go table. */
  found: number;
  /** Go rows now in ktrlplane's table under the same key. */
  carried: number;
  /** Go rows folded into another carried row (same action string, same role grant). */
  merged: number;
  /** Go rows left out, for the reason in `note` (they stay in the archive schema). */
  notCarried: number;
  /** Rows adoption created that the Go table did not have (personal organizations, ktrlplane's own roles). */
  added: number;
  /** Rows in ktrlplane's table afterwards. */
  after: number;
  note: string;
}

export interface PersonalOrganization {
  orgId: string;
  name: string;
  ownerId: string | null;
  projectIds: string[];
}

export interface MappedRows {
  personalOrganizations: PersonalOrganization[];
  hasBilling: boolean;
}

/** Go writes `timestamp without time zone` in UTC; NULL falls back to the other stamp, then now. */
function stamp(alias: string, table: GoTable, version: number, primary: string, fallback?: string): string {
  const parts = [primary, fallback]
    .filter((column): column is string => Boolean(column) && goHas(version, table, column as string))
    .map((column) => `(${alias}.${column} AT TIME ZONE 'UTC')`);
  return `coalesce(${[...parts, 'now()'].join(', ')})`;
}

/** Our names are 1–200 characters and not blank; Go's are up to 255 and may be blank. */
function displayName(column: string, id: string): string {
  return `CASE WHEN btrim(coalesce(${column}, '')) = '' THEN ${id} ELSE left(${column}, 200) END`;
}

async function run(db: Kysely<unknown>, query: string): Promise<void> {
  await sql.raw(query).execute(db);
}

async function count(db: Kysely<unknown>, query: string): Promise<number> {
  const result = await sql<{ n: number }>`SELECT (${sql.raw(query)})::int AS n`.execute(db);
  return result.rows[0]?.n ?? 0;
}

/** A DNS label of at most 63 characters ending in `suffix`, not among `taken`. */
function freeLabel(base: string, suffix: string, taken: Set<string>): string {
  for (let n = 1; ; n++) {
    const tail = n === 1 ? suffix : `${suffix}-${n}`;
    const head = base.slice(0, 63 - tail.length).replace(/-+$/, '');
    const label = `${head}${tail}`;
    if (!taken.has(label)) {
      taken.add(label);
      return label;
    }
  }
}

/**
 * Go allowed projects without an organization; ours always have one. Each owner (the user holding
 * Go's `Owner` role on the project) gets one organization for their organization-less projects,
 * and Owner on it with the same expiry, which gives them nothing on those projects they did not
 * have. Projects without an Owner go together into one organization nobody holds a role on.
 */
async function placeOrgLessProjects(db: Kysely<unknown>): Promise<PersonalOrganization[]> {
  const rows = await sql<{
    project_id: string;
    owner_id: string | null;
    expires_key: string | null;
    owner_label: string | null;
  }>`
    SELECT p.project_id, o.user_id AS owner_id, o.expires_at::text AS expires_key,
           coalesce(nullif(btrim(u.name), ''), nullif(btrim(u.email), ''), u.user_id) AS owner_label
    FROM ${sql.raw(A)}.projects p
    LEFT JOIN LATERAL (
      SELECT ra.user_id, ra.expires_at FROM ${sql.raw(A)}.role_assignments ra
      JOIN ${sql.raw(A)}.roles r ON r.role_id = ra.role_id
      WHERE ra.scope_type = 'project' AND ra.scope_id = p.project_id AND r.name = 'Owner'
      ORDER BY (ra.expires_at IS NULL) DESC, ra.expires_at DESC, ra.created_at NULLS LAST, ra.assignment_id
      LIMIT 1) o ON true
    LEFT JOIN ${sql.raw(A)}.users u ON u.user_id = o.user_id
    WHERE p.org_id IS NULL
    ORDER BY p.created_at NULLS LAST, p.project_id`.execute(db);
  if (rows.rows.length === 0) return [];

  const taken = new Set(
    (await sql<{ org_id: string }>`SELECT org_id FROM ${sql.raw(A)}.organizations`.execute(db)).rows.map(
      (row) => row.org_id,
    ),
  );
  const groups = new Map<string, PersonalOrganization>();
  for (const row of rows.rows) {
    const key = row.owner_id === null ? '' : `${row.owner_id}\u0000${row.expires_key ?? ''}`;
    let group = groups.get(key);
    if (!group) {
      group =
        row.owner_id === null
          ? {
              orgId: freeLabel('unowned-projects', '', taken),
              name: 'Projects without an owner (from the Go service)',
              ownerId: null,
              projectIds: [],
            }
          : {
              // The Go service's own convention for a self-service organization: <project id>-org.
              orgId: freeLabel(row.project_id, '-org', taken),
              name: `Personal projects of ${row.owner_label ?? row.owner_id}`.slice(0, 200),
              ownerId: row.owner_id,
              projectIds: [],
            };
      groups.set(key, group);
    }
    group.projectIds.push(row.project_id);
  }

  await run(
    db,
    'CREATE TEMP TABLE adopt_project_org (project_id text PRIMARY KEY, org_id text NOT NULL) ON COMMIT DROP',
  );
  const ownerRole = `(SELECT role_id FROM ${A}.roles WHERE name = 'Owner')`;
  for (const group of groups.values()) {
    const ids = sql.join(group.projectIds.map((id) => sql`${id}`));
    await sql`
      INSERT INTO ktrlplane.organizations (org_id, name, created_at, updated_at)
      SELECT ${group.orgId}, ${group.name},
             coalesce(min(p.created_at) AT TIME ZONE 'UTC', now()), coalesce(min(p.created_at) AT TIME ZONE 'UTC', now())
      FROM ${sql.raw(A)}.projects p WHERE p.project_id IN (${ids})`.execute(db);
    for (let i = 0; i < group.projectIds.length; i += 1000) {
      const chunk = group.projectIds.slice(i, i + 1000);
      await sql`INSERT INTO pg_temp.adopt_project_org (project_id, org_id)
                VALUES ${sql.join(chunk.map((id) => sql`(${id}, ${group.orgId})`))}`.execute(db);
    }
    if (group.ownerId !== null) {
      // Same expiry as the Owner assignment the group was formed by (they all share it).
      await sql`
        INSERT INTO ktrlplane.role_assignments (user_id, role_id, scope_type, scope_id, expires_at, created_by, created_at)
        SELECT ${group.ownerId}, ${sql.raw(ownerRole)}, 'organization', ${group.orgId},
               (SELECT ra.expires_at AT TIME ZONE 'UTC' FROM ${sql.raw(A)}.role_assignments ra
                  JOIN ${sql.raw(A)}.roles r ON r.role_id = ra.role_id
                 WHERE ra.scope_type = 'project' AND ra.scope_id = ${group.projectIds[0]} AND r.name = 'Owner'
                   AND ra.user_id = ${group.ownerId}
                 ORDER BY (ra.expires_at IS NULL) DESC, ra.expires_at DESC LIMIT 1),
               ${group.ownerId}, o.created_at
        FROM ktrlplane.organizations o WHERE o.org_id = ${group.orgId}`.execute(db);
    }
  }
  return [...groups.values()];
}

/** Whether a Go assignment's or billing account's scope still exists (Go never removed them). */
function scopeExists(alias: string): string {
  return `CASE ${alias}.scope_type
    WHEN 'organization' THEN EXISTS (SELECT 1 FROM ${A}.organizations o WHERE o.org_id = ${alias}.scope_id)
    WHEN 'project' THEN EXISTS (SELECT 1 FROM ${A}.projects p WHERE p.project_id = ${alias}.scope_id)
    WHEN 'resource' THEN EXISTS (SELECT 1 FROM ${A}.resources r WHERE r.resource_id = ${alias}.scope_id)
    ELSE true END`;
}

export async function mapGoRows(
  db: Kysely<unknown>,
  version: number,
  onStep: (step: string) => Promise<void>,
): Promise<MappedRows> {
  const v = version;

  // ——— users ———
  // Emails are unique (case-insensitively) here. Of the users sharing one, a real account keeps it
  // before a placeholder invitee, then the most recently updated; '' and addresses without a local
  // part become NULL. M2M clients (`<client id>@clients`) are service accounts.
  await run(
    db,
    `INSERT INTO ktrlplane.users (user_id, email, name, kind, created_at, updated_at)
     SELECT u.user_id,
            CASE WHEN u.clean_email IS NOT NULL AND position('@' in u.clean_email) > 1 AND u.email_rank = 1
                 THEN u.clean_email END,
            u.name,
            CASE WHEN u.user_id LIKE '%@clients' THEN 'service' ELSE 'user' END,
            ${stamp('u', 'users', v, 'created_at', 'updated_at')},
            ${stamp('u', 'users', v, 'updated_at', 'created_at')}
     FROM (SELECT x.*, nullif(btrim(x.email), '') AS clean_email,
                  row_number() OVER (
                    PARTITION BY lower(nullif(btrim(x.email), ''))
                    ORDER BY (lower(x.user_id) = lower(btrim(x.email))), x.updated_at DESC NULLS LAST,
                             x.created_at NULLS LAST, x.user_id) AS email_rank
           FROM ${A}.users x) u`,
  );
  await onStep('users');

  // ——— roles ———
  // Go's roles keep their ids (the data plane and production manifests name them). Where one of
  // ktrlplane's seeded roles has the same name, the seeded one is renamed so both fit (names are
  // unique); migration 0014, later in the same transaction, merges those into the Go ids.
  await run(
    db,
    `UPDATE ktrlplane.roles s SET name = s.name || ' (ktrlplane)'
     WHERE EXISTS (SELECT 1 FROM ${A}.roles g WHERE g.name = s.name AND g.role_id <> s.role_id)`,
  );
  await run(
    db,
    `INSERT INTO ktrlplane.roles (role_id, name, display_name, description, is_system, is_hidden, created_at)
     SELECT g.role_id, g.name, coalesce(g.display_name, g.name), coalesce(g.description, ''),
            coalesce(g.is_system, false), ${goHas(v, 'roles', 'is_hidden') ? 'coalesce(g.is_hidden, false)' : 'false'},
            ${stamp('g', 'roles', v, 'created_at', 'updated_at')}
     FROM ${A}.roles g
     ON CONFLICT (role_id) DO UPDATE SET name = EXCLUDED.name, display_name = EXCLUDED.display_name,
       description = EXCLUDED.description, is_system = EXCLUDED.is_system, is_hidden = EXCLUDED.is_hidden`,
  );

  // ——— permissions ———
  // Ours are unique by action string (the data plane matches strings, not ids). Go's are unique by
  // (resource_type, action): one Go id per action is kept — the control plane's if it has one,
  // else the lowest — and grants of the others point at it. ktrlplane's seeded permission with the
  // same action gives way to Go's id, its grants moved along.
  await run(
    db,
    `CREATE TEMP TABLE adopt_permission_map ON COMMIT DROP AS
     SELECT g.permission_id AS go_id, g.action,
            first_value(g.permission_id) OVER (
              PARTITION BY g.action ORDER BY (g.resource_type = 'Konnektr.KtrlPlane') DESC, g.permission_id) AS target_id
     FROM ${A}.permissions g`,
  );
  await run(
    db,
    `CREATE TEMP TABLE adopt_seed_grants ON COMMIT DROP AS
     SELECT DISTINCT rp.role_id, m.target_id
     FROM ktrlplane.role_permissions rp
     JOIN ktrlplane.permissions p ON p.permission_id = rp.permission_id
     JOIN (SELECT DISTINCT action, target_id FROM pg_temp.adopt_permission_map) m ON m.action = p.action
     WHERE p.permission_id <> m.target_id`,
  );
  await run(
    db,
    `DELETE FROM ktrlplane.permissions p
     USING (SELECT DISTINCT action, target_id FROM pg_temp.adopt_permission_map) m
     WHERE m.action = p.action AND p.permission_id <> m.target_id`,
  );
  await run(
    db,
    `INSERT INTO ktrlplane.permissions (permission_id, action, description)
     SELECT g.permission_id, g.action, coalesce(g.description, '')
     FROM ${A}.permissions g JOIN pg_temp.adopt_permission_map m ON m.go_id = g.permission_id
     WHERE m.target_id = m.go_id
     ON CONFLICT (permission_id) DO UPDATE SET action = EXCLUDED.action, description = EXCLUDED.description`,
  );
  await run(
    db,
    `INSERT INTO ktrlplane.role_permissions (role_id, permission_id)
     SELECT role_id, target_id FROM pg_temp.adopt_seed_grants
     UNION
     SELECT rp.role_id, m.target_id FROM ${A}.role_permissions rp
     JOIN pg_temp.adopt_permission_map m ON m.go_id = rp.permission_id
     ON CONFLICT DO NOTHING`,
  );
  await onStep('roles and permissions');

  // ——— organizations, and one for each owner's organization-less projects ———
  await run(
    db,
    `INSERT INTO ktrlplane.organizations (org_id, name, created_at, updated_at)
     SELECT o.org_id, ${displayName('o.name', 'o.org_id')},
            ${stamp('o', 'organizations', v, 'created_at', 'updated_at')},
            ${stamp('o', 'organizations', v, 'updated_at', 'created_at')}
     FROM ${A}.organizations o`,
  );
  const personalOrganizations = await placeOrgLessProjects(db);
  await onStep('organizations');

  // ——— projects ———
  const orgOf =
    personalOrganizations.length > 0
      ? 'coalesce(p.org_id, (SELECT m.org_id FROM pg_temp.adopt_project_org m WHERE m.project_id = p.project_id))'
      : 'p.org_id';
  await run(
    db,
    `INSERT INTO ktrlplane.projects (project_id, org_id, name, description, created_at, updated_at)
     SELECT p.project_id, ${orgOf}, ${displayName('p.name', 'p.project_id')},
            ${goHas(v, 'projects', 'description') ? "coalesce(p.description, '')" : "''"},
            ${stamp('p', 'projects', v, 'created_at', 'updated_at')},
            ${stamp('p', 'projects', v, 'updated_at', 'created_at')}
     FROM ${A}.projects p`,
  );
  await onStep('projects');

  // ——— resources ———
  // Type strings and settings exactly as they are (the operator's queries select on them); usage
  // and deployment history start now (status_changed_at), so nothing is billed for the past.
  const settings = goHas(v, 'resources', 'settings_json') ? 'r.settings_json' : 'r.helm_values';
  await run(
    db,
    `INSERT INTO ktrlplane.resources (resource_id, project_id, name, type, sku, status, settings_json,
                                      error_message, access_url, created_at, updated_at, status_changed_at)
     SELECT r.resource_id, r.project_id, ${displayName('r.name', 'r.resource_id')}, r.type,
            ${goHas(v, 'resources', 'sku') ? "coalesce(r.sku, 'free')" : "'free'"},
            coalesce(r.status, 'Pending'), coalesce(${settings}, '{}'::jsonb), r.error_message, r.access_url,
            ${stamp('r', 'resources', v, 'created_at', 'updated_at')},
            ${stamp('r', 'resources', v, 'updated_at', 'created_at')}, now()
     FROM ${A}.resources r`,
  );
  await onStep('resources');

  // ——— role assignments ———
  // assigned_by becomes created_by. Assignments whose scope no longer exists are left out: Go
  // never removed them when a scope was deleted, and here they would grant access to a new scope
  // that happened to take the same id.
  await run(
    db,
    `INSERT INTO ktrlplane.role_assignments (assignment_id, user_id, role_id, scope_type, scope_id, expires_at,
                                             created_by, created_at)
     SELECT ra.assignment_id, ra.user_id, ra.role_id, ra.scope_type, ra.scope_id,
            ra.expires_at AT TIME ZONE 'UTC', ra.assigned_by,
            ${stamp('ra', 'role_assignments', v, 'created_at', 'updated_at')}
     FROM ${A}.role_assignments ra
     WHERE ${scopeExists('ra')}`,
  );
  await onStep('role assignments');

  // ——— billing accounts ———
  const hasBilling = goHas(v, 'billing_accounts', 'scope_id');
  if (hasBilling) {
    await run(
      db,
      `INSERT INTO ktrlplane.billing_accounts (scope_type, scope_id, stripe_customer_id, stripe_subscription_id,
                                               created_at, updated_at)
       SELECT b.scope_type, b.scope_id, b.stripe_customer_id, b.stripe_subscription_id,
              ${stamp('b', 'billing_accounts', v, 'created_at', 'updated_at')},
              ${stamp('b', 'billing_accounts', v, 'updated_at', 'created_at')}
       FROM ${A}.billing_accounts b
       WHERE ${scopeExists('b')}`,
    );
  }
  await onStep('billing accounts');

  return { personalOrganizations, hasBilling };
}

/**
 * Counts every Go row against ktrlplane's tables after all of ktrlplane's migrations, not just the
 * mapping: the later ones seed and merge roles (0014) and add billing mirrors (0015), so the table
 * shows what the database holds at the end, and every Go row must still be accounted for there.
 */
export async function countRows(
  db: Kysely<unknown>,
  personal: PersonalOrganization[],
  hasBilling: boolean,
  legacyTables: string[],
): Promise<AdoptionCount[]> {
  const table = async (
    name: string,
    q: { found: string; carried: string; merged?: string; notCarried?: string; after: string },
    note: (c: Omit<AdoptionCount, 'note'>) => Promise<string> | string,
  ): Promise<AdoptionCount> => {
    const found = await count(db, q.found);
    const carried = await count(db, q.carried);
    const merged = q.merged ? await count(db, q.merged) : 0;
    const notCarried = q.notCarried ? await count(db, q.notCarried) : 0;
    const after = await count(db, q.after);
    const base = { table: name, found, carried, merged, notCarried, added: after - carried, after };
    return { ...base, note: await note(base) };
  };

  const counts: AdoptionCount[] = [];
  counts.push(
    await table(
      'users',
      {
        found: `SELECT count(*) FROM ${A}.users`,
        carried: `SELECT count(*) FROM ${A}.users g JOIN ktrlplane.users u USING (user_id)`,
        after: 'SELECT count(*) FROM ktrlplane.users',
      },
      async () => {
        const placeholders = await count(
          db,
          `SELECT count(*) FROM ${A}.users WHERE user_id LIKE '%@%' AND lower(user_id) = lower(btrim(email))`,
        );
        const cleared = await count(
          db,
          `SELECT count(*) FROM ${A}.users g JOIN ktrlplane.users u USING (user_id) WHERE u.email IS NULL`,
        );
        return `${placeholders} placeholder invitee(s) kept as users; ${cleared} without an email (empty, invalid or held by another user)`;
      },
    ),
  );
  counts.push(
    await table(
      'organizations',
      {
        found: `SELECT count(*) FROM ${A}.organizations`,
        carried: `SELECT count(*) FROM ${A}.organizations g JOIN ktrlplane.organizations o USING (org_id)`,
        after: 'SELECT count(*) FROM ktrlplane.organizations',
      },
      () =>
        personal.length > 0
          ? `added: ${personal.length} for projects without an organization (${personal.map((p) => p.orgId).join(', ')})`
          : '',
    ),
  );
  counts.push(
    await table(
      'projects',
      {
        found: `SELECT count(*) FROM ${A}.projects`,
        carried: `SELECT count(*) FROM ${A}.projects g JOIN ktrlplane.projects p USING (project_id)`,
        after: 'SELECT count(*) FROM ktrlplane.projects',
      },
      () => {
        const moved = personal.reduce((n, p) => n + p.projectIds.length, 0);
        return moved > 0 ? `${moved} without an organization placed in the added ones` : '';
      },
    ),
  );
  counts.push(
    await table(
      'resources',
      {
        found: `SELECT count(*) FROM ${A}.resources`,
        carried: `SELECT count(*) FROM ${A}.resources g JOIN ktrlplane.resources r USING (resource_id)`,
        after: 'SELECT count(*) FROM ktrlplane.resources',
      },
      async () => {
        const types = await sql<{ type: string; n: number }>`
          SELECT type, count(*)::int AS n FROM ${sql.raw(A)}.resources GROUP BY type ORDER BY type`.execute(
          db,
        );
        return types.rows.map((row) => `${row.n} ${row.type}`).join(', ');
      },
    ),
  );
  counts.push(
    await table(
      'roles',
      {
        found: `SELECT count(*) FROM ${A}.roles`,
        carried: `SELECT count(*) FROM ${A}.roles g JOIN ktrlplane.roles r USING (role_id)`,
        after: 'SELECT count(*) FROM ktrlplane.roles',
      },
      (c) => (c.added > 0 ? 'added: production roles the Go database lacked (seeded by migration 0014)' : ''),
    ),
  );
  counts.push(
    await table(
      'permissions',
      {
        found: `SELECT count(*) FROM ${A}.permissions`,
        carried: `SELECT count(*) FROM ${A}.permissions g JOIN ktrlplane.permissions p USING (permission_id)`,
        merged: `SELECT count(*) FROM pg_temp.adopt_permission_map m
                 WHERE m.go_id <> m.target_id AND EXISTS (SELECT 1 FROM ktrlplane.permissions p WHERE p.permission_id = m.target_id)`,
        after: 'SELECT count(*) FROM ktrlplane.permissions',
      },
      (c) =>
        [
          c.merged > 0 ? 'merged: the same action string under another resource type' : '',
          c.added > 0 ? 'added: seeded actions Go does not have (migrations 0014, 0009)' : '',
        ]
          .filter(Boolean)
          .join('; '),
    ),
  );
  const goGrant = `SELECT DISTINCT rp.role_id, m.target_id FROM ${A}.role_permissions rp JOIN pg_temp.adopt_permission_map m ON m.go_id = rp.permission_id`;
  counts.push(
    await table(
      'role_permissions',
      {
        found: `SELECT count(*) FROM ${A}.role_permissions`,
        carried: `SELECT count(*) FROM (${goGrant}) g JOIN ktrlplane.role_permissions rp ON rp.role_id = g.role_id AND rp.permission_id = g.target_id`,
        merged: `SELECT (SELECT count(*) FROM ${A}.role_permissions) - (SELECT count(*) FROM (${goGrant}) g)`,
        after: 'SELECT count(*) FROM ktrlplane.role_permissions',
      },
      (c) =>
        [
          c.merged > 0 ? 'merged: grants of merged permissions' : '',
          c.added > 0
            ? 'added: grants migration 0014 seeds (Owner/Data Owner jobs/imports/*, jobs/deletions/*; Owner usage/report; roles Go lacked)'
            : '',
        ]
          .filter(Boolean)
          .join('; '),
    ),
  );
  counts.push(
    await table(
      'role_assignments',
      {
        found: `SELECT count(*) FROM ${A}.role_assignments`,
        carried: `SELECT count(*) FROM ${A}.role_assignments g JOIN ktrlplane.role_assignments ra USING (assignment_id)`,
        notCarried: `SELECT count(*) FROM ${A}.role_assignments ra WHERE NOT (${scopeExists('ra')})`,
        after: 'SELECT count(*) FROM ktrlplane.role_assignments',
      },
      (c) =>
        [
          c.notCarried > 0 ? 'not carried: their scope was deleted' : '',
          c.added > 0 ? 'added: Owner of the organizations added for organization-less projects' : '',
        ]
          .filter(Boolean)
          .join('; '),
    ),
  );
  if (hasBilling)
    counts.push(
      await table(
        'billing_accounts',
        {
          found: `SELECT count(*) FROM ${A}.billing_accounts`,
          carried: `SELECT count(*) FROM ${A}.billing_accounts g JOIN ktrlplane.billing_accounts b
                    ON b.scope_type = g.scope_type AND b.scope_id = g.scope_id
                   AND b.stripe_customer_id IS NOT DISTINCT FROM g.stripe_customer_id
                   AND b.stripe_subscription_id IS NOT DISTINCT FROM g.stripe_subscription_id`,
          notCarried: `SELECT count(*) FROM ${A}.billing_accounts b WHERE NOT (${scopeExists('b')})`,
          after: 'SELECT count(*) FROM ktrlplane.billing_accounts',
        },
        (c) =>
          [
            c.notCarried > 0 ? 'not carried: their scope was deleted' : 'Stripe ids as they are',
            c.added > 0
              ? `added: ${c.added} mirror(s), scope project, of an organization's Stripe ids (migration 0015)`
              : '',
          ]
            .filter(Boolean)
            .join('; '),
      ),
    );
  for (const legacy of legacyTables) {
    const found = await count(db, `SELECT count(*) FROM ${A}.${legacy}`);
    counts.push({
      table: legacy,
      found,
      carried: 0,
      merged: 0,
      notCarried: found,
      added: 0,
      after: 0,
      note:
        legacy === 'resource_types'
          ? 'not carried: the type catalogue comes from the code'
          : 'not carried: deployment history starts at adoption',
    });
  }
  return counts;
}

/** Every Go row is carried, merged into one that is, or left out for a stated reason. */
export function unaccountedRows(counts: AdoptionCount[]): string[] {
  return counts
    .filter((c) => c.found !== c.carried + c.merged + c.notCarried)
    .map(
      (c) =>
        `${c.table}: ${c.found} found but ${c.carried} carried + ${c.merged} merged + ${c.notCarried} not carried`,
    );
}
