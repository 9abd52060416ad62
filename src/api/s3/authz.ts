/**
 * @module api/s3/authz
 * Who may do what on a bucket or object, in the Eucalyptus order (PolicyEngineImpl):
 * 1. the cloud admin is allowed everything;
 * 2. resource authorizations (bucket policy, ACL grants): an explicit Deny in the bucket policy denies;
 * 3. a principal of the owning account: the account admin is allowed; other users need an identity-policy Allow
 *    (their IAM policies, from the injected `identityPolicies`) or a bucket-policy Allow;
 * 4. other accounts and anonymous callers need a resource authorization (bucket policy Allow or ACL grant), and
 *    non-admin users of another account also need their own identity policy to allow it.
 * IAM and bucket policies are decided by the policy engine (`src/auth/policy`); ACL grants are checked here.
 */
import { AwsError, type Principal, type AuthzRequest } from '../../shared/index.js';
import { authorize, parsePolicy, type CompiledPolicy, type PolicySet, type RequestEnvironment } from '../../auth/policy/index.js';
import { ALL_USERS, AUTHENTICATED_USERS, type Grant, type Permission } from '../../walrus/index.js';

/** The principal's own IAM policies (user, groups, role), as the IAM store compiles them. */
export type IdentityPolicies = (principal: Principal) => Promise<PolicySet | readonly CompiledPolicy[]> | PolicySet | readonly CompiledPolicy[];

export interface ResourceFacts {
  /** The account that owns the resource (bucket owner; object owner for object ACL checks). */
  ownerAccount: string;
  bucketPolicy?: string | null;
  /** The ACL that applies and the permission it must grant; absent when no ACL grant can allow this. */
  acl?: Grant[];
  aclPermission?: Permission;
}

export const ANONYMOUS: Principal = {
  kind: 'anonymous', accountId: '', userId: 'anonymous', userName: 'anonymous', arn: '*', isCloudAdmin: false, isAccountAdmin: false,
};

/** Does the ACL grant `perm` (or FULL_CONTROL) to the principal? */
export function aclGrants(acl: Grant[], p: Principal, perm: Permission): boolean {
  return acl.some((g) => {
    if (g.permission !== perm && g.permission !== 'FULL_CONTROL') return false;
    const e = g.grantee;
    if (e.type === 'Group') return e.uri === ALL_USERS || (e.uri === AUTHENTICATED_USERS && p.kind !== 'anonymous');
    if (e.type === 'CanonicalUser') return p.kind !== 'anonymous' && e.id === p.accountId;
    return false;
  });
}

const compiled = new Map<string, CompiledPolicy>();

/** The bucket policy compiled once per text. Throws (MalformedPolicy) when invalid. */
export function compileBucketPolicy(text: string): CompiledPolicy {
  let c = compiled.get(text);
  if (!c) {
    try {
      c = parsePolicy(text, { kind: 'resource' });
    } catch (e) {
      throw new AwsError('MalformedPolicy', e instanceof Error ? e.message : 'Invalid policy');
    }
    if (compiled.size > 1000) compiled.clear();
    compiled.set(text, c);
  }
  return c;
}

/** The decision for one request (true = allowed). */
export async function authorizeS3(p: Principal, req: AuthzRequest, facts: ResourceFacts, env: RequestEnvironment, identityPolicies?: IdentityPolicies): Promise<boolean> {
  if (p.isCloudAdmin) return true;
  let rp: CompiledPolicy | null = null;
  if (facts.bucketPolicy) {
    try {
      rp = compileBucketPolicy(facts.bucketPolicy);
    } catch {
      rp = null;
    }
  }
  const ids = p.kind === 'anonymous' || !identityPolicies ? [] : await identityPolicies(p);
  const request: AuthzRequest = { ...req, resourceAccount: facts.ownerAccount };
  const r = authorize({ principal: p, identityPolicies: ids, resourcePolicy: rp, request, env });
  if (r.decision === 'Allow') return true;
  if (r.decision === 'ExplicitDeny') return false;
  const aclOk = facts.acl !== undefined && facts.aclPermission !== undefined && aclGrants(facts.acl, p, facts.aclPermission);
  if (!aclOk) return false;
  if (p.kind === 'anonymous' || p.isAccountAdmin) return true;
  // A user of the owning account gets nothing from ACL grants to its account: as on AWS, it needs an IAM Allow
  // (or a bucket policy naming it), which the policy engine has already refused above.
  if (p.accountId === facts.ownerAccount) return false;
  // a user of another account: the ACL grants to the account, the user's own policies must allow it too
  const own = authorize({ principal: p, identityPolicies: ids, request: { ...req, resourceAccount: p.accountId }, env });
  return own.decision === 'Allow';
}
