/**
 * @module auth/policy/errors
 * The one error the policy parser throws: AWS's `MalformedPolicyDocument` with AWS's messages.
 */
import { AwsError } from '../../shared/index.js';

/** AWS's messages, as IAM answers them (kept in one place so handlers and tests agree). */
export const PolicyMessages = {
  syntax: 'Syntax errors in policy.',
  version: 'Policy document must be version 2012-10-17 or greater.',
  legacy: 'The policy failed legacy parsing',
  sidUnique: 'Statement IDs (SID) in a single policy must be unique.',
  actions: 'Policy statement must contain actions.',
  resources: 'Policy statement must contain resources.',
  vendor: 'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.',
  oneColon: 'Actions/Condition can contain only one colon.',
  noPrincipal: 'Policy document should not specify a principal.',
  missingPrincipal: 'Missing required field Principal',
  prohibitedResource: 'Has prohibited field Resource',
  limitEffect: 'Effect Limit is only valid in identity (user, group, account) policies.',
} as const;

export function malformed(message: string): AwsError {
  return new AwsError('MalformedPolicyDocument', message, { status: 400 });
}

/** What a denied request reports, per service: EC2 `UnauthorizedOperation` with an encoded message, else AccessDenied. */
export interface DenialInfo {
  decision: 'ExplicitDeny' | 'ImplicitDeny';
  action?: string;
  resource?: string;
  reason?: string;
  matchedStatement?: { policy?: string; sid?: string; source: string };
}

/** Encodes the decision like EC2's "encoded authorization failure message" (decodable with DecodeAuthorizationMessage). */
export function encodeAuthorizationMessage(principalArn: string, d: DenialInfo): string {
  const body = {
    allowed: false,
    explicitDeny: d.decision === 'ExplicitDeny',
    matchedStatements: d.matchedStatement ? { items: [d.matchedStatement] } : { items: [] },
    failures: { items: [] },
    context: { principal: { arn: principalArn }, action: d.action, resource: d.resource, reason: d.reason },
  };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

export function decodeAuthorizationMessage(encoded: string): unknown {
  try {
    return JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The service's access-denied error for a denied decision. */
export function accessDeniedError(service: string, principalArn: string, d: DenialInfo): AwsError {
  if (service === 'ec2') {
    return new AwsError(
      'UnauthorizedOperation',
      `You are not authorized to perform this operation. Encoded authorization failure message: ${encodeAuthorizationMessage(principalArn, d)}`,
      { status: 403 },
    );
  }
  if (service === 's3') return new AwsError('AccessDenied', 'Access Denied', { status: 403 });
  const how = d.decision === 'ExplicitDeny' ? ` with an explicit deny in ${d.matchedStatement?.source === 'resource' ? 'a resource-based policy' : d.matchedStatement?.source === 'session' ? 'a session policy' : 'an identity-based policy'}` : '';
  const on = d.resource && d.resource !== '*' ? ` on resource: ${d.resource}` : '';
  return new AwsError('AccessDenied', `User: ${principalArn} is not authorized to perform: ${d.action ?? 'this action'}${on}${how}`, { status: 403 });
}
