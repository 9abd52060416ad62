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
