/**
 * @module auth/policy/evaluate
 * The authorization decision, in Eucalyptus's order (`PolicyEngineImpl`):
 * 1. the cloud admin (`eucalyptus` account) is allowed everything;
 * 2. the resource policy (bucket policy, role trust policy): an explicit Deny there denies; cross-account requests
 *    are allowed only where it grants the caller — and the caller's own account allows it too;
 * 3. an account's `admin` user is allowed everything in its own account;
 * 4. other principals need an Allow in their identity policies (user inline + attached + groups'), or a direct grant
 *    in a same-account resource policy; role sessions are further limited by their session policy.
 * An explicit Deny anywhere beats any Allow; no Allow is the implicit (default) deny.
 */
import type { AuthzRequest, Principal } from '../../shared/index.js';
import { evaluateCondition } from './conditions.js';
import { ConditionContext, type RequestEnvironment } from './context.js';
import type { KeyLookup } from './glob.js';
import { actionMatches, type CompiledPolicy, type CompiledStatement, type Effect, type PrincipalRef } from './parse.js';

export type Decision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

export interface MatchedStatement {
  /** The policy's label (`ParseOptions.name`). */
  policy?: string;
  sid?: string;
  effect: Effect;
  /** Position of the statement in its policy. */
  index: number;
  source: 'identity' | 'resource' | 'session';
}

export interface AuthzResult {
  decision: Decision;
  matchedStatement?: MatchedStatement;
  /** Why, in a few words (logs, encoded authorization messages). */
  reason: string;
  /** The resource that decided (the first not allowed, or the last checked). */
  resource?: string;
  action?: string;
}

const MAX_ACTION_MEMO = 2048;

/**
 * A principal's identity policies compiled and indexed for fast matching: the statements that may apply to an action
 * are computed once per action. Build one per credential and cache it (see AuthzCache); rebuild on policy change.
 */
export class PolicySet {
  readonly policies: readonly CompiledPolicy[];
  private readonly byAction = new Map<string, CompiledStatement[]>();
  private readonly all: CompiledStatement[];

  constructor(policies: readonly CompiledPolicy[]) {
    this.policies = policies;
    this.all = policies.flatMap((p) => p.statements.filter((s) => s.effect !== 'Limit'));
  }

  get size(): number {
    return this.all.length;
  }

  /** The Allow/Deny statements whose Action (or NotAction) admits `lowerAction`. */
  statementsFor(lowerAction: string): CompiledStatement[] {
    let list = this.byAction.get(lowerAction);
    if (list) return list;
    list = this.all.filter((s) => actionMatches(s.actions, lowerAction) !== s.notAction);
    if (this.byAction.size >= MAX_ACTION_MEMO) this.byAction.clear();
    this.byAction.set(lowerAction, list);
    return list;
  }
}

function asSet(p: PolicySet | readonly CompiledPolicy[] | undefined): PolicySet | undefined {
  if (p === undefined) return undefined;
  return p instanceof PolicySet ? p : new PolicySet(p);
}

function resourceApplies(st: CompiledStatement, resource: string, lookup: KeyLookup): boolean {
  if (st.resources === null) return true;
  let any = false;
  let unresolved = false;
  for (const p of st.resources) {
    if (p.any) {
      any = true;
      break;
    }
    const r = p.match(resource, lookup);
    if (r === null) unresolved = true;
    else if (r) {
      any = true;
      break;
    }
  }
  if (st.notResource) return !any && !unresolved;
  return any;
}

function conditionsHold(st: CompiledStatement, lookup: KeyLookup): boolean {
  for (const c of st.conditions) if (!evaluateCondition(c, lookup)) return false;
  return true;
}

function matched(st: CompiledStatement, source: MatchedStatement['source']): MatchedStatement {
  const m: MatchedStatement = { effect: st.effect, index: st.index, source };
  if (st.policy.name !== undefined) m.policy = st.policy.name;
  if (st.sid !== undefined) m.sid = st.sid;
  return m;
}

interface SetOutcome {
  deny?: CompiledStatement;
  allow?: CompiledStatement;
}

/** Scans identity-like statements (no Principal element) for a Deny and an Allow. */
function scan(set: PolicySet, lowerAction: string, resource: string, lookup: KeyLookup): SetOutcome {
  const out: SetOutcome = {};
  for (const st of set.statementsFor(lowerAction)) {
    if (st.effect === 'Allow' && out.allow) continue;
    if (!resourceApplies(st, resource, lookup) || !conditionsHold(st, lookup)) continue;
    if (st.effect === 'Deny') {
      out.deny = st;
      return out;
    }
    out.allow = st;
  }
  return out;
}

