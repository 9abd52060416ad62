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
  const set = (k: string, v: string | undefined): void => {
    if (v !== undefined && v !== '') m.set(k.toLowerCase(), [v]);
  };
  set('aws:SourceIp', normalizeIp(env.sourceIp));
  set('aws:CurrentTime', isoSeconds(env.now));
  set('aws:EpochTime', String(Math.floor(env.now.getTime() / 1000)));
  set('aws:SecureTransport', env.secure ? 'true' : 'false');
  set('aws:RequestedRegion', env.region);
  set('aws:UserAgent', env.userAgent);
  if (env.tokenIssueTime) set('aws:TokenIssueTime', isoSeconds(env.tokenIssueTime));
  if (principal.kind !== 'anonymous') {
    set('aws:PrincipalAccount', principal.accountId);
    set('aws:PrincipalType', principalType(principal));
    set('aws:userid', principal.userId);
    if (principal.kind === 'user') set('aws:username', principal.userName);
    set('aws:PrincipalArn', principal.kind === 'assumed-role' && principal.role ? principal.role.arn : principal.arn);
  }
  return m;
}

/** The condition keys of one request; service keys of the AuthzRequest override nothing global. */
export class ConditionContext {
  private readonly keys: Map<string, string[]>;
  readonly lookup: KeyLookup;

  constructor(global: Map<string, string[]>, request?: AuthzRequest) {
    if (request?.conditions) {
      this.keys = new Map(global);
      for (const [k, v] of Object.entries(request.conditions)) {
        const lk = k.toLowerCase();
        if (lk.startsWith('aws:') && global.has(lk)) continue; // the request cannot spoof global keys
        this.keys.set(lk, Array.isArray(v) ? v : [v]);
      }
    } else this.keys = global;
    this.lookup = (k) => this.keys.get(k);
  }

  get(key: string): readonly string[] | undefined {
    return this.keys.get(key.toLowerCase());
  }
}
