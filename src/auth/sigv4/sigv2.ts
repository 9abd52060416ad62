/**
 * @module auth/sigv4/sigv2
 * Signature Version 2: the query-API form (EC2/IAM/STS: `SignatureVersion=2`, HmacSHA256/HmacSHA1, parameters in
 * the query or a form body) and the S3 forms (header `AWS AKID:sig`, query `AWSAccessKeyId/Expires/Signature`).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SigningIdentity } from '../../shared/index.js';
import { encodeBytes, parseHttpDate, parseQuery, percentDecode, reencodePath, type QueryParam } from './canonical.js';
import { AuthError } from './errors.js';
import { MAX_SKEW_MS, checkSessionToken, firstHeader, lookupKey, parseQueryCached } from './sigv4.js';
import type { AuthResult, SignedRequest, VerifyOptions } from './types.js';

/** Decodes both base64 signatures and compares them in constant time. */
function base64Equal(provided: string, computed: Buffer): boolean {
  const p = Buffer.from(provided.trim(), 'base64');
  if (p.length !== computed.length) {
    timingSafeEqual(computed, computed);
    return false;
  }
  return timingSafeEqual(p, computed);
}

function isFormBody(req: SignedRequest): boolean {
  const ct = firstHeader(req.headers, 'content-type') ?? '';
  return req.body !== undefined && req.method.toUpperCase() === 'POST' && /^application\/x-www-form-urlencoded/i.test(ct.trim());
}

/** All request parameters of a query API: the query string, then a form body. */
export function queryApiParams(req: SignedRequest): QueryParam[] {
  const q = parseQueryCached(req);
  if (!isFormBody(req)) return q;
  return [...q, ...parseQuery(req.body!.toString('utf8'))];
}

/** True when the parameters carry SigV2 query authentication. */
export function hasSigV2QueryParams(params: QueryParam[]): boolean {
  return params.some((p) => p.key === 'SignatureVersion' || p.key === 'AWSAccessKeyId');
}

function get(params: QueryParam[], key: string): string | undefined {
  for (const p of params) if (p.key === key) return p.value;
  return undefined;
}

