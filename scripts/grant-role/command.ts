import { parseArgs } from 'node:util';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/db/types.ts';
import { AppError } from '../../src/lib/errors.ts';
import type { AuditActor } from '../../src/services/audit.ts';
import {
  type GrantScope,
  type GrantSubject,
  grantRoleAsOperator,
} from '../../src/services/operator-grants.ts';

export const USAGE = `Usage: npm run grant-role -- (--client <M2M client id> | --user <user id>) --role <role id or name> --scope <scope> [--expires <ISO date>]

  --client   an M2M client (client-credentials tokens); the grant goes to its service account <client id>@clients
  --user     a user who has signed in (their OIDC sub, or local|… for a local account)
  --role     e.g. service-account-permission-checker, service-account-usage-reporter, Konnektr.Data.Owner
  --scope    global | organization/<id> | project/<id> | resource/<id>
  --expires  when the role stops granting anything (default: never)

Example (let the Graph data plane check permissions on behalf of its callers):
  npm run grant-role -- --client <graph client id> --role service-account-permission-checker --scope global`;

/** Who the audit log names for grants made with this command. */
const COMMAND_ACTOR: AuditActor = {
  actorType: 'system',
  actorId: null,
  actorLabel: 'npm run grant-role',
  requestId: null,
  ip: null,
  userAgent: null,
};

class UsageError extends Error {}

function parseScope(text: string): GrantScope {
  if (text === 'global') return { type: 'global' };
  const match = /^(organization|project|resource)[/:](.+)$/.exec(text);
  if (!match?.[1] || !match[2]) {
    throw new UsageError(
      `--scope "${text}" is not global, organization/<id>, project/<id> or resource/<id>.`,
    );
  }
  return { type: match[1] as 'organization' | 'project' | 'resource', id: match[2] };
}

function parse(argv: string[]): {
  subject: GrantSubject;
  role: string;
  scope: GrantScope;
  expiresAt: Date | null;
} {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        client: { type: 'string' },
        user: { type: 'string' },
        role: { type: 'string' },
        scope: { type: 'string' },
        expires: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const client = typeof values.client === 'string' ? values.client.trim() : '';
  const user = typeof values.user === 'string' ? values.user.trim() : '';
  if (Boolean(client) === Boolean(user)) throw new UsageError('Give exactly one of --client and --user.');
  if (typeof values.role !== 'string' || !values.role.trim()) throw new UsageError('--role is required.');
  if (typeof values.scope !== 'string')
    throw new UsageError('--scope is required (global for service accounts).');
  let expiresAt: Date | null = null;
  if (typeof values.expires === 'string') {
    expiresAt = new Date(values.expires);
    if (Number.isNaN(expiresAt.getTime()))
      throw new UsageError(`--expires "${values.expires}" is not a date.`);
  }
  return {
    subject: client
      ? { kind: 'client', clientId: client.replace(/@clients$/, '') }
      : { kind: 'user', userId: user },
    role: values.role.trim(),
    scope: parseScope(values.scope.trim()),
    expiresAt,
  };
}

/**
 * `npm run grant-role`: grants a role (hidden service-account roles included) through the same
 * service as every other grant, so it is audited. Answers the exit code and what to print.
 */
export async function grantRoleCommand(
  argv: string[],
  deps: { db: Kysely<Database>; now: Date },
): Promise<{ code: number; output: string }> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    if (error instanceof UsageError) return { code: 2, output: `${error.message}\n\n${USAGE}` };
    throw error;
  }
  try {
    const { assignment, created, roleName } = await grantRoleAsOperator(
      deps.db,
      { subject: parsed.subject, role: parsed.role, scope: parsed.scope, expiresAt: parsed.expiresAt },
      COMMAND_ACTOR,
      deps.now,
    );
    const where = `${assignment.scope_type}${assignment.scope_type === 'global' ? '' : `/${assignment.scope_id}`}`;
    const until = assignment.expires_at ? ` until ${assignment.expires_at.toISOString()}` : '';
    return {
      code: 0,
      output: `${created ? 'Granted' : 'Already granted (expiry refreshed)'}: ${roleName} (${assignment.role_id}) to ${assignment.user_id} at ${where}${until}; assignment ${assignment.assignment_id}, recorded in the audit log.`,
    };
  } catch (error) {
    if (error instanceof AppError) {
      const details = error.errors.map((e) => `  ${e.message}`).join('\n');
      return { code: 1, output: details ? `${error.detail}\n${details}` : error.detail };
    }
    throw error;
  }
}
