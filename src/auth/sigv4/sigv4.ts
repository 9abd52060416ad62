/**
 * @module auth/sigv4/sigv4
 * SigV4 verification: the Authorization header form and the presigned (query) form.
 */
import type { SigningIdentity } from '../../shared/index.js';
import {
  ALGORITHM,
  EMPTY_SHA256,
  buildCanonicalRequest,
  buildStringToSign,
  canonicalHeaders,
  canonicalQueryCandidates,
  canonicalUriCandidates,
  firstCanonicalUri,
  parseAmzDate,
  parseHttpDate,
  parseQuery,
  queryGet,
  safeEqual,
  sha256Hex,
  signHex,
  signingKey,
  toAmzDate,
  type QueryParam,
} from './canonical.js';
import { AuthError } from './errors.js';
import type { AuthResult, PayloadMode, SignedRequest, VerifyOptions } from './types.js';

export const MAX_SKEW_MS = 15 * 60 * 1000;
export const MAX_PRESIGN_EXPIRES = 604800;

export const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export interface Credential {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  terminator: string;
}

export interface ParsedAuthorization {
  credential: Credential;
  signedHeaders: string[];
  signedHeadersRaw: string;
  signature: string;
}

export function firstHeader(headers: Record<string, string[]>, name: string): string | undefined {
  const v = headers[name];
  return v === undefined || v.length === 0 ? undefined : v[0];
}

export function parseCredential(raw: string, method: string): Credential {
  const parts = raw.split('/');
  if (parts.length !== 5 || parts.includes('')) {
    throw new AuthError('Malformed', `the Credential '${raw.split('/')[0] ?? ''}/…' is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`, {
      method,
    });
  }
  const [accessKeyId, date, region, service, terminator] = parts as [string, string, string, string, string];
  return { accessKeyId, date, region, service, terminator };
}

/** Parses `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` (the algorithm already checked). */
export function parseAuthorizationHeader(value: string): ParsedAuthorization {
  const method = 'sigv4-header';
  let credential: string | undefined;
  let signedHeadersRaw: string | undefined;
  let signature: string | undefined;
  // `Key=value` pairs separated by commas (whitespace around either allowed), scanned in place
  let i = ALGORITHM.length;
  const n = value.length;
  while (i < n) {
    let end = value.indexOf(',', i);
    if (end < 0) end = n;
    const p = value.slice(i, end).trim();
    i = end + 1;
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq < 0) throw new AuthError('Incomplete', `Authorization header requires a 'key=value' pair, got '${p.slice(0, 40)}'.`, { method });
    // (trim only when a character next to '=' might be whitespace)
    const k = eq > 0 && isVisibleAscii(p.charCodeAt(eq - 1)) ? p.slice(0, eq) : p.slice(0, eq).trim();
    const v = eq + 1 < p.length && isVisibleAscii(p.charCodeAt(eq + 1)) ? p.slice(eq + 1) : p.slice(eq + 1).trim();
    // the last occurrence wins
    if (k === 'Credential') credential = v;
    else if (k === 'SignedHeaders') signedHeadersRaw = v;
    else if (k === 'Signature') signature = v;
  }
  if (!credential || !signedHeadersRaw || !signature) {
    const present = { Credential: credential, SignedHeaders: signedHeadersRaw, Signature: signature };
    const missing = (['Credential', 'SignedHeaders', 'Signature'] as const).filter((k) => !present[k]);
    throw new AuthError(
      'Incomplete',
      missing.map((k) => `Authorization header requires '${k}' parameter.`).join(' ') +
        ` Authorization=${ALGORITHM} ${authorizationKeys(value).join(', ')}`,
      { method },
    );
  }
  const cred = parseCredential(credential, method);
  const signedHeaders = signedHeadersRaw.split(';');
  // lower-case ASCII names need no per-name lower-casing to be checked
  if (signedHeaders.includes('') || (!LOWER_NAMES.test(signedHeadersRaw) && signedHeaders.some((h) => h !== h.toLowerCase()))) {
    throw new AuthError('Malformed', 'SignedHeaders must be lower-case header names separated by semicolons.', { method });
  }
  return { credential: cred, signedHeaders, signedHeadersRaw, signature };
}
/**
 * `parseAuthorizationHeader` and the credential scope, remembered per header prefix: every request a client signs
 * with one key on one day for one service has the same `Credential` and `SignedHeaders`, and only its final
 * `Signature=<64 hex>` differs. A header of that form whose prefix was parsed before is not parsed again; any other
 * goes through the full parse. (The prefix holds no secret: an access key id, a date, region, service, header names.)
 */