/** `METHOD\nhost\npath\n<params sorted by name, RFC 3986 encoded, without Signature>`. */
export function sigV2QueryStringToSign(method: string, host: string, path: string, params: QueryParam[]): string {
  const pairs = params
    .filter((p) => p.key !== 'Signature')
    .map((p) => [encodeBytes(Buffer.from(p.key, 'utf8'), false), encodeBytes(Buffer.from(p.value, 'utf8'), false)] as [string, string]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return `${method.toUpperCase()}\n${host}\n${path}\n${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`;
}

/** Parses an ISO 8601 timestamp as query SigV2 clients send it (`2011-10-03T15:19:30Z`, millis and zone optional). */
function parseIsoTimestamp(s: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s.trim());
  if (!m) return undefined;
  const zone = m[8] ?? 'Z';
  const t = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ?? ''}${zone.length === 5 ? zone.slice(0, 3) + ':' + zone.slice(3) : zone}`);
  return Number.isNaN(t) ? undefined : new Date(t);
}

export async function verifySigV2Query(req: SignedRequest, opts: VerifyOptions, params: QueryParam[]): Promise<AuthResult> {
  const method = 'sigv2-query';
  const version = get(params, 'SignatureVersion');
  if (version !== '2') {
    throw new AuthError('UnsupportedAlgorithm', `SignatureVersion '${version ?? ''}' is not supported; use 2 or 4.`, { method });
  }
  const sigMethod = get(params, 'SignatureMethod');
  const algo = sigMethod === 'HmacSHA256' ? 'sha256' : sigMethod === 'HmacSHA1' ? 'sha1' : undefined;
  if (!algo) throw new AuthError('UnsupportedAlgorithm', `SignatureMethod '${sigMethod ?? ''}' is not supported.`, { method });
  const akid = get(params, 'AWSAccessKeyId');
  const signature = get(params, 'Signature');
  const timestamp = get(params, 'Timestamp');
  const expires = get(params, 'Expires');
  if (!akid) throw new AuthError('Missing', 'Request is missing Authentication Token', { method });
  if (!signature || (timestamp === undefined && expires === undefined)) {
    throw new AuthError('Incomplete', 'SigV2 requires AWSAccessKeyId, Signature and Timestamp or Expires.', { method });
  }
  const now = opts.now;
  if (timestamp !== undefined) {
    const t = parseIsoTimestamp(timestamp);
    if (!t) throw new AuthError('Malformed', `Invalid Timestamp '${timestamp}'.`, { method });
    if (Math.abs(t.getTime() - now.getTime()) > MAX_SKEW_MS) {
      throw new AuthError('Skewed', 'Request has expired.', { method, requestTime: t.toISOString(), serverTime: now.toISOString(), future: t > now });
    }
  } else {
    const t = parseIsoTimestamp(expires!);
    if (!t) throw new AuthError('Malformed', `Invalid Expires '${expires}'.`, { method });
    if (now.getTime() > t.getTime()) {
      throw new AuthError('Expired', 'Request has expired.', { method, expiresAt: t.toISOString(), serverTime: now.toISOString() });
    }
  }
  const id = await lookupKey(opts, akid, method);
  const hostHeader = (firstHeader(req.headers, 'host') ?? '').trim().toLowerCase();
  const hosts = [hostHeader];
  const noPort = hostHeader.replace(/:\d+$/, '');
  if (noPort !== hostHeader) hosts.push(noPort);
  const paths = [req.path || '/'];
  const re = reencodePath(req.path || '/');
  if (!paths.includes(re)) paths.push(re);
  let first: string | undefined;
  for (const host of hosts) {
    for (const path of paths) {
      const sts = sigV2QueryStringToSign(req.method, host, path, params);
      first ??= sts;
      if (base64Equal(signature, createHmac(algo, id.secretAccessKey).update(sts, 'utf8').digest())) {
        checkSessionToken(id, get(params, 'SecurityToken'), now, method);
        return { identity: id, method, payload: { kind: 'none' } };
      }
    }
  }
  throw new AuthError('SignatureMismatch', 'The request signature we calculated does not match the signature you provided.', {
    method,
    accessKeyId: id.accessKeyId,
    stringToSign: first,
    signatureProvided: signature,
  });
}

/** Sub-resources that S3 SigV2 includes in the CanonicalizedResource (sorted when signed). */
export const S3_SUBRESOURCES = new Set([
  'accelerate', 'acl', 'analytics', 'cors', 'delete', 'encryption', 'intelligent-tiering', 'inventory', 'legal-hold',
  'lifecycle', 'location', 'logging', 'metrics', 'notification', 'object-lock', 'ownershipControls', 'partNumber',
  'policy', 'policyStatus', 'publicAccessBlock', 'replication', 'requestPayment', 'response-cache-control',
  'response-content-disposition', 'response-content-encoding', 'response-content-language', 'response-content-type',
  'response-expires', 'restore', 'retention', 'select', 'select-type', 'tagging', 'torrent', 'uploadId', 'uploads',
  'versionId', 'versioning', 'versions', 'website',
]);

/** CanonicalizedResource: `/bucket` (virtual host) + path + `?sub&sub=v` for the S3 sub-resources, sorted. */
export function s3CanonicalResource(path: string, params: QueryParam[], virtualHostBucket?: string): string {
  const subs = params
    .filter((p) => S3_SUBRESOURCES.has(p.key))
    .map((p) => (p.hasEquals ? `${p.key}=${p.value}` : p.key))
    .sort((a, b) => {
      const ka = a.split('=')[0]!;
      const kb = b.split('=')[0]!;
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
  const prefix = virtualHostBucket ? `/${virtualHostBucket}` : '';
  return `${prefix}${path || '/'}${subs.length ? '?' + subs.join('&') : ''}`;
}

/** `x-amz-*` headers: lower-case names, sorted, values trimmed and joined with `,`, each line ending in `\n`. */
export function s3CanonicalAmzHeaders(headers: Record<string, string[]>): string {
  return Object.keys(headers)
    .filter((k) => k.startsWith('x-amz-'))
    .sort()
    .map((k) => `${k}:${(headers[k] ?? []).map((v) => v.trim().replace(/\s*\n\s*/g, ' ')).join(',')}\n`)
    .join('');
}

export function s3StringToSign(req: SignedRequest, dateLine: string, resource: string): string {
  const h = (n: string): string => (firstHeader(req.headers, n) ?? '').trim();
  return `${req.method.toUpperCase()}\n${h('content-md5')}\n${h('content-type')}\n${dateLine}\n${s3CanonicalAmzHeaders(req.headers)}${resource}`;
}

function s3Resources(req: SignedRequest, params: QueryParam[]): string[] {
  const out = [s3CanonicalResource(req.path, params, req.virtualHostBucket)];
  const decoded = percentDecode(req.path, false, true).toString('utf8');
  const alt = s3CanonicalResource(reencodePath(req.path), params, req.virtualHostBucket);
  if (!out.includes(alt)) out.push(alt);
  const dec = s3CanonicalResource(decoded, params, req.virtualHostBucket);
  if (!out.includes(dec)) out.push(dec);
  return out;
}

function checkS3V2(id: SigningIdentity, req: SignedRequest, params: QueryParam[], dateLine: string, signature: string, method: string): void {
  let first: string | undefined;
  for (const resource of s3Resources(req, params)) {
    const sts = s3StringToSign(req, dateLine, resource);
    first ??= sts;
    if (base64Equal(signature, createHmac('sha1', id.secretAccessKey).update(sts, 'utf8').digest())) return;
  }
  throw new AuthError('SignatureMismatch', 'The request signature we calculated does not match the signature you provided.', {
    method,
    accessKeyId: id.accessKeyId,
    stringToSign: first,
    signatureProvided: signature,
  });
}

export async function verifyS3V2Header(req: SignedRequest, opts: VerifyOptions, authorization: string): Promise<AuthResult> {
  const method = 'sigv2-s3-header';
  const m = /^AWS\s+([^:\s]+):(\S+)\s*$/.exec(authorization.trim());
  if (!m) throw new AuthError('Malformed', 'Authorization header is invalid -- one and only one \' \' (space) required', { method, argumentName: 'Authorization', argumentValue: authorization.split(':')[0] });
  const [, akid, signature] = m as unknown as [string, string, string];
  const amz = firstHeader(req.headers, 'x-amz-date');
  const dateHdr = firstHeader(req.headers, 'date');
  const raw = amz ?? dateHdr;
  if (raw === undefined) throw new AuthError('Incomplete', 'AWS authentication requires a valid Date or x-amz-date header', { method });
  const date = parseHttpDate(raw);
  if (!date) throw new AuthError('Incomplete', 'AWS authentication requires a valid Date or x-amz-date header', { method });
  const diff = date.getTime() - opts.now.getTime();
  if (Math.abs(diff) > MAX_SKEW_MS) {
    throw new AuthError('Skewed', 'The difference between the request time and the current time is too large.', {
      method,
      requestTime: raw,
      serverTime: opts.now.toUTCString(),
      future: diff > 0,
    });
  }
  const id = await lookupKey(opts, akid, method);
  const params = parseQueryCached(req);
  // With x-amz-date present, the Date line is empty (x-amz-date is signed among the x-amz-* headers).
  checkS3V2(id, req, params, amz !== undefined ? '' : (dateHdr ?? '').trim(), signature, method);
  checkSessionToken(id, firstHeader(req.headers, 'x-amz-security-token'), opts.now, method);
  return { identity: id, method, payload: { kind: 'unsigned' } };
}

export async function verifyS3V2Query(req: SignedRequest, opts: VerifyOptions): Promise<AuthResult> {
  const method = 'sigv2-s3-query';
  const params = parseQueryCached(req);
  const akid = get(params, 'AWSAccessKeyId');
  const signature = get(params, 'Signature');
  const expires = get(params, 'Expires');
  if (!akid || !signature || expires === undefined) {
    throw new AuthError('Incomplete', 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters', { method });
  }
  if (!/^\d{1,12}$/.test(expires)) {
    throw new AuthError('Malformed', 'Invalid Expires', { method, argumentName: 'Expires', argumentValue: expires });
  }
  const expiresAt = Number(expires) * 1000;
  if (opts.now.getTime() > expiresAt) {
    throw new AuthError('Expired', 'Request has expired', {
      method,
      expiresAt: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      serverTime: opts.now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
  }
  const id = await lookupKey(opts, akid, method);
  checkS3V2(id, req, params, expires, signature, method);
  checkSessionToken(id, get(params, 'x-amz-security-token') ?? firstHeader(req.headers, 'x-amz-security-token'), opts.now, method);
  return { identity: id, method, payload: { kind: 'unsigned' } };
}
