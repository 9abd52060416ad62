/**
 * @module auth/policy/parse
 * Parses and validates a policy document (AWS grammar + Eucalyptus's `Limit` effect) into a compiled form: actions,
 * resources, principals and conditions become matchers once, so evaluation is only matching.
 */
import { PolicyMessages, malformed } from './errors.js';
import { compileCondition, type CompiledCondition } from './conditions.js';
import { compilePattern, type Pattern } from './glob.js';

export type Effect = 'Allow' | 'Deny' | 'Limit';

/**
 * What the document is: an identity policy (user, group, role, account — no Principal, may hold `Limit`), a resource
 * policy (bucket policy — Principal required), a role trust policy (Principal required, no Resource), or a session
 * policy passed to AssumeRole (as identity, without `Limit`).
 */
export type PolicyKind = 'identity' | 'resource' | 'trust' | 'session';

export interface ParseOptions {
  kind?: PolicyKind;
  /** Reject documents without `"Version": "2012-10-17"` (what IAM does for user/group/role/managed policies). */
  requireVersion?: boolean;
  /** A label for reports (`user/alice:inline/s3` …); kept in `matchedStatement`. */
  name?: string;
}

/** A principal reference from a Principal/NotPrincipal element. */
export interface PrincipalRef {
  type: 'AWS' | 'Service' | 'Federated' | 'CanonicalUser' | '*';
  value: string;
}

export interface CompiledStatement {
  index: number;
  sid?: string;
  effect: Effect;
  /** Action or NotAction patterns (lower-cased). */
  actions: ActionMatcher;
  notAction: boolean;
  /** Resource or NotResource patterns; null when the statement has neither (trust policies). */
  resources: Pattern[] | null;
  notResource: boolean;
  resourcesHaveVars: boolean;
  principals: PrincipalRef[] | null;
  notPrincipal: boolean;
  conditions: CompiledCondition[];
  policy: CompiledPolicy;
}

export interface CompiledPolicy {
  kind: PolicyKind;
  name?: string;
  version: string;
  id?: string;
  statements: CompiledStatement[];
  /** The document as given (for GetPolicy & co). */
  text: string;
  hasLimit: boolean;
}

/** Matches a lower-cased action against a statement's action list. */
export interface ActionMatcher {
  all: boolean;
  exact: Set<string>;
  globs: Pattern[];
  /** Service prefixes (`s3`, `ec2`) that appear; `*` when any. Used by PolicySet to skip statements quickly. */
  services: Set<string>;
}

const VALID_VERSIONS = new Set(['2008-10-17', '2012-10-17']);
const TOP = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_KEYS = new Set(['Sid', 'Effect', 'Action', 'NotAction', 'Resource', 'NotResource', 'Principal', 'NotPrincipal', 'Condition']);

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(v: unknown): string[] | null {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  return null;
}

function checkAction(a: string): void {
  if (a === '*') return;
  const parts = a.split(':');
  if (parts.length === 1) throw malformed(PolicyMessages.vendor);
  if (parts.length > 2) throw malformed(PolicyMessages.oneColon);
  const vendor = parts[0]!;
  if (vendor !== '*' && /[^a-zA-Z0-9\-.]/.test(vendor)) throw malformed(`Vendor ${vendor} is not valid`);
}

function compileActions(list: string[]): ActionMatcher {
  const m: ActionMatcher = { all: false, exact: new Set(), globs: [], services: new Set() };
  for (const raw of list) {
    const a = raw.toLowerCase();
    if (a === '*' || a === '*:*') {
      m.all = true;
      m.services.add('*');
      continue;
    }
    const svc = a.slice(0, a.indexOf(':'));
    m.services.add(/[*?]/.test(svc) ? '*' : svc);
    if (/[*?]/.test(a)) m.globs.push(compilePattern(a, { variables: false }));
    else m.exact.add(a);
  }
  return m;
}