/** How a resource policy's Principal names the caller: directly (user / session / `*`), by role, or by account. */
type Grant = 'direct' | 'role' | 'account';
const RANK: Record<Grant, number> = { account: 1, role: 2, direct: 3 };

const ROOT_RE = /^arn:[^:]+:iam::(\d{12}):root$/;

/** The stronger of two grants (a function, not a closure per call: under tsx each closure's name costs a defineProperty). */
function better(best: Grant | null, g: Grant): Grant {
  return best === null || RANK[g] > RANK[best] ? g : best;
}

export function principalMatch(refs: readonly PrincipalRef[], p: Principal, env: RequestEnvironment): Grant | null {
  let best: Grant | null = null;
  for (const ref of refs) {
    switch (ref.type) {
      case '*':
        return 'direct';
      case 'AWS': {
        const v = ref.value;
        if (v === '*') return 'direct';
        if (p.kind === 'anonymous') break;
        if (v === p.arn) return 'direct';
        const root = ROOT_RE.exec(v);
        const acct = root ? root[1] : /^\d{12}$/.test(v) ? v : undefined;
        if (acct !== undefined) {
          if (acct === p.accountId) best = better(best, 'account');
        } else if (p.kind === 'assumed-role' && p.role && v === p.role.arn) best = better(best, 'role');
        break;
      }
      case 'Service':
        if (env.servicePrincipal !== undefined && ref.value === env.servicePrincipal) return 'direct';
        break;
      case 'Federated':
        if (env.federatedProvider !== undefined && ref.value === env.federatedProvider) return 'direct';
        break;
      case 'CanonicalUser':
        break;
    }
  }
  return best;
}

interface ResourceOutcome {
  deny?: CompiledStatement;
  allow?: CompiledStatement;
  grant?: Grant;
}

function scanResourcePolicy(
  policy: CompiledPolicy,
  lowerAction: string,
  resource: string,
  lookup: KeyLookup,
  principal: Principal,
  env: RequestEnvironment,
): ResourceOutcome {
  const out: ResourceOutcome = {};
  for (const st of policy.statements) {
    if (st.effect === 'Limit') continue;
    if (actionMatches(st.actions, lowerAction) === st.notAction) continue;
    let grant: Grant | null = 'direct';
    if (st.principals) {
      const m = principalMatch(st.principals, principal, env);
      if (st.notPrincipal) grant = m === null ? 'direct' : null;
      else grant = m;
    }
    if (grant === null) continue;
    if (!resourceApplies(st, resource, lookup) || !conditionsHold(st, lookup)) continue;
    if (st.effect === 'Deny') {
      out.deny = st;
      return out;
    }
    if (!out.grant || RANK[grant] > RANK[out.grant]) {
      out.grant = grant;
      out.allow = st;
    }
  }
  return out;
}

export interface AuthorizeInput {
  principal: Principal;
  /** User inline + attached managed + each group's inline + attached; a role's policies for a role session. */
  identityPolicies: PolicySet | readonly CompiledPolicy[];
  /** The resource's policy, if it has one (bucket policy, role trust policy). */
  resourcePolicy?: CompiledPolicy | null;
  /** Session policies of a role session (AssumeRole `Policy`/`PolicyArns`): permissions are intersected with them. */
  sessionPolicies?: PolicySet | readonly CompiledPolicy[];
  request: AuthzRequest;
  env: RequestEnvironment;
  /** Trust policies: the resource policy must name the caller; identity policies alone never suffice. */
  requireResourceGrant?: boolean;
}

function result(decision: Decision, reason: string, action: string, resource?: string, st?: CompiledStatement, source?: MatchedStatement['source']): AuthzResult {
  const r: AuthzResult = { decision, reason, action };
  if (resource !== undefined) r.resource = resource;
  if (st && source) r.matchedStatement = matched(st, source);
  return r;
}

/** Decides one AuthzRequest (every resource in it must be allowed). Pure: no I/O, no clock. */
export function authorize(input: AuthorizeInput): AuthzResult {
  const { principal, request, env } = input;
  const action = request.action;
  if (principal.isCloudAdmin) return result('Allow', 'cloud administrator', action);
  const lowerAction = action.toLowerCase();
  const ctx = new ConditionContext(principal, env, request);
  const lookup = ctx.lookup;
  const identity = asSet(input.identityPolicies) ?? new PolicySet([]);
  const session = asSet(input.sessionPolicies);
  const anonymous = principal.kind === 'anonymous';
  const crossAccount = anonymous || (request.resourceAccount !== undefined && request.resourceAccount !== principal.accountId);
  const resources = request.resources.length > 0 ? request.resources : ['*'];
  let last: AuthzResult | undefined;
  for (const resource of resources) {
    const r = decideOne(input, identity, session, lowerAction, resource, lookup, crossAccount, anonymous);
    if (r.decision !== 'Allow') return r;
    last = r;
  }
  return last!;
}

