import { type Kysely, sql } from 'kysely';

/**
 * System roles and permissions. Control-plane actions gate ktrlplane itself; data-plane actions
 * (digitaltwins/*, models/*, query/*, jobs/*) are read by the graph services through
 * /api/v1/permissions/check. Role ids are stable strings so data planes and tests can name them.
 */
const permissions: Array<[id: string, action: string, description: string]> = [
  ['read', 'read', 'See the scope and everything in it'],
  ['write', 'write', 'Create and change things in the scope'],
  ['delete', 'delete', 'Delete things in the scope'],
  ['manage_access', 'manage_access', 'Grant, change and revoke roles on the scope'],
  ['manage_billing', 'manage_billing', 'Manage the billing account and subscription'],
  [
    'check_permissions_on_behalf_of',
    'check_permissions_on_behalf_of',
    'Ask for the permissions of another user',
  ],
  ['digitaltwins-all', 'digitaltwins/*', 'Every action on digital twins'],
  ['models-all', 'models/*', 'Every action on models'],
  ['query-all', 'query/*', 'Every query action'],
  ['jobs-all', 'jobs/*', 'Every action on import and delete jobs'],
  ['digitaltwins-read', 'digitaltwins/read', 'Read digital twins'],
  ['digitaltwins-relationships-read', 'digitaltwins/relationships/read', 'Read relationships'],
  ['models-read', 'models/read', 'Read models'],
  ['query-action', 'query/action', 'Run queries'],
  ['jobs-read', 'jobs/read', 'Read jobs'],
];

const roles: Array<{
  id: string;
  name: string;
  display: string;
  description: string;
  hidden?: boolean;
  grants: string[];
}> = [
  {
    id: 'owner',
    name: 'Owner',
    display: 'Owner',
    description: 'Full control, including access and billing',
    grants: ['read', 'write', 'delete', 'manage_access', 'manage_billing'],
  },
  {
    id: 'editor',
    name: 'Editor',
    display: 'Editor',
    description: 'Read and change',
    grants: ['read', 'write'],
  },
  { id: 'viewer', name: 'Viewer', display: 'Viewer', description: 'Read only', grants: ['read'] },
  {
    id: 'digitaltwins-owner',
    name: 'Konnektr.DigitalTwins.Owner',
    display: 'Digital Twins Data Owner',
    description: 'Every data-plane action on a graph database',
    grants: ['digitaltwins-all', 'models-all', 'query-all', 'jobs-all'],
  },
  {
    id: 'digitaltwins-viewer',
    name: 'Konnektr.DigitalTwins.Viewer',
    display: 'Digital Twins Data Reader',
    description: 'Read twins, relationships, models and jobs, and run queries',
    grants: [
      'digitaltwins-read',
      'digitaltwins-relationships-read',
      'models-read',
      'query-action',
      'jobs-read',
    ],
  },
  {
    id: 'permission-checker',
    name: 'Service Account: Permission Checker',
    display: 'Service Account: Permission Checker',
    description: 'Lets a data plane ask for the permissions of the users who call it',
    hidden: true,
    grants: ['check_permissions_on_behalf_of'],
  },
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const [id, action, description] of permissions) {
    await sql`INSERT INTO ktrlplane.permissions (permission_id, action, description)
              VALUES (${id}, ${action}, ${description})`.execute(db);
  }
  for (const role of roles) {
    await sql`INSERT INTO ktrlplane.roles (role_id, name, display_name, description, is_system, is_hidden)
              VALUES (${role.id}, ${role.name}, ${role.display}, ${role.description}, true, ${role.hidden ?? false})`.execute(
      db,
    );
    for (const permissionId of role.grants) {
      await sql`INSERT INTO ktrlplane.role_permissions (role_id, permission_id)
                VALUES (${role.id}, ${permissionId})`.execute(db);
    }
  }
}
