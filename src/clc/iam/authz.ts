/**
 * @module clc/iam/authz
 * Enforcement: loads a principal's identity policies (user + groups, or the role), compiles them once and caches the
 * compiled set per credential; the cache is invalidated per account whenever policies, groups, memberships, roles or
 * attachments change (and entirely when users or keys change), so policy changes take effect at once.
 * Also Eucalyptus quotas: Limit statements in the account's policies (set by the cloud admin) and the principal's.
 */
import {
  AuthzCache, PolicyCompileCache, PolicySet, accessDeniedError, authorizeAll, evaluateQuota, quotaLimits,
  type AuthzResult, type CompiledPolicy, type QuotaLimit, type QuotaResult, type RequestEnvironment,
} from '../../auth/policy/index.js';
import { AwsError, type AuthzRequest, type Principal } from '../../shared/index.js';
import type { IamDirectory, Role } from './directory.js';
import type { IamStore } from './store.js';

/** The request facts the decision needs (a structural subset of the gateway's RequestContext). */
export interface AuthzContext {
  principal: Principal;
  service: string;
  sourceIp: string;
  secure: boolean;
  now: Date;
  region: string;
  userAgent?: string;
}

export interface AuthorizeOptions {
  /** The resource's own policy (bucket policy …), already compiled. */
  resourcePolicy?: CompiledPolicy | null;
  requireResourceGrant?: boolean;
}

export function environmentOf(ctx: AuthzContext): RequestEnvironment {
  // always the same keys (an absent user agent is undefined): one object shape for every request
  return { sourceIp: ctx.sourceIp, now: ctx.now, secure: ctx.secure, region: ctx.region, userAgent: ctx.userAgent };
}

/** A principal's identity policies and its tags as `aws:PrincipalTag/<key>` condition keys. */
export interface IdentityFacts {
  policies: PolicySet;
  tags: Record<string, string>;
  hasTags: boolean;
}
const EMPTY_SET = new PolicySet([]);
const NO_FACTS: IdentityFacts = { policies: EMPTY_SET, tags: {}, hasTags: false };

export class IamAuthorizer {
  /** Per credential: the principal's compiled identity policies and its `aws:PrincipalTag/…` keys, loaded together. */
  readonly identityCache: AuthzCache<IdentityFacts>;
  private readonly accountCache: AuthzCache<CompiledPolicy[]>;
  private readonly compiler = new PolicyCompileCache();

  constructor(private readonly directory: IamDirectory, iam?: Pick<IamStore, 'onChange'>, opts: { ttlMs?: number } = {}) {
    this.identityCache = new AuthzCache<IdentityFacts>({ ttlMs: opts.ttlMs ?? 60_000 });
    this.accountCache = new AuthzCache<CompiledPolicy[]>({ ttlMs: opts.ttlMs ?? 60_000 });
    directory.onChange((accountId) => {
      this.identityCache.invalidateAccount(accountId);
      this.accountCache.invalidateAccount(accountId);
    });
    iam?.onChange(() => {
      this.identityCache.invalidateAll();
      this.accountCache.invalidateAll();
    });
  }

  private compileAll(docs: Array<{ name: string; document: string }>): CompiledPolicy[] {
    const out: CompiledPolicy[] = [];
    for (const d of docs) {
      try {
        out.push(this.compiler.compile(d.document, { name: d.name }));
      } catch {
        // stored documents were validated on write; one that no longer parses grants nothing
      }
    }
    return out;
  }

  /** The principal's identity policies, compiled and indexed; cached per credential. */
  async identityPolicies(p: Principal): Promise<PolicySet> {
    return (await this.identityFacts(p)).policies;
  }

  /** `aws:PrincipalTag/<key>` condition keys from the user's (or the role's) tags; cached with the policies. */
  async principalTagKeys(p: Principal): Promise<Record<string, string>> {
    return (await this.identityFacts(p)).tags;
  }

  /**
   * What a principal's own policies and tags say, from the cache (a synchronous hit: no promise on the usual path) or
   * loaded and cached.
   */
  private identityFacts(p: Principal): IdentityFacts | Promise<IdentityFacts> {
    if (p.kind !== 'user' && p.kind !== 'assumed-role') return NO_FACTS;
    const key = p.accessKeyId === undefined ? `|${p.userId}` : `${p.accessKeyId}|${p.userId}`;
    return this.identityCache.getOrLoad(key, p.accountId, () => this.loadFacts(p));
  }

  private async loadFacts(p: Principal): Promise<IdentityFacts> {
    const role = p.kind === 'assumed-role' ? p.role : undefined;
    if (p.kind === 'assumed-role' && !role) return NO_FACTS;
    const [docs, tags] = role
      ? await Promise.all([this.directory.rolePolicyDocuments(role.roleId), this.directory.tagsById('role', role.roleId)])
      : await Promise.all([this.directory.userPolicyDocuments(p.userId), this.directory.tagsById('user', p.userId)]);
    const tagKeys = Object.fromEntries(tags.map((t) => [`aws:PrincipalTag/${t.Key}`, t.Value]));
    return { policies: new PolicySet(this.compileAll(docs)), tags: tagKeys, hasTags: tags.length > 0 };
  }

