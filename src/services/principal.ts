import type { TokenAccess } from '../db/types.ts';

/** Who is calling: a user (or service account), and the credential they came with. */
export interface Principal {
  userId: string;
  email: string | null;
  name: string | null;
  kind: 'user' | 'service';
  isPlatformAdmin: boolean;
  via: 'session' | 'api-token' | 'oidc';
  /** Set when `via` is 'session': the hash of the session token (for sign-out and rotation). */
  sessionHash?: string;
  /** Set when `via` is 'api-token': what the token is limited to. */
  token?: {
    tokenId: string;
    scopeType: 'organization' | 'project' | null;
    scopeId: string | null;
    access: TokenAccess;
  };
}

/** How a principal is named in audit events and pages. */
export function principalLabel(principal: Principal): string {
  return principal.email ?? principal.name ?? principal.userId;
}
