/**
 * @module auth/sigv4/post
 * Browser-based S3 uploads (POST with multipart/form-data): the form's policy document is what is signed.
 * - SigV4: fields `policy`, `x-amz-algorithm`, `x-amz-credential`, `x-amz-date`, `x-amz-signature` (hex HMAC of the
 *   base64 policy with the SigV4 signing key);
 * - SigV2: fields `AWSAccessKeyId`, `policy`, `signature` (base64 HMAC-SHA1 of the base64 policy);
 * - none of them: anonymous (the bucket's ACL/policy decides).
 * `checkPostPolicy` then checks the policy: expiration, every condition, and that every form field is covered.
 * Field names are matched case-insensitively: pass them lower-cased (values as sent).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SigningIdentity } from '../../shared/index.js';
import { ALGORITHM, parseAmzDate, safeEqual, signHex, signingKey } from './canonical.js';
import { AuthError } from './errors.js';
import { checkScope, checkSessionToken, lookupKey, parseCredential } from './sigv4.js';
import type { VerifyOptions } from './types.js';

export type PostPolicyCondition =
  | { op: 'eq' | 'starts-with'; field: string; value: string; raw: string }
  | { op: 'content-length-range'; min: number; max: number; raw: string };

export interface PostPolicy {
  expiration: Date;
  conditions: PostPolicyCondition[];
}

export interface PostAuthResult {
  identity: SigningIdentity | null;
  method: 'sigv4-post' | 'sigv2-post' | 'anonymous';
  region?: string;
  /** The decoded policy (absent for anonymous uploads without one). */
  policy?: PostPolicy;
}

/** Parses the base64 policy document. Malformed → AuthError 'Malformed' (S3 InvalidPolicyDocument). */
export function parsePostPolicy(policyB64: string, method: string): PostPolicy {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(policyB64, 'base64').toString('utf8'));
  } catch {
    throw new AuthError('Malformed', 'Invalid Policy: Invalid JSON.', { method });
  }
  const d = doc as { expiration?: unknown; conditions?: unknown };
  if (typeof d !== 'object' || d === null || typeof d.expiration !== 'string') {
    throw new AuthError('Malformed', 'Invalid Policy: Policy missing expiration.', { method });
  }
  const expiration = new Date(d.expiration);
  if (Number.isNaN(expiration.getTime())) throw new AuthError('Malformed', 'Invalid Policy: Invalid expiration.', { method });
  if (!Array.isArray(d.conditions)) throw new AuthError('Malformed', 'Invalid Policy: Policy missing conditions.', { method });
  const conditions: PostPolicyCondition[] = [];
  const field = (f: string): string => (f.startsWith('$') ? f.slice(1) : f).toLowerCase();
  for (const c of d.conditions as unknown[]) {
    const raw = JSON.stringify(c);
    if (Array.isArray(c)) {
      const [op, a, b] = c as unknown[];
      const opName = typeof op === 'string' ? op.toLowerCase() : '';
      if (opName === 'content-length-range' && c.length === 3) {
        const min = Number(a);
        const max = Number(b);
        if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < min) {
          throw new AuthError('Malformed', `Invalid Policy: Invalid content-length-range ${raw}.`, { method });
        }
        conditions.push({ op: 'content-length-range', min, max, raw });
      } else if ((opName === 'eq' || opName === 'starts-with') && c.length === 3 && typeof a === 'string' && typeof b === 'string') {
        conditions.push({ op: opName, field: field(a), value: b, raw });
      } else {
        throw new AuthError('Malformed', `Invalid Policy: Invalid condition ${raw}.`, { method });
      }
    } else if (typeof c === 'object' && c !== null && Object.keys(c).length === 1) {
      const [k, v] = Object.entries(c)[0]!;
      if (typeof v !== 'string') throw new AuthError('Malformed', `Invalid Policy: Invalid condition ${raw}.`, { method });
      conditions.push({ op: 'eq', field: field(k), value: v, raw });
    } else {
      throw new AuthError('Malformed', `Invalid Policy: Invalid condition ${raw}.`, { method });
    }
  }
  return { expiration, conditions };
}

