/**
 * @module auth/policy
 * The IAM policy engine, pure (imports only src/shared): parse and validate policy documents (AWS grammar plus
 * Eucalyptus's `Limit` effect) into a compiled form, decide requests in Eucalyptus's order, check `Limit` quotas, and
 * cache compiled policies per credential.
 *
 * @example
 * const p = parsePolicy('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}}');
 * authorize({ principal, identityPolicies: [p], request: { action: 's3:GetObject', resources: ['arn:aws:s3:::b/k'] },
 *             env: { sourceIp: '127.0.0.1', now: new Date(), secure: false, region: 'eucalyptus' } });
 * // → { decision: 'Allow', matchedStatement: { effect: 'Allow', index: 0, source: 'identity' }, … }
 */
export { PolicyMessages, malformed, accessDeniedError, encodeAuthorizationMessage, decodeAuthorizationMessage, type DenialInfo } from './errors.js';
export {
  parsePolicy,
  validatePolicy,
  actionMatches,
  type CompiledPolicy,
  type CompiledStatement,
  type Effect,
  type ParseOptions,
  type PolicyKind,
  type PrincipalRef,
} from './parse.js';
export { OPERATORS, parseOperator, parseDate, evaluateCondition, compileCondition, type CompiledCondition } from './conditions.js';
export { parseCidr, parseIp, cidrContains, normalizeIp } from './ip.js';
export { ConditionContext, GLOBAL_KEYS, globalKeys, principalType, type RequestEnvironment } from './context.js';
export {
  authorize,
  authorizeAll,
  principalMatch,
  PolicySet,
  type AuthorizeInput,
  type AuthzResult,
  type Decision,
  type MatchedStatement,
} from './evaluate.js';
export { evaluateQuota, quotaLimits, isQuotaKey, type QuotaCheck, type QuotaResult, type QuotaExceeded, type QuotaLimit } from './quota.js';
export { AuthzCache, PolicyCompileCache, type AuthzCacheOptions } from './cache.js';
