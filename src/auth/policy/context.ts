/**
 * @module auth/policy/context
 * The request context: the global condition keys (`aws:SourceIp`, `aws:CurrentTime`, `aws:username` …) built from the
 * principal and the environment, plus the service-specific keys of the AuthzRequest. Keys are case-insensitive.
 */
import type { AuthzRequest, Principal } from '../../shared/index.js';
import type { KeyLookup } from './glob.js';
import { normalizeIp } from './ip.js';

/** Where and when the request happened. */
export interface RequestEnvironment {
  sourceIp: string;
  now: Date;
  /** TLS (`aws:SecureTransport`). */
  secure: boolean;
  region: string;
  userAgent?: string;
  /** Set when an AWS service (not a user) calls on its own behalf: `ec2.amazonaws.com` — matches `Principal.Service`. */
  servicePrincipal?: string;
  /** Set for web-identity / SAML federation: the provider, matched by `Principal.Federated`. */
  federatedProvider?: string;
  /** When temporary credentials were issued (`aws:TokenIssueTime`). */
  tokenIssueTime?: Date;
}

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `User`, `AssumedRole`, `FederatedUser` or `Anonymous`, as `aws:PrincipalType` reports them. */
export function principalType(p: Principal): string {
  switch (p.kind) {
    case 'user':
      return 'User';
    case 'assumed-role':
      return 'AssumedRole';
    case 'federated':
      return 'FederatedUser';
    case 'anonymous':
      return 'Anonymous';
  }
}

/** The global keys that do not depend on the request's action (cacheable per request). */
export function globalKeys(principal: Principal, env: RequestEnvironment): Map<string, string[]> {
  const m = new Map<string, string[]>();
  // (keys written lower-case; `put` is a module function: a closure here would be made, and under tsx named, per call)
  put(m, 'aws:sourceip', normalizeIp(env.sourceIp));
  put(m, 'aws:currenttime', isoSeconds(env.now));
  put(m, 'aws:epochtime', String(Math.floor(env.now.getTime() / 1000)));
  put(m, 'aws:securetransport', env.secure ? 'true' : 'false');
  put(m, 'aws:requestedregion', env.region);
  put(m, 'aws:useragent', env.userAgent);
  if (env.tokenIssueTime) put(m, 'aws:tokenissuetime', isoSeconds(env.tokenIssueTime));
  if (principal.kind !== 'anonymous') {
    put(m, 'aws:principalaccount', principal.accountId);
    put(m, 'aws:principaltype', principalType(principal));
    put(m, 'aws:userid', principal.userId);
    if (principal.kind === 'user') put(m, 'aws:username', principal.userName);
    put(m, 'aws:principalarn', principal.kind === 'assumed-role' && principal.role ? principal.role.arn : principal.arn);
  }
  return m;
}

function put(m: Map<string, string[]>, lowerKey: string, v: string | undefined): void {
  if (v !== undefined && v !== '') m.set(lowerKey, [v]);
}

/** The global condition keys (lower-cased): a request's own condition keys can never set these. */
export const GLOBAL_KEYS: ReadonlySet<string> = new Set([
  'aws:sourceip', 'aws:currenttime', 'aws:epochtime', 'aws:securetransport', 'aws:requestedregion', 'aws:useragent',
  'aws:tokenissuetime', 'aws:principalaccount', 'aws:principaltype', 'aws:userid', 'aws:username', 'aws:principalarn',
]);

const NONE: readonly string[] | undefined = undefined;

/** A present key's single value (a module function: a closure here would be re-created on every lookup). */
function one(v: string | undefined): readonly string[] | undefined {
  return v === undefined || v === '' ? NONE : [v];
}

/**
 * The condition keys of one request. Global keys are computed lazily, when a condition or variable asks for one, so
 * a decision that needs none costs nothing for them; the request's service keys are layered on top.
 */
export class ConditionContext {
  private memo: Map<string, readonly string[] | undefined> | undefined;
  private readonly overlay: Map<string, string[]> | undefined;
  readonly lookup: KeyLookup;

  constructor(
    private readonly principal: Principal,
    private readonly env: RequestEnvironment,
    request?: AuthzRequest,
  ) {
    if (request?.conditions) {
      const o = new Map<string, string[]>();
      for (const [k, v] of Object.entries(request.conditions)) {
        const lk = k.toLowerCase();
        if (GLOBAL_KEYS.has(lk)) continue; // the request cannot spoof global keys
        o.set(lk, Array.isArray(v) ? v : [v]);
      }
      this.overlay = o;
    }
    this.lookup = (k) => this.get(k);
  }

  get(key: string): readonly string[] | undefined {
    const k = key.toLowerCase();
    const o = this.overlay?.get(k);
    if (o !== undefined) return o;
    if (!GLOBAL_KEYS.has(k)) return NONE;
    const memo = (this.memo ??= new Map());
    if (memo.has(k)) return memo.get(k);
    const v = this.global(k);
    memo.set(k, v);
    return v;
  }

  private global(k: string): readonly string[] | undefined {
    const { principal: p, env } = this;
    const person = p.kind !== 'anonymous';
    switch (k) {
      case 'aws:sourceip':
        return one(normalizeIp(env.sourceIp));
      case 'aws:currenttime':
        return one(isoSeconds(env.now));
      case 'aws:epochtime':
        return one(String(Math.floor(env.now.getTime() / 1000)));
      case 'aws:securetransport':
        return one(env.secure ? 'true' : 'false');
      case 'aws:requestedregion':
        return one(env.region);
      case 'aws:useragent':
        return one(env.userAgent);
      case 'aws:tokenissuetime':
        return env.tokenIssueTime ? one(isoSeconds(env.tokenIssueTime)) : NONE;
      case 'aws:principalaccount':
        return person ? one(p.accountId) : NONE;
      case 'aws:principaltype':
        return person ? one(principalType(p)) : NONE;
      case 'aws:userid':
        return person ? one(p.userId) : NONE;
      case 'aws:username':
        return person && p.kind === 'user' ? one(p.userName) : NONE;
      case 'aws:principalarn':
        return person ? one(p.kind === 'assumed-role' && p.role ? p.role.arn : p.arn) : NONE;
      default:
        return NONE;
    }
  }
}