/** Verifies a POST form's signature. `fields`: form fields with lower-cased names (the file part excluded). */
export async function authenticatePost(fields: Record<string, string>, opts: VerifyOptions): Promise<PostAuthResult> {
  const policyB64 = fields['policy'];
  if (fields['x-amz-signature'] !== undefined || fields['x-amz-algorithm'] !== undefined || fields['x-amz-credential'] !== undefined) {
    const method = 'sigv4-post';
    const algorithm = fields['x-amz-algorithm'];
    const credRaw = fields['x-amz-credential'];
    const amzDate = fields['x-amz-date'];
    const signature = fields['x-amz-signature'];
    if (!policyB64 || !algorithm || !credRaw || !amzDate || !signature) {
      throw new AuthError('Incomplete', "Bucket POST must contain the fields 'policy', 'x-amz-algorithm', 'x-amz-credential', 'x-amz-date' and 'x-amz-signature'.", { method });
    }
    if (algorithm !== ALGORITHM) throw new AuthError('UnsupportedAlgorithm', `X-Amz-Algorithm only supports "${ALGORITHM}"`, { method, argumentValue: algorithm });
    if (!parseAmzDate(amzDate)) throw new AuthError('Malformed', `X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`, { method });
    const cred = parseCredential(credRaw, method);
    checkScope(cred, amzDate, { ...opts, service: 's3' }, method);
    const id = await lookupKey(opts, cred.accessKeyId, method);
    const key = signingKey(id.secretAccessKey, cred.date, cred.region, cred.service);
    if (!safeEqual(signHex(key, policyB64), signature)) {
      throw new AuthError('SignatureMismatch', 'The request signature we calculated does not match the signature you provided.', {
        method,
        accessKeyId: id.accessKeyId,
        stringToSign: policyB64,
        signatureProvided: signature,
      });
    }
    checkSessionToken(id, fields['x-amz-security-token'], opts.now, method);
    return { identity: id, method, region: cred.region, policy: parsePostPolicy(policyB64, method) };
  }
  if (fields['awsaccesskeyid'] !== undefined || fields['signature'] !== undefined) {
    const method = 'sigv2-post';
    if (opts.allowSigV2 === false) throw new AuthError('UnsupportedAlgorithm', 'Signature Version 2 is disabled.', { method });
    const akid = fields['awsaccesskeyid'];
    const signature = fields['signature'];
    if (!policyB64 || !akid || !signature) {
      throw new AuthError('Incomplete', "Bucket POST must contain the fields 'AWSAccessKeyId', 'policy' and 'signature'.", { method });
    }
    const id = await lookupKey(opts, akid, method);
    const computed = createHmac('sha1', id.secretAccessKey).update(policyB64, 'utf8').digest();
    const provided = Buffer.from(signature, 'base64');
    const ok = provided.length === computed.length && timingSafeEqual(provided, computed);
    if (!ok) {
      throw new AuthError('SignatureMismatch', 'The request signature we calculated does not match the signature you provided.', {
        method,
        accessKeyId: id.accessKeyId,
        stringToSign: policyB64,
        signatureProvided: signature,
      });
    }
    checkSessionToken(id, fields['x-amz-security-token'], opts.now, method);
    return { identity: id, method, policy: parsePostPolicy(policyB64, method) };
  }
  if (!opts.allowAnonymous) throw new AuthError('Missing', 'Access Denied', { method: 'anonymous' });
  return policyB64 ? { identity: null, method: 'anonymous', policy: parsePostPolicy(policyB64, 'anonymous') } : { identity: null, method: 'anonymous' };
}

/** Form fields that need no condition in the policy. */
function exempt(name: string): boolean {
  return (
    name === 'x-amz-signature' || name === 'signature' || name === 'awsaccesskeyid' || name === 'policy' || name === 'file' || name.startsWith('x-ignore-')
  );
}

/**
 * Checks a signed POST's policy against the form: not expired, every condition satisfied (the `bucket` condition
 * against `bucket`), every form field covered by a condition. Returns the content-length-range the caller must
 * enforce on the file (EntityTooLarge / EntityTooSmall). Violations → AuthError 'PolicyViolation' (S3 AccessDenied
 * "Invalid according to Policy: …").
 */
export function checkPostPolicy(result: PostAuthResult, fields: Record<string, string>, bucket: string, now: Date): { contentLength?: { min: number; max: number } } {
  const p = result.policy;
  if (!p) return {};
  const method = result.method;
  const fail = (why: string): AuthError => new AuthError('PolicyViolation', `Invalid according to Policy: ${why}`, { method });
  if (p.expiration.getTime() < now.getTime()) throw fail('Policy expired.');
  const covered = new Set<string>();
  let contentLength: { min: number; max: number } | undefined;
  for (const c of p.conditions) {
    if (c.op === 'content-length-range') {
      contentLength = { min: c.min, max: c.max };
      continue;
    }
    covered.add(c.field);
    const actual = c.field === 'bucket' ? bucket : fields[c.field];
    if (actual === undefined) throw fail(`Policy Condition failed: ${c.raw}`);
    if (c.op === 'eq' && actual !== c.value) throw fail(`Policy Condition failed: ${c.raw}`);
    if (c.op === 'starts-with') {
      // Content-Type may list several values, each must match.
      const values = c.field === 'content-type' ? actual.split(',').map((v) => v.trim()) : [actual];
      if (!values.every((v) => v.startsWith(c.value))) throw fail(`Policy Condition failed: ${c.raw}`);
    }
  }
  for (const name of Object.keys(fields)) {
    if (!exempt(name) && !covered.has(name)) throw fail(`Extra input fields: ${name}`);
  }
  return contentLength ? { contentLength } : {};
}