export function actionMatches(m: ActionMatcher, lowerAction: string): boolean {
  if (m.all || m.exact.has(lowerAction)) return true;
  for (const g of m.globs) if (g.match(lowerAction, noLookup)) return true;
  return false;
}

const noLookup = (): undefined => undefined;

function checkResource(r: string): void {
  if (r === '*') return;
  // AWS: a resource is "*" or an ARN; policy variables may stand for parts of it
  if (!r.includes(':')) throw malformed(`Resource ${r} must be in ARN format or "*".`);
  if (!r.startsWith('arn:') && !r.startsWith('${')) throw malformed(`Resource ${r} must be in ARN format or "*".`);
  if (r.startsWith('arn:')) {
    const parts = r.split(':');
    if (parts.length < 6 && r.includes('::')) throw malformed(PolicyMessages.legacy);
    if (parts[2] === '') throw malformed(PolicyMessages.legacy);
  }
}

function parsePrincipal(v: unknown): PrincipalRef[] {
  if (v === '*') return [{ type: '*', value: '*' }];
  if (!isObj(v)) throw malformed(PolicyMessages.syntax);
  const out: PrincipalRef[] = [];
  for (const [type, val] of Object.entries(v)) {
    if (type !== 'AWS' && type !== 'Service' && type !== 'Federated' && type !== 'CanonicalUser') throw malformed(PolicyMessages.syntax);
    const list = stringList(val);
    if (!list || list.length === 0) throw malformed(PolicyMessages.syntax);
    for (const s of list) {
      if (type === 'AWS' && s !== '*' && !/^\d{12}$/.test(s) && !s.startsWith('arn:')) {
        throw malformed(`Invalid principal in policy: "AWS":"${s}"`);
      }
      out.push({ type, value: s });
    }
  }
  if (out.length === 0) throw malformed(PolicyMessages.syntax);
  return out;
}

/**
 * Parses a policy document. Throws `MalformedPolicyDocument` with AWS's messages.
 * @example parsePolicy('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}')
 */
export function parsePolicy(text: string, opts: ParseOptions = {}): CompiledPolicy {
  const kind = opts.kind ?? 'identity';
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw malformed(PolicyMessages.syntax);
  }
  return compilePolicyDocument(doc, text, opts, kind);
}

