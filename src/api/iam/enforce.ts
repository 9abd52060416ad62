/**
 * @module api/iam/enforce
 * The gateway's Authorizer backed by the IAM policy engine: every request's AuthzRequests are decided in Eucalyptus's
 * order (cloud admin, resource policy, account admin, identity policies) with the principal's compiled policies
 * cached per credential and invalidated when policies change.
 */
import type { IamAuthorizer } from '../../clc/index.js';
import type { Authorizer, AuthzDecision } from '../gateway/index.js';

export function policyAuthorizer(authz: IamAuthorizer): Authorizer {
  return {
    async authorize(principal, requests, ctx): Promise<AuthzDecision> {
      // the gateway's context already carries the principal: no copy of it per request
      const r = await authz.decide(ctx.principal === principal ? ctx : { ...ctx, principal }, requests);
      if (r.decision === 'Allow') return { allowed: true };
      return {
        allowed: false,
        explicitDeny: r.decision === 'ExplicitDeny',
        action: r.action ?? requests[0]?.action ?? '*',
        resource: r.resource ?? requests[0]?.resources[0] ?? '*',
        reason: r.reason,
      };
    },
  };
}