export function parseAuthorizationCached(value: string): ParsedAuthorization & { scope: string } {
  const at = value.lastIndexOf(SIGNATURE_PAIR);
  const tail = at > 0 && value.length - at - SIGNATURE_PAIR.length === 64;
  if (tail) {
    const hit = authPrefixes.get(value.slice(0, at));
    if (hit !== undefined) {
      const signature = value.slice(at + SIGNATURE_PAIR.length);
      if (HEX64.test(signature)) return { credential: hit.credential, signedHeaders: hit.signedHeaders, signedHeadersRaw: hit.signedHeadersRaw, signature, scope: hit.scope };
    }
  }
  const parsed = parseAuthorizationHeader(value);
  const c = parsed.credential;
  const out = { ...parsed, scope: `${c.date}/${c.region}/${c.service}/${c.terminator}` };
  if (tail && HEX64.test(parsed.signature) && parsed.signature === value.slice(at + SIGNATURE_PAIR.length)) {
    if (authPrefixes.size >= 1024) authPrefixes.clear();
    authPrefixes.set(value.slice(0, at), out);
  }
  return out;
}
const SIGNATURE_PAIR = ', Signature=';
const authPrefixes = new Map<string, ParsedAuthorization & { scope: string }>();

/** The distinct keys of an Authorization header's pairs, in order (for the error message only). */
function authorizationKeys(value: string): string[] {
  const seen: string[] = [];
  for (const part of value.slice(ALGORITHM.length).split(',')) {
    const p = part.trim();
    const eq = p.indexOf('=');
    if (p === '' || eq < 0) continue;
    const k = p.slice(0, eq).trim();
    if (!seen.includes(k)) seen.push(k);
  }
  return seen;
}
const LOWER_NAMES = /^[a-z0-9;!#$%&'*+\-.^_`|~]*$/;
function isVisibleAscii(c: number): boolean {
  return c > 0x20 && c < 0x7f;
}

/** Scope checks common to header and query forms: terminator, service, region, and the date against the request's. */
export function checkScope(cred: Credential, amzDate: string, opts: VerifyOptions, method: string): void {
  if (cred.terminator !== 'aws4_request') {
    throw new AuthError('Malformed', `Credential should be scoped with a valid terminator: 'aws4_request', not '${cred.terminator}'.`, { method });
  }
  const expected = opts.signingName ?? opts.service;
  if (cred.service !== expected) {
    throw new AuthError('Malformed', `Credential should be scoped to correct service: '${expected}'.`, { method });
  }
  if (cred.date !== amzDate.slice(0, 8)) {
    throw new AuthError('Malformed', `Invalid credential date. Date is not the same as X-Amz-Date.`, { method });
  }
  if (opts.regions && opts.regions.length > 0 && !opts.regions.includes(cred.region)) {
    throw new AuthError('BadRegion', `Credential should be scoped to a valid region, not '${cred.region}'.`, {
      method,
      region: cred.region,
      expectedRegion: opts.regions[0],
    });
  }
}

/** Looks the key up; UnknownKey when the store has no such (active) key. */
export async function lookupKey(opts: VerifyOptions, accessKeyId: string, method: string): Promise<SigningIdentity> {
  const id = await opts.store.lookup(accessKeyId);
  if (!id) throw new AuthError('UnknownKey', 'The access key ID is not known.', { method, accessKeyId });
  return id;
}

/** Temporary credentials: the token presented must be the key's; then it must not have expired. */
export function checkSessionToken(id: SigningIdentity, presented: string | undefined, now: Date, method: string): void {
  if (id.sessionToken !== undefined) {
    if (presented === undefined || !safeEqual(presented, id.sessionToken)) {
      throw new AuthError('InvalidToken', 'The security token included in the request is invalid.', { method, accessKeyId: id.accessKeyId });
    }
  } else if (presented !== undefined && presented !== '') {
    throw new AuthError('InvalidToken', 'The security token included in the request is invalid.', { method, accessKeyId: id.accessKeyId });
  }
  if (id.expiresAt !== undefined && id.expiresAt.getTime() < now.getTime()) {
    throw new AuthError('ExpiredToken', 'The security token included in the request is expired.', { method, accessKeyId: id.accessKeyId });
  }
}

function checkSkew(date: Date, now: Date, method: string): void {
  const diff = date.getTime() - now.getTime();
  if (Math.abs(diff) > MAX_SKEW_MS) {
    throw new AuthError('Skewed', 'The difference between the request time and the current time is too large.', {
      method,
      requestTime: date.toISOString(),
      serverTime: now.toISOString(),
      future: diff > 0,
    });
  }
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Decides the payload hash used in the canonical request, and what the caller must still verify.
 * Query APIs hand us the body: its hash is computed here (and must equal x-amz-content-sha256 when given).
 */
function payloadFor(
  req: SignedRequest,
  opts: VerifyOptions,
  method: 'sigv4-header' | 'sigv4-query',
  contentSha: string | undefined,
): { hash: string; mode: PayloadMode | 'chunked-signed' | 'chunked-signed-trailer' | 'chunked-unsigned-trailer' } {
  const s3 = opts.service === 's3';
  if (contentSha === undefined) {
    if (req.body !== undefined) return { hash: sha256Hex(req.body), mode: { kind: 'none' } };
    if (method === 'sigv4-query') return { hash: s3 ? UNSIGNED_PAYLOAD : EMPTY_SHA256, mode: s3 ? { kind: 'unsigned' } : { kind: 'none' } };
    if (s3) throw new AuthError('MissingContentSHA256', 'Missing required header for this request: x-amz-content-sha256', { method });
    return { hash: EMPTY_SHA256, mode: { kind: 'none' } };
  }
  if (HEX64.test(contentSha)) {
    if (req.body !== undefined) {
      const computed = sha256Hex(req.body);
      if (computed !== contentSha) {
        throw new AuthError('ContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", {
          method,
          clientSha256: contentSha,
          computedSha256: computed,
        });
      }
      return { hash: contentSha, mode: { kind: 'none' } };
    }
    return { hash: contentSha, mode: { kind: 'sha256', expected: contentSha } };
  }
  if (!s3) {
    // Query APIs always sign their (small) body; anything but a hash would leave the parameters unsigned.
    throw new AuthError('Malformed', 'x-amz-content-sha256 must be the hex SHA-256 of the body.', { method });
  }
  switch (contentSha) {
    case UNSIGNED_PAYLOAD:
      return { hash: contentSha, mode: { kind: 'unsigned' } };
    case STREAMING_SIGNED:
      return { hash: contentSha, mode: 'chunked-signed' };
    case STREAMING_SIGNED_TRAILER:
      return { hash: contentSha, mode: 'chunked-signed-trailer' };
    case STREAMING_UNSIGNED_TRAILER:
      return { hash: contentSha, mode: 'chunked-unsigned-trailer' };
    default:
      if (contentSha.startsWith('STREAMING-AWS4-ECDSA')) {
        throw new AuthError('UnsupportedAlgorithm', 'SigV4a (AWS4-ECDSA-P256-SHA256) is not supported.', { method, argumentValue: contentSha });
      }
      throw new AuthError('Malformed', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-…, or a valid sha256 value.', {
        method,
        argumentName: 'x-amz-content-sha256',
        argumentValue: contentSha,
      });
  }
}

