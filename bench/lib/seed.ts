/** Seeds a benchmark database: one user holding a role on organizations, and an API token. */
import type { Kysely } from 'kysely';
import { insertApiToken } from '../../src/db/api-tokens.repository.ts';
import type { Database } from '../../src/db/types.ts';
import { randomToken, sha256Hex } from '../../src/lib/crypto.ts';
import { API_TOKEN_PREFIX } from '../../src/services/authentication.ts';

export const BENCH_USER = 'bench-user';

export interface BenchTenant {
  /** The bearer value of the user's API token. */
  token: string;
  tokenHash: string;
}

export async function seedBenchTenant(
  db: Kysely<Database>,
  options: { orgIds: string[]; roleId: string; access: 'read' | 'read-write' },
): Promise<BenchTenant> {
  const now = new Date();
  await db
    .insertInto('ktrlplane.users')
    .values({ user_id: BENCH_USER, email: 'bench@example.com', name: 'Bench' })
    .execute();
  for (const orgId of options.orgIds) {
    await db.insertInto('ktrlplane.organizations').values({ org_id: orgId, name: orgId }).execute();
    await db
      .insertInto('ktrlplane.role_assignments')
      .values({
        user_id: BENCH_USER,
        role_id: options.roleId,
        scope_type: 'organization',
        scope_id: orgId,
        expires_at: null,
        created_by: null,
      })
      .execute();
  }
  const token = `${API_TOKEN_PREFIX}${randomToken()}`;
  const tokenHash = await sha256Hex(token);
  await insertApiToken(db, {
    token_id: 'tok-bench',
    token_hash: tokenHash,
    user_id: BENCH_USER,
    name: 'bench',
    scope_type: null,
    scope_id: null,
    access: options.access,
    created_at: now,
    expires_at: null,
    // Recent, so the benchmarked requests do not write the token's last use.
    last_used_at: now,
    revoked_at: null,
  });
  return { token, tokenHash };
}
