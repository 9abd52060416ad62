/**
 * @module api/ec2/describe
 * Keyset pagination for Describe calls answered by the database (DescribeInstances at scale): the NextToken carries
 * the last id of the page. In-memory Describe calls use protocol's `applyFilters`/`paginate`.
 */
import { AwsError } from '../../shared/index.js';

export function hasWildcard(v: string): boolean {
  return v.includes('*') || v.includes('?');
}

export function encodeToken(after: string): string {
  return Buffer.from(JSON.stringify({ a: after })).toString('base64url');
}

export function decodeToken(token: string | undefined): string | undefined {
  if (token === undefined || token === '') return undefined;
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { a?: unknown };
    if (typeof v.a === 'string') return v.a;
  } catch {
    // fall through
  }
  throw new AwsError('InvalidNextToken', `The token '${token}' is invalid`);
}

/** Checks MaxResults against the operation's bounds (AWS: InvalidParameterValue outside them). */
export function checkMaxResults(max: number | undefined, min: number, upper: number, withIds: boolean): number | undefined {
  if (max === undefined) return undefined;
  if (withIds) throw new AwsError('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
  if (!Number.isInteger(max) || max < min || max > upper) {
    throw new AwsError('InvalidParameterValue', `Value (${max}) for parameter maxResults is invalid. Expecting a value between ${min} and ${upper}.`);
  }
  return max;
}