interface Attempt {
  canonicalRequest: string;
  stringToSign: string;
}

/**
 * Tries each candidate canonical URI × query; returns true on the first match, else the first attempt for details.
 * The most likely URI is tried before the other candidates are even computed.
 */
function matchAny(
  req: SignedRequest,
  s3: boolean,
  queryCandidates: string[],
  headersBlock: string,
  signedHeadersRaw: string,
  payloadHash: string,
  amzDate: string,
  scope: string,
  key: Buffer,
  signature: string,
): { ok: true } | { ok: false; first: Attempt } {
  let first: Attempt | undefined;
  const method = req.method.toUpperCase();
  const likely = firstCanonicalUri(req.path, s3);
  // the most likely URI first; the other candidates are computed only when it does not match
  let uris: string[] | undefined;
  for (let i = -1; ; i++) {
    let uri: string;
    if (i < 0) uri = likely;
    else {
      uris ??= canonicalUriCandidates(req.path, s3);
      if (i >= uris.length) break;
      uri = uris[i]!;
      if (uri === likely) continue;
    }
    for (const q of queryCandidates) {
      const canonicalRequest = buildCanonicalRequest(method, uri, q, headersBlock, signedHeadersRaw, payloadHash);
      const stringToSign = buildStringToSign(amzDate, scope, canonicalRequest);
      if (safeEqual(signHex(key, stringToSign), signature)) return { ok: true };
      first ??= { canonicalRequest, stringToSign };
    }
  }
  return { ok: false, first: first! };
}