  private sessionPolicies(p: Principal): PolicySet | undefined {
    const doc = p.role?.sessionPolicy;
    if (doc === undefined) return undefined;
    try {
      return new PolicySet([this.compiler.compile(doc, { kind: 'session', name: 'session policy' })]);
    } catch {
      return new PolicySet([]);
    }
  }

  /** Decides the requests of one call (no throw). */
  async decide(ctx: AuthzContext, requests: readonly AuthzRequest[], opts: AuthorizeOptions = {}): Promise<AuthzResult> {
    const p = ctx.principal;
    if (p.isCloudAdmin) return { decision: 'Allow', reason: 'cloud administrator' };
    const env = environmentOf(ctx);
    const needsPolicies = !p.isAccountAdmin || requests.some((r) => r.resourceAccount !== undefined && r.resourceAccount !== p.accountId);
    let identity = EMPTY_SET;
    if (needsPolicies && p.kind !== 'anonymous') {
      const found = this.identityFacts(p);
      const facts = found instanceof Promise ? await found : found;
      identity = facts.policies;
      if (facts.hasTags) requests = requests.map((r) => ({ ...r, conditions: { ...facts.tags, ...r.conditions } }));
    }
    const session = this.sessionPolicies(p);
    // every key present (absent ones undefined): one object shape, so the engine's property loads stay monomorphic
    return authorizeAll(
      {
        principal: p, identityPolicies: identity, env, sessionPolicies: session, resourcePolicy: opts.resourcePolicy ?? undefined,
        requireResourceGrant: opts.requireResourceGrant === true,
      },
      requests,
    );
  }

  /** Decides and throws the service's denial error (`UnauthorizedOperation` for EC2, `AccessDenied` otherwise). */
  async authorize(ctx: AuthzContext, requests: readonly AuthzRequest[], opts: AuthorizeOptions = {}): Promise<AuthzResult> {
    const r = await this.decide(ctx, requests, opts);
    if (r.decision !== 'Allow') {
      throw accessDeniedError(ctx.service, ctx.principal.arn, {
        decision: r.decision,
        ...(r.action !== undefined ? { action: r.action } : {}),
        ...(r.resource !== undefined ? { resource: r.resource } : {}),
        reason: r.reason,
        ...(r.matchedStatement ? { matchedStatement: r.matchedStatement } : {}),
      });
    }
    return r;
  }

  /** AssumeRole: the role's trust policy must name the caller (and the caller's account must allow sts:AssumeRole). */
  async authorizeAssumeRole(ctx: AuthzContext, role: Role): Promise<void> {
    const trust = this.compiler.compile(role.trustPolicy, { kind: 'trust', name: `${role.arn} trust policy` });
    const p = ctx.principal;
    // the cloud admin is allowed everything, but a role still only trusts whom it names
    const principal = p.isCloudAdmin ? { ...p, isCloudAdmin: false, isAccountAdmin: true } : p;
    const r = await this.decide({ ...ctx, principal }, [{ action: 'sts:AssumeRole', resources: [role.arn], resourceAccount: role.accountId }], { resourcePolicy: trust, requireResourceGrant: true });
    if (r.decision !== 'Allow') {
      throw new AwsError('AccessDenied', `User: ${p.arn} is not authorized to perform: sts:AssumeRole on resource: ${role.arn}`, { status: 403 });
    }
  }

  /** The account's quota policies (Eucalyptus account policies), compiled and cached per account. */
  private async accountPolicies(accountId: string): Promise<CompiledPolicy[]> {
    return this.accountCache.getOrLoad(`acct:${accountId}`, accountId, async () => this.compileAll(await this.directory.accountPolicyDocuments(accountId)));
  }

  private async quotaPolicies(p: Principal, accountId: string): Promise<CompiledPolicy[]> {
    const policies = [...(await this.accountPolicies(accountId))];
    if (p.kind !== 'anonymous' && p.accountId === accountId) policies.push(...(await this.identityPolicies(p)).policies);
    return policies;
  }

  /** The limits that apply to `action` for this principal (lower-cased quota key → limit); empty for the cloud admin. */
  async limits(ctx: AuthzContext, action: string, accountId = ctx.principal.accountId): Promise<Record<string, QuotaLimit>> {
    if (ctx.principal.isCloudAdmin) return {};
    return quotaLimits({ policies: await this.quotaPolicies(ctx.principal, accountId), principal: ctx.principal, env: environmentOf(ctx), action });
  }

  /** Which Limit statements the would-be counts exceed (account policies and the principal's own). */
  async quota(ctx: AuthzContext, action: string, usage: Record<string, number>, accountId = ctx.principal.accountId): Promise<QuotaResult> {
    const p = ctx.principal;
    return evaluateQuota({ policies: await this.quotaPolicies(p, accountId), principal: p, env: environmentOf(ctx), action, usage });
  }

  /** Throws `LimitExceeded` (or the service's code) naming the limit when a quota would be exceeded. */
  async enforceQuota(ctx: AuthzContext, action: string, usage: Record<string, number>, opts: { code?: string; status?: number; accountId?: string } = {}): Promise<void> {
    const r = await this.quota(ctx, action, usage, opts.accountId);
    const e = r.exceeded[0];
    if (e) {
      throw new AwsError(opts.code ?? 'LimitExceeded', `Cannot exceed quota for ${e.key}: ${e.limit} (the request would make it ${e.requested})`, { status: opts.status ?? 409 });
    }
  }
}
