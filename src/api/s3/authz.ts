/**
 * @module api/s3/authz
 * Who may do what on a bucket or object, in the Eucalyptus order (PolicyEngineImpl):
 * 1. the cloud admin is allowed everything;
 * 2. resource authorizations (bucket policy, ACL grants): an explicit Deny in the bucket policy denies;
 * 3. a principal of the owning account: the account admin is allowed; other users need an identity-policy Allow
 *    (IAM, through the injected `identityAllows`) or a bucket-policy Allow;
 * 4. other accounts and anonymous callers need a resource authorization (bucket policy Allow or ACL grant), and
 *    non-admin users of another account also need their own identity policy to allow it.
 */
import type { Principal, AuthzRequest } from '../../shared/index.js';
import { ALL_USERS, AUTHENTICATED_USERS, type Grant, type Permission } from '../../walrus/index.js';

/** Is the action allowed by the principal's own (IAM identity) policies? Supplied by the IAM engine. */
export type IdentityAllows = (principal: Principal, req: AuthzRequest) => boolean | Promise<boolean>;

export interface ResourceFacts {
  /** The account that owns the resource (bucket owner; object owner for object ACL checks). */
  ownerAccount: string;
  bucketPolicy?: string | null;
  /** The ACL that applies and the permission it must grant; absent when no ACL grant can allow this. */
  acl?: Grant[];
  aclPermission?: Permission;
  /** Condition keys for the bucket policy (`aws:SourceIp`, `s3:prefix` …). */
  conditions?: Record<string, string | string[]>;
}

export const ANONYMOUS: Principal = {
  kind: 'anonymous', accountId: '', userId: 'anonymous', userName: 'anonymous', arn: '*', isCloudAdmin: false, isAccountAdmin: false,
};

function wildcard(pattern: string, value: string, ci = false): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, ci ? 'is' : 's');
  return re.test(value);
}

function arr(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v.map(String) : [String(v)];
}

function principalMatches(spec: unknown, p: Principal): boolean {
  if (spec === '*') return true;
  if (!spec || typeof spec !== 'object') return false;
  const aws = arr((spec as Record<string, unknown>).AWS);
  return aws.some((a) => {
    if (a === '*') return true;
    if (p.kind === 'anonymous') return false;
    if (/^\d{12}$/.test(a)) return a === p.accountId;
    if (a === `arn:aws:iam::${p.accountId}:root`) return true;
    return wildcard(a, p.arn) || (p.role !== undefined && wildcard(a, p.role.arn));
  });
}