/**
 * The derived signing key for an identity and credential scope, kept beside the identity object the credential store
 * hands out (its cache returns the same object for the same key), so the common case costs no hashing at all.
 */
const identityKeys = new WeakMap<SigningIdentity, { secret: string; date: string; region: string; service: string; key: Buffer }>();
function signingKeyFor(id: SigningIdentity, c: Credential): Buffer {
  const hit = identityKeys.get(id);
  if (hit && hit.secret === id.secretAccessKey && hit.date === c.date && hit.region === c.region && hit.service === c.service) return hit.key;
  const key = signingKey(id.secretAccessKey, c.date, c.region, c.service);
  identityKeys.set(id, { secret: id.secretAccessKey, date: c.date, region: c.region, service: c.service, key });
  return key;
}

function finishPayload(
  p: ReturnType<typeof payloadFor>,
  signature: string,
  scope: string,
  amzDate: string,
  key: Buffer,
): PayloadMode {
  if (typeof p.mode !== 'string') return p.mode;
  const signer = { sign: (sts: string): string => signHex(key, sts) };
  const signed = p.mode !== 'chunked-unsigned-trailer';
  const trailer = p.mode !== 'chunked-signed';
  return { kind: 'aws-chunked', signed, trailer, seedSignature: signature, scope, amzDate, signer };
}

export async function verifySigV4Header(req: SignedRequest, opts: VerifyOptions, authorization: string): Promise<AuthResult> {
  const method = 'sigv4-header';
  const auth = parseAuthorizationCached(authorization);
  const xAmzDate = firstHeader(req.headers, 'x-amz-date');
  let date: Date | undefined;
  let amzDate: string;
  if (xAmzDate !== undefined) {
    date = parseAmzDate(xAmzDate.trim());
    if (!date) throw new AuthError('Malformed', `X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`, { method });
    amzDate = xAmzDate.trim();
  } else {
    const d = firstHeader(req.headers, 'date');
    if (d === undefined) {
      throw new AuthError('Incomplete', "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.", { method });
    }
    date = parseHttpDate(d);
    if (!date) throw new AuthError('Malformed', 'The Date header is not a valid HTTP date.', { method });
    amzDate = toAmzDate(date);
  }
  checkScope(auth.credential, amzDate, opts, method);
  checkSkew(date, opts.now, method);
  const id = await lookupKey(opts, auth.credential.accessKeyId, method);
  const s3 = opts.service === 's3';
  const payload = payloadFor(req, opts, method, firstHeader(req.headers, 'x-amz-content-sha256')?.trim());
  // (checkScope has made sure the terminator is aws4_request)
  const scope = auth.scope;
  const key = signingKeyFor(id, auth.credential);
  const headersBlock = canonicalHeaders(req.headers, auth.signedHeaders);
  const params = parseQueryCached(req);
  const m = matchAny(req, s3, canonicalQueryCandidates(params), headersBlock, auth.signedHeadersRaw, payload.hash, amzDate, scope, key, auth.signature);
  if (!m.ok) {
    throw new AuthError('SignatureMismatch', 'The request signature we calculated does not match the signature you provided.', {
      method,
      accessKeyId: id.accessKeyId,
      canonicalRequest: m.first.canonicalRequest,
      stringToSign: m.first.stringToSign,
      signatureProvided: auth.signature,
    });
  }
  checkSessionToken(id, firstHeader(req.headers, 'x-amz-security-token'), opts.now, method);
  return {
    identity: id,
    method,
    region: auth.credential.region,
    payload: finishPayload(payload, auth.signature, scope, amzDate, key),
  };
}

const queryCache = new WeakMap<SignedRequest, QueryParam[]>();
const NO_PARAMS: QueryParam[] = [];
export function parseQueryCached(req: SignedRequest): QueryParam[] {
  if (req.query === '') return NO_PARAMS; // POSTed query APIs: nothing to parse, nothing to remember
  let p = queryCache.get(req);
  if (!p) {
    p = parseQuery(req.query);
    queryCache.set(req, p);
  }
  return p;
}