function decideOne(
  input: AuthorizeInput,
  identity: PolicySet,
  session: PolicySet | undefined,
  lowerAction: string,
  resource: string,
  lookup: KeyLookup,
  crossAccount: boolean,
  anonymous: boolean,
): AuthzResult {
  const { principal, env } = input;
  const action = input.request.action;
  const rp = input.resourcePolicy ? scanResourcePolicy(input.resourcePolicy, lowerAction, resource, lookup, principal, env) : {};
  if (rp.deny) return result('ExplicitDeny', 'explicit deny in the resource policy', action, resource, rp.deny, 'resource');

  const mustGrant = crossAccount || input.requireResourceGrant === true;
  if (mustGrant && !rp.grant) {
    return result('ImplicitDeny', crossAccount ? 'no resource policy grants cross-account access' : 'the resource policy does not name the caller', action, resource);
  }
  if (anonymous) return result('Allow', 'granted to anyone by the resource policy', action, resource, rp.allow, 'resource');

  // the caller's own account: its admin is allowed everything there
  if (principal.isAccountAdmin) {
    return rp.allow
      ? result('Allow', 'account administrator; granted by the resource policy', action, resource, rp.allow, 'resource')
      : result('Allow', 'account administrator', action, resource);
  }
  const id = scan(identity, lowerAction, resource, lookup);
  if (id.deny) return result('ExplicitDeny', 'explicit deny in an identity policy', action, resource, id.deny, 'identity');
  let sess: SetOutcome | undefined;
  if (session) {
    sess = scan(session, lowerAction, resource, lookup);
    if (sess.deny) return result('ExplicitDeny', 'explicit deny in the session policy', action, resource, sess.deny, 'session');
  }
  const sessionAllows = !session || !!sess?.allow;

  if (crossAccount) {
    // the resource policy granted; the caller's own account must allow as well
    if (!id.allow) return result('ImplicitDeny', 'cross-account: no identity policy allows', action, resource);
    if (!sessionAllows) return result('ImplicitDeny', 'cross-account: the session policy does not allow', action, resource);
    return result('Allow', 'cross-account: granted by the resource policy and allowed by the identity policies', action, resource, rp.allow, 'resource');
  }
  // same account: a direct grant in the resource policy is not limited by implicit denies elsewhere
  if (rp.grant === 'direct') return result('Allow', 'granted by the resource policy', action, resource, rp.allow, 'resource');
  if (rp.grant === 'role' && sessionAllows) return result('Allow', 'granted to the role by the resource policy', action, resource, rp.allow, 'resource');
  if (input.requireResourceGrant) {
    // trust policy naming the account: the account's identity policies must allow
    if (id.allow && sessionAllows) return result('Allow', 'trusted account; allowed by the identity policies', action, resource, id.allow, 'identity');
    return result('ImplicitDeny', 'trusted account, but no identity policy allows', action, resource);
  }
  if (id.allow && sessionAllows) return result('Allow', 'allowed by an identity policy', action, resource, id.allow, 'identity');
  if (id.allow) return result('ImplicitDeny', 'the session policy does not allow', action, resource);
  return result('ImplicitDeny', 'no policy allows', action, resource);
}

/** Decides several AuthzRequests of one call: the first that is not allowed decides. */
export function authorizeAll(base: Omit<AuthorizeInput, 'request'>, requests: readonly AuthzRequest[]): AuthzResult {
  // the input is written out key by key (not spread): one object shape whatever the caller passed, so authorize()'s
  // property loads stay monomorphic and no slow define follows a clone
  const input: AuthorizeInput = {
    principal: base.principal,
    identityPolicies: requests.length === 1 ? base.identityPolicies : asSet(base.identityPolicies) ?? new PolicySet([]),
    resourcePolicy: base.resourcePolicy,
    sessionPolicies: requests.length === 1 ? base.sessionPolicies : asSet(base.sessionPolicies),
    request: requests[0]!,
    env: base.env,
    requireResourceGrant: base.requireResourceGrant,
  };
  if (requests.length === 1) return authorize(input);
  let last: AuthzResult | undefined;
  for (const request of requests) {
    input.request = request;
    const r = authorize(input);
    if (r.decision !== 'Allow') return r;
    last = r;
  }
  return last ?? { decision: 'Allow', reason: 'nothing to authorize' };
}
