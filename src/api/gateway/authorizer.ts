/**
 * @module api/gateway/authorizer
 * The question the gateway asks before every handler: may this principal do these things?
 * The IAM policy engine (src/auth/policy, wired in src/main) answers it; `baseAuthorizer` is Eucalyptus's rule for a
 * cloud with no policies at all (the cloud admin and each account's admin are allowed everything in their reach; other
 * users are denied by default), which the policy engine extends.
 */
import type { AuthzRequest, Principal } from '../../shared/index.js';
import type { RequestContext } from './contract.js';

export type AuthzDecision =
  | { allowed: true }
  | { allowed: false; explicitDeny: boolean; action: string; resource: string; reason?: string };

export interface Authorizer {
  authorize(principal: Principal, requests: AuthzRequest[], ctx: RequestContext): Promise<AuthzDecision>;
}

/** Eucalyptus's evaluation with no policies attached anywhere: admin rules, then default deny. */
export const baseAuthorizer: Authorizer = {
  authorize(principal, requests) {
    for (const r of requests) {
      const sameAccount = r.resourceAccount === undefined || r.resourceAccount === principal.accountId;
      const ok = principal.isCloudAdmin || (principal.isAccountAdmin && sameAccount);
      if (!ok) return Promise.resolve({ allowed: false, explicitDeny: false, action: r.action, resource: r.resources[0] ?? '*' });
    }
    return Promise.resolve({ allowed: true });
  },
};