function ipInCidr(ip: string, cidr: string): boolean {
  const [net, bitsS] = cidr.split('/');
  const bits = bitsS === undefined ? 32 : Number(bitsS);
  const toNum = (s: string) => s.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  if (!net || !/^\d+\.\d+\.\d+\.\d+$/.test(net) || !/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return ip === net;
  const mask = bits === 0 ? 0 : 2 ** 32 - 2 ** (32 - bits);
  return (toNum(ip) & mask) >>> 0 === (toNum(net) & mask) >>> 0;
}

/** Evaluates conditions; unknown operators make the statement not apply. */
function conditionsHold(cond: unknown, ctx: Record<string, string | string[]>): boolean {
  if (!cond || typeof cond !== 'object') return true;
  for (const [op0, block] of Object.entries(cond as Record<string, Record<string, unknown>>)) {
    const ifExists = op0.endsWith('IfExists');
    const op = op0.replace(/IfExists$/, '');
    for (const [k0, want0] of Object.entries(block ?? {})) {
      const want = arr(want0);
      const k = Object.keys(ctx).find((x) => x.toLowerCase() === k0.toLowerCase());
      const have = k === undefined ? undefined : arr(ctx[k]);
      if (have === undefined) {
        if (ifExists || op.startsWith('StringNot') || op === 'NotIpAddress') continue;
        if (op === 'Null') {
          if (want.includes('true')) continue;
          return false;
        }
        return false;
      }
      const any = (f: (h: string, w: string) => boolean) => have.some((h) => want.some((w) => f(h, w)));
      let ok: boolean;
      switch (op) {
        case 'StringEquals': ok = any((h, w) => h === w); break;
        case 'StringNotEquals': ok = !any((h, w) => h === w); break;
        case 'StringEqualsIgnoreCase': ok = any((h, w) => h.toLowerCase() === w.toLowerCase()); break;
        case 'StringLike': ok = any((h, w) => wildcard(w, h)); break;
        case 'StringNotLike': ok = !any((h, w) => wildcard(w, h)); break;
        case 'Bool': ok = any((h, w) => h.toLowerCase() === w.toLowerCase()); break;
        case 'IpAddress': ok = any((h, w) => ipInCidr(h, w)); break;
        case 'NotIpAddress': ok = !any((h, w) => ipInCidr(h, w)); break;
        case 'NumericEquals': ok = any((h, w) => Number(h) === Number(w)); break;
        case 'NumericLessThan': ok = any((h, w) => Number(h) < Number(w)); break;
        case 'NumericLessThanEquals': ok = any((h, w) => Number(h) <= Number(w)); break;
        case 'NumericGreaterThan': ok = any((h, w) => Number(h) > Number(w)); break;
        case 'NumericGreaterThanEquals': ok = any((h, w) => Number(h) >= Number(w)); break;
        case 'ArnLike': case 'ArnEquals': ok = any((h, w) => wildcard(w, h)); break;
        case 'Null': ok = want.includes('false'); break;
        default: return false;
      }
      if (!ok) return false;
    }
  }
  return true;
}

/** Bucket policy verdict for one request: 'Deny' (explicit), 'Allow', or undefined (no statement applies). */
export function evaluateBucketPolicy(policy: string | null | undefined, p: Principal, req: AuthzRequest, conditions: Record<string, string | string[]> = {}): 'Allow' | 'Deny' | undefined {
  if (!policy) return undefined;
  let doc: { Statement?: unknown };
  try {
    doc = JSON.parse(policy) as { Statement?: unknown };
  } catch {
    return undefined;
  }
  const stmts = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : [];
  let verdict: 'Allow' | undefined;
  for (const s0 of stmts) {
    const s = s0 as Record<string, unknown>;
    if (s.Principal !== undefined && !principalMatches(s.Principal, p)) continue;
    if (s.NotPrincipal !== undefined && principalMatches(s.NotPrincipal, p)) continue;
    if (s.Principal === undefined && s.NotPrincipal === undefined) continue;
    if (s.Action !== undefined && !arr(s.Action).some((a) => wildcard(a, req.action, true))) continue;
    if (s.NotAction !== undefined && arr(s.NotAction).some((a) => wildcard(a, req.action, true))) continue;
    const resources = req.resources;
    if (s.Resource !== undefined && !arr(s.Resource).some((r) => resources.some((x) => wildcard(r, x)))) continue;
    if (s.NotResource !== undefined && arr(s.NotResource).some((r) => resources.some((x) => wildcard(r, x)))) continue;
    if (!conditionsHold(s.Condition, conditions)) continue;
    if (s.Effect === 'Deny') return 'Deny';
    if (s.Effect === 'Allow') verdict = 'Allow';
  }
  return verdict;
}

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

/** The decision for one request (true = allowed). */
export async function authorizeS3(p: Principal, req: AuthzRequest, facts: ResourceFacts, identityAllows?: IdentityAllows): Promise<boolean> {
  if (p.isCloudAdmin) return true;
  const policy = evaluateBucketPolicy(facts.bucketPolicy, p, req, facts.conditions);
  if (policy === 'Deny') return false;
  const aclOk = facts.acl !== undefined && facts.aclPermission !== undefined && aclGrants(facts.acl, p, facts.aclPermission);
  const resourceAllows = policy === 'Allow' || aclOk;
  const identity = async () => (identityAllows ? identityAllows(p, req) : false);
  if (p.kind !== 'anonymous' && p.accountId === facts.ownerAccount) {
    if (p.isAccountAdmin) return true;
    return resourceAllows || (await identity());
  }
  if (!resourceAllows) return false;
  if (p.kind === 'anonymous' || p.isAccountAdmin) return true;
  return identityAllows ? identity() : true;
}