function compilePolicyDocument(doc: unknown, text: string, opts: ParseOptions, kind: PolicyKind): CompiledPolicy {
  if (!isObj(doc)) throw malformed(PolicyMessages.syntax);
  for (const k of Object.keys(doc)) if (!TOP.has(k)) throw malformed(PolicyMessages.syntax);
  const version = doc.Version;
  if (version !== undefined && (typeof version !== 'string' || !VALID_VERSIONS.has(version))) throw malformed(PolicyMessages.syntax);
  if (doc.Id !== undefined && typeof doc.Id !== 'string') throw malformed(PolicyMessages.syntax);
  const rawStatements = doc.Statement;
  if (rawStatements === undefined) throw malformed(PolicyMessages.syntax);
  const list: unknown[] = Array.isArray(rawStatements) ? rawStatements : isObj(rawStatements) ? [rawStatements] : [];
  if (list.length === 0) throw malformed(PolicyMessages.syntax);

  // syntax pass (all statements), as AWS reports syntax before semantics
  for (const st of list) {
    if (!isObj(st)) throw malformed(PolicyMessages.syntax);
    for (const k of Object.keys(st)) if (!STATEMENT_KEYS.has(k)) throw malformed(PolicyMessages.syntax);
    if ('Resource' in st && 'NotResource' in st) throw malformed(PolicyMessages.syntax);
    if ('Action' in st && 'NotAction' in st) throw malformed(PolicyMessages.syntax);
    if ('Principal' in st && 'NotPrincipal' in st) throw malformed(PolicyMessages.syntax);
    const eff = st.Effect;
    if (typeof eff !== 'string' || !['allow', 'deny', 'limit'].includes(eff.toLowerCase())) throw malformed(PolicyMessages.syntax);
    for (const k of ['Action', 'NotAction', 'Resource', 'NotResource'] as const) {
      if (k in st && stringList(st[k]) === null) throw malformed(PolicyMessages.syntax);
    }
    if ('Sid' in st && typeof st.Sid !== 'string') throw malformed(PolicyMessages.syntax);
    if ('Condition' in st) {
      if (!isObj(st.Condition)) throw malformed(PolicyMessages.syntax);
      for (const block of Object.values(st.Condition)) if (!isObj(block)) throw malformed(PolicyMessages.syntax);
    }
  }
  if (opts.requireVersion && version !== '2012-10-17') throw malformed(PolicyMessages.version);

  const policy: CompiledPolicy = {
    kind,
    version: typeof version === 'string' ? version : '2008-10-17',
    statements: [],
    text,
    hasLimit: false,
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(typeof doc.Id === 'string' ? { id: doc.Id } : {}),
  };
  const variables = policy.version === '2012-10-17';
  const sids = new Set<string>();
  list.forEach((raw, index) => {
    const st = raw as Record<string, unknown>;
    const effect = st.Effect as string;
    if (effect !== 'Allow' && effect !== 'Deny' && effect !== 'Limit') throw malformed(PolicyMessages.legacy);
    if (effect === 'Limit' && kind !== 'identity') throw malformed(PolicyMessages.limitEffect);
    if (typeof st.Sid === 'string' && st.Sid !== '') {
      if (sids.has(st.Sid)) throw malformed(PolicyMessages.sidUnique);
      sids.add(st.Sid);
    }
    const actionList = stringList(st.Action ?? st.NotAction);
    if (!actionList || actionList.length === 0) throw malformed(PolicyMessages.actions);
    const hasResource = 'Resource' in st || 'NotResource' in st;
    const resourceList = hasResource ? stringList(st.Resource ?? st.NotResource) : null;
    if (kind === 'trust') {
      if (hasResource) throw malformed(PolicyMessages.prohibitedResource);
    } else if (!resourceList || resourceList.length === 0) throw malformed(PolicyMessages.resources);
    const hasPrincipal = 'Principal' in st || 'NotPrincipal' in st;
    if ((kind === 'identity' || kind === 'session') && hasPrincipal) throw malformed(PolicyMessages.noPrincipal);
    if ((kind === 'resource' || kind === 'trust') && !hasPrincipal) throw malformed(PolicyMessages.missingPrincipal);
    for (const a of actionList) checkAction(a);
    if (resourceList) for (const r of resourceList) checkResource(r);

    const conditions: CompiledCondition[] = [];
    if (isObj(st.Condition)) {
      for (const [operator, block] of Object.entries(st.Condition)) {
        for (const [key, values] of Object.entries(block as Record<string, unknown>)) {
          conditions.push(compileCondition(operator, key, values, variables));
        }
      }
    }
    const resources = resourceList ? resourceList.map((r) => compilePattern(r, { variables, arn: true })) : null;
    policy.statements.push({
      index,
      ...(typeof st.Sid === 'string' && st.Sid !== '' ? { sid: st.Sid } : {}),
      effect,
      actions: compileActions(actionList),
      notAction: 'NotAction' in st,
      resources,
      notResource: 'NotResource' in st,
      resourcesHaveVars: variables && !!resourceList?.some((r) => r.includes('${')),
      principals: hasPrincipal ? parsePrincipal(st.Principal ?? st.NotPrincipal) : null,
      notPrincipal: 'NotPrincipal' in st,
      conditions,
      policy,
    });
    if (effect === 'Limit') policy.hasLimit = true;
  });
  return policy;
}

/** Validates without keeping the result; throws MalformedPolicyDocument. */
export function validatePolicy(text: string, opts: ParseOptions = {}): void {
  parsePolicy(text, opts);
}