export async function verifySigV4Query(req: SignedRequest, opts: VerifyOptions): Promise<AuthResult> {
  const method = 'sigv4-query';
  const params = parseQueryCached(req);
  const algorithm = queryGet(params, 'X-Amz-Algorithm');
  if (algorithm !== ALGORITHM) {
    throw new AuthError('UnsupportedAlgorithm', `X-Amz-Algorithm only supports "${ALGORITHM}"`, { method, argumentValue: algorithm });
  }
  const credRaw = queryGet(params, 'X-Amz-Credential');
  const amzDate = queryGet(params, 'X-Amz-Date');
  const signedHeadersRaw = queryGet(params, 'X-Amz-SignedHeaders');
  const signature = queryGet(params, 'X-Amz-Signature');
  const expiresRaw = queryGet(params, 'X-Amz-Expires');
  const s3 = opts.service === 's3';
  if (!credRaw || !amzDate || !signedHeadersRaw || !signature || (s3 && expiresRaw === undefined)) {
    throw new AuthError(
      'Incomplete',
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
      { method },
    );
  }
  const credential = parseCredential(credRaw, method);
  const date = parseAmzDate(amzDate);
  if (!date) throw new AuthError('Malformed', `X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`, { method });
  let expires: number | undefined;
  if (expiresRaw !== undefined) {
    if (!/^\d{1,10}$/.test(expiresRaw)) {
      throw new AuthError('Malformed', 'X-Amz-Expires should be a number', { method, argumentName: 'X-Amz-Expires', argumentValue: expiresRaw });
    }
    expires = Number(expiresRaw);
    if (expires > MAX_PRESIGN_EXPIRES) {
      throw new AuthError('Malformed', 'X-Amz-Expires must be less than a week (in seconds) that is; 604800', {
        method,
        argumentName: 'X-Amz-Expires',
        argumentValue: expiresRaw,
      });
    }
  }
  const signedHeaders = signedHeadersRaw.split(';');
  if (signedHeaders.some((h) => h === '' || h !== h.toLowerCase())) {
    throw new AuthError('Malformed', 'X-Amz-SignedHeaders must be lower-case header names separated by semicolons.', { method });
  }
  checkScope(credential, amzDate, opts, method);
  const now = opts.now.getTime();
  if (date.getTime() - now > MAX_SKEW_MS) {
    throw new AuthError('Skewed', 'Request is not valid yet', {
      method,
      requestTime: date.toISOString(),
      serverTime: opts.now.toISOString(),
      future: true,
    });
  }
  if (expires !== undefined) {
    const end = date.getTime() + expires * 1000;
    if (now > end) {
      throw new AuthError('Expired', 'Request has expired', {
        method,
        expiresIn: expires,
        expiresAt: new Date(end).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        serverTime: opts.now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      });
    }
  } else {
    checkSkew(date, opts.now, method);
  }
  const id = await lookupKey(opts, credential.accessKeyId, method);
  const payload = payloadFor(req, opts, method, queryGet(params, 'X-Amz-Content-Sha256') ?? (s3 ? undefined : firstHeader(req.headers, 'x-amz-content-sha256')?.trim()));
  if (typeof payload.mode === 'string') {
    throw new AuthError('Malformed', 'aws-chunked payloads cannot be presigned.', { method });
  }
  const scope = `${credential.date}/${credential.region}/${credential.service}/aws4_request`;
  const key = signingKeyFor(id, credential);
  const headersBlock = canonicalHeaders(req.headers, signedHeaders);
  const m = matchAny(
    req,
    s3,
    canonicalQueryCandidates(params, 'X-Amz-Signature'),
    headersBlock,
    signedHeadersRaw,
    payload.hash,
    amzDate,
    scope,
    key,
    signature,
  );
  if (!m.ok) {
    throw new AuthError('SignatureMismatch', 'The request signature we calculated does not match the signature you provided.', {
      method,
      accessKeyId: id.accessKeyId,
      canonicalRequest: m.first.canonicalRequest,
      stringToSign: m.first.stringToSign,
      signatureProvided: signature,
    });
  }
  checkSessionToken(id, queryGet(params, 'X-Amz-Security-Token') ?? firstHeader(req.headers, 'x-amz-security-token'), opts.now, method);
  return { identity: id, method, region: credential.region, payload: payload.mode };
}
