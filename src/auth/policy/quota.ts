/**
 * @module auth/policy/quota
 * Eucalyptus quotas: statements with `"Effect": "Limit"` whose condition caps a `<service>:quota-<what>` key, e.g.
 * `{"Effect":"Limit","Action":"ec2:RunInstances","Resource":"*","Condition":{"NumericLessThanEquals":
 * {"ec2:quota-vminstancenumber":"5"}}}`. Given the action and the counts the account (or user) would reach, says which
 * limit is exceeded. The tightest of several limits on a key applies. Other conditions of a Limit statement (source
 * IP, time…) decide whether the statement applies at all.
 */
import type { Principal } from '../../shared/index.js';
import { evaluateCondition, type CompiledCondition } from './conditions.js';
import { ConditionContext, type RequestEnvironment } from './context.js';
import type { MatchedStatement } from './evaluate.js';
import { actionMatches, type CompiledPolicy, type CompiledStatement } from './parse.js';

export interface QuotaCheck {
  /** The account's quota policies and the principal's own policies (any that may hold Limit statements). */
  policies: readonly CompiledPolicy[];
  principal: Principal;
  env: RequestEnvironment;
  action: string;
  /** The resource being created, `*` when not known. */
  resource?: string;
  /** Quota key → the count after the operation (`{"ec2:quota-vminstancenumber": 3}` when a third instance starts). */
  usage: Record<string, number>;
  /** Other condition keys of the request. */
  conditions?: Record<string, string | string[]>;
  /** Eucalyptus exempts system accounts unless `authentication.system_account_quota_enabled`. */
  enforceOnCloudAdmin?: boolean;
}

export interface QuotaLimit {
  key: string;
  /** Inclusive maximum. */
  limit: number;
  statement: MatchedStatement;
}

export interface QuotaExceeded extends QuotaLimit {
  requested: number;
}

export interface QuotaResult {
  ok: boolean;
  exceeded: QuotaExceeded[];
  /** The applicable limit per quota key (lower-cased key). */
  limits: Record<string, QuotaLimit>;
}

export function isQuotaKey(lowerKey: string): boolean {
  return lowerKey.includes(':quota-');
}

function limitOf(c: CompiledCondition): number | undefined {
  if (c.op.spec.family !== 'Numeric' || c.op.setOp) return undefined;
  const nums = c.values.map(Number).filter((n) => Number.isFinite(n));
  if (nums.length === 0) return undefined;
  const max = Math.max(...nums); // values are ORed: the most permissive of them
  if (c.op.spec.cmp === 'le') return max;
  if (c.op.spec.cmp === 'lt') return Number.isInteger(max) ? max - 1 : Math.floor(max);
  return undefined;
}

function label(st: CompiledStatement): MatchedStatement {
  return {
    effect: st.effect,
    index: st.index,
    source: 'identity',
    ...(st.policy.name !== undefined ? { policy: st.policy.name } : {}),
    ...(st.sid !== undefined ? { sid: st.sid } : {}),
  };
}

/** The Limit statements that apply to `action`, with the limits they set. */
export function quotaLimits(check: Omit<QuotaCheck, 'usage'>): Record<string, QuotaLimit> {
  const limits: Record<string, QuotaLimit> = {};
  const lowerAction = check.action.toLowerCase();
  const resource = check.resource ?? '*';
  const ctx = new ConditionContext(check.principal, check.env, {
    action: check.action,
    resources: [resource],
    ...(check.conditions ? { conditions: check.conditions } : {}),
  });
  for (const policy of check.policies) {
    if (!policy.hasLimit) continue;
    for (const st of policy.statements) {
      if (st.effect !== 'Limit') continue;
      if (actionMatches(st.actions, lowerAction) === st.notAction) continue;
      if (st.resources) {
        const hit = st.resources.some((p) => p.any || p.match(resource, ctx.lookup) === true);
        if (hit === st.notResource) continue;
      }
      const quotaConds: CompiledCondition[] = [];
      let applies = true;
      for (const c of st.conditions) {
        if (isQuotaKey(c.lowerKey)) quotaConds.push(c);
        else if (!evaluateCondition(c, ctx.lookup)) {
          applies = false;
          break;
        }
      }
      if (!applies) continue;
      for (const c of quotaConds) {
        const limit = limitOf(c);
        if (limit === undefined) continue;
        const prev = limits[c.lowerKey];
        if (!prev || limit < prev.limit) limits[c.lowerKey] = { key: c.key, limit, statement: label(st) };
      }
    }
  }
  return limits;
}

/** Checks the would-be counts against the applicable Limit statements. */
export function evaluateQuota(check: QuotaCheck): QuotaResult {
  if (check.principal.isCloudAdmin && !check.enforceOnCloudAdmin) return { ok: true, exceeded: [], limits: {} };
  const limits = quotaLimits(check);
  const exceeded: QuotaExceeded[] = [];
  for (const [key, requested] of Object.entries(check.usage)) {
    const l = limits[key.toLowerCase()];
    if (l && requested > l.limit) exceeded.push({ ...l, requested });
  }
  return { ok: exceeded.length === 0, exceeded, limits };
}
