/**
 * @module auth/sigv4/canonical
 * Pure SigV4 building blocks: URI encoding, canonical URI / query / headers, canonical request, string to sign,
 * signing key. No I/O; every function is deterministic and tested against the AWS SigV4 suite.
 */
import * as nodeCrypto from 'node:crypto';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const ALGORITHM = 'AWS4-HMAC-SHA256';

const HEX = '0123456789ABCDEF';

function isUnreserved(b: number): boolean {
  return (
    (b >= 0x41 && b <= 0x5a) || // A-Z
    (b >= 0x61 && b <= 0x7a) || // a-z
    (b >= 0x30 && b <= 0x39) || // 0-9
    b === 0x2d || // -
    b === 0x2e || // .
    b === 0x5f || // _
    b === 0x7e // ~
  );
}

/** RFC 3986 encoding of bytes: unreserved characters as-is, everything else %XX (uppercase); `/` kept if asked. */
export function encodeBytes(bytes: Uint8Array, keepSlash: boolean): string {
  let out = '';
  for (const b of bytes) {
    if (isUnreserved(b) || (keepSlash && b === 0x2f)) out += String.fromCharCode(b);
    else out += '%' + HEX[b >> 4]! + HEX[b & 15]!;
  }
  return out;
}

/** SigV4 UriEncode of a string (UTF-8). */
export function uriEncode(s: string, keepSlash = false): string {
  return encodeBytes(Buffer.from(s, 'utf8'), keepSlash);
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Percent-decodes a raw (wire) string to bytes. A malformed `%` escape is kept literally.
 * `plusAsSpace` decodes `+` as a space (form/query encoding). `keepEncodedSlash` leaves `%2F` undecoded
 * as the three bytes `%2F`, so that re-encoding a path keeps a slash that was part of a segment distinct.
 */
export function percentDecode(raw: string, plusAsSpace = false, keepEncodedSlash = false): Buffer {
  const src = Buffer.from(raw, 'utf8');
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 0x25 && i + 2 < src.length) {
      const h = hexVal(src[i + 1]!);
      const l = hexVal(src[i + 2]!);
      if (h >= 0 && l >= 0) {
        const v = (h << 4) | l;
        if (keepEncodedSlash && v === 0x2f) {
          out[n++] = 0x25;
          out[n++] = src[i + 1]!;
          out[n++] = src[i + 2]!;
        } else {
          out[n++] = v;
        }
        i += 2;
        continue;
      }
    }
    out[n++] = plusAsSpace && c === 0x2b ? 0x20 : c;
  }
  return out.subarray(0, n);
}

/** Decodes a raw query component to a string (form rules: `+` is a space). */
export function decodeComponent(raw: string): string {
  // plain ASCII without escapes or `+` decodes to itself (most query keys and many values)
  return NEEDS_DECODING.test(raw) ? percentDecode(raw, true).toString('utf8') : raw;
}
const NEEDS_DECODING = /[%+\u0080-\uffff]/;

/**
 * SigV4's canonical form of one raw query component: decoded, then RFC 3986 encoded. A component that is already in
 * that form (unreserved characters and uppercase `%XX` escapes of bytes that must be escaped) is returned as it is,
 * without decoding and re-encoding it.
 */
export function canonicalComponent(raw: string, plusAsSpace: boolean): string {
  return isCanonicalEncoded(raw) ? raw : encodeBytes(percentDecode(raw, plusAsSpace), false);
}

function upperHexVal(c: number): number {
  return c >= 0x61 ? -1 : hexVal(c);
}

function isCanonicalEncoded(raw: string): boolean {
  const n = raw.length;
  for (let i = 0; i < n; i++) {
    const c = raw.charCodeAt(i);
    if (isUnreserved(c)) continue;
    if (c !== 0x25 || i + 2 >= n) return false;
    // only uppercase hex digits, as the encoder writes them
    const h = upperHexVal(raw.charCodeAt(i + 1));
    const l = upperHexVal(raw.charCodeAt(i + 2));
    if (h < 0 || l < 0) return false;
    // an escaped unreserved byte canonicalizes to the bare character
    if (isUnreserved((h << 4) | l)) return false;
    i += 2;
  }
  return true;
}

/** One query parameter as received: raw and decoded forms. A key without `=` (`?acl`) has value ''. */
export interface QueryParam {
  rawKey: string;
  rawValue: string;
  key: string;
  value: string;
  hasEquals: boolean;
}

export function parseQuery(query: string): QueryParam[] {
  const out: QueryParam[] = [];
  if (!query) return out;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    out.push({ rawKey, rawValue, key: decodeComponent(rawKey), value: decodeComponent(rawValue), hasEquals: eq >= 0 });
  }
  return out;
}

/** First value of a decoded query parameter. */
export function queryGet(params: QueryParam[], key: string): string | undefined {
  for (const p of params) if (p.key === key) return p.value;
  return undefined;
}

function compareBytes(a: string, b: string): number {
  // Encoded strings are ASCII, so UTF-16 code-unit comparison is byte order.
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Canonical query string: every parameter (except `exclude`) decoded then RFC 3986 encoded, sorted by key then value.
 * `plusAsSpace=false` treats a raw `+` as a literal plus (some clients send it unencoded).
 */
export function canonicalQuery(params: QueryParam[], exclude?: string, plusAsSpace = true): string {
  const pairs: [string, string][] = [];
  for (const p of params) {
    if (exclude !== undefined && p.key === exclude) continue;
    const k = canonicalComponent(p.rawKey, plusAsSpace);
    const v = canonicalComponent(p.rawValue, plusAsSpace);
    pairs.push([k, v]);
  }
  pairs.sort((a, b) => compareBytes(a[0], b[0]) || compareBytes(a[1], b[1]));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** Candidate canonical query strings: `+` as a space first, then (only if a raw `+` occurs) as a literal plus. */
export function canonicalQueryCandidates(params: QueryParam[], exclude?: string): string[] {
  const first = canonicalQuery(params, exclude, true);
  const hasPlus = params.some((p) => p.rawKey.includes('+') || p.rawValue.includes('+'));
  if (!hasPlus) return [first];
  const second = canonicalQuery(params, exclude, false);
  return second === first ? [first] : [first, second];
}

/** Removes `.`/`..` segments and empty segments, keeping a leading and trailing slash (SigV4 for non-S3 services). */
export function normalizePath(path: string): string {
  const segs: string[] = [];
  for (const s of path.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') segs.pop();
    else segs.push(s);
  }
  const lead = path.startsWith('/') ? '/' : '';
  const trail = segs.length > 0 && path.endsWith('/') ? '/' : '';
  return `${lead}${segs.join('/')}${trail}` || '/';
}

/**
 * Re-encodes a raw path per RFC 3986: each `%XX` escape and each raw character becomes its bytes, which are written
 * back with only unreserved characters and `/` left as-is (uppercase hex). An encoded slash stays `%2F`.
 */
export function reencodePath(raw: string): string {
  const src = Buffer.from(raw, 'utf8');
  let out = '';
  let pending: number[] = [];
  const flush = (): void => {
    if (pending.length) out += encodeBytes(Uint8Array.from(pending), true);
    pending = [];
  };
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 0x25 && i + 2 < src.length) {
      const h = hexVal(src[i + 1]!);
      const l = hexVal(src[i + 2]!);
      if (h >= 0 && l >= 0) {
        const v = (h << 4) | l;
        if (v === 0x2f) {
          flush();
          out += '%2F';
        } else pending.push(v);
        i += 2;
        continue;
      }
    }
    pending.push(c);
  }
  flush();
  return out;
}

/**
 * Candidate canonical URIs for a raw (wire) path, most likely first.
 * S3: no normalisation, single encoding: the path's bytes re-encoded per RFC 3986 (`%2F` kept), then the raw path.
 * Other services: normalised, then encoded once more (the wire path is already encoded once: "double encoding").
 */
export function canonicalUriCandidates(rawPath: string, s3: boolean): string[] {
  const path = rawPath === '' ? '/' : rawPath;
  const out: string[] = [];
  const add = (s: string): void => {
    if (!out.includes(s)) out.push(s);
  };
  if (s3) {
    add(reencodePath(path));
    add(path);
  } else {
    const norm = normalizePath(path);
    add(uriEncode(norm, true));
    // A client may have sent characters unencoded on the wire that it encoded before signing: re-encode first.
    add(uriEncode(reencodePath(norm), true));
    // A signer that encoded the unencoded path only once (the SigV4 suite's view of `/ሴ`).
    add(reencodePath(norm));
  }
  return out;
}

const PLAIN_PATH = /^[A-Za-z0-9\-._~/]*$/;

/**
 * The first of `canonicalUriCandidates(rawPath, s3)` (the one nearly every client signs), without computing the
 * others; paths made only of unreserved characters and `/` need no re-encoding at all.
 */
export function firstCanonicalUri(rawPath: string, s3: boolean): string {
  // query APIs are called on a handful of paths: remember their canonical forms (bounded; S3 keys vary too much)
  if (s3 || rawPath.length > 256) return computeFirstCanonicalUri(rawPath, s3);
  let uri = uriMemo.get(rawPath);
  if (uri === undefined) {
    uri = computeFirstCanonicalUri(rawPath, s3);
    if (uriMemo.size >= 256) uriMemo.clear();
    uriMemo.set(rawPath, uri);
  }
  return uri;
}
const uriMemo = new Map<string, string>();

function computeFirstCanonicalUri(rawPath: string, s3: boolean): string {
  const path = rawPath === '' ? '/' : rawPath;
  if (s3) return PLAIN_PATH.test(path) ? path : reencodePath(path);
  const norm = normalizePath(path);
  return PLAIN_PATH.test(norm) ? norm : uriEncode(norm, true);
}

/** Trims and collapses sequential spaces, as SigV4 canonical header values require. */
export function canonicalHeaderValue(v: string): string {
  // Most values have no whitespace but single spaces: trimming is all they need.
  return NEEDS_COLLAPSE.test(v) ? v.trim().replace(/\s+/g, ' ') : v.trim();
}
const NEEDS_COLLAPSE = /[^\S ]| {2}/;

/**
 * Canonical headers block (each `name:value\n`) for exactly the signed header names, in their given order.
 * Repeated headers are joined with `,`. A signed header that is absent gets an empty value, except `expect`,
 * which proxies strip (it can only have been `100-continue`).
 */
export function canonicalHeaders(headers: Record<string, string[]>, signed: string[]): string {
  let out = '';
  for (const name of signed) {
    let values = headers[name];
    if ((values === undefined || values.length === 0) && name === 'expect') values = ['100-continue'];
    const joined = values === undefined ? '' : values.length === 1 ? canonicalHeaderValue(values[0]!) : values.map(canonicalHeaderValue).join(',');
    out += `${name}:${joined}\n`;
  }
  return out;
}

export function buildCanonicalRequest(
  method: string,
  canonicalUri: string,
  canonicalQueryString: string,
  canonicalHeadersBlock: string,
  signedHeaders: string,
  payloadHash: string,
): string {
  return `${method}\n${canonicalUri}\n${canonicalQueryString}\n${canonicalHeadersBlock}\n${signedHeaders}\n${payloadHash}`;
}

/** One-shot `crypto.hash` (Node >= 20.12) where present: no Hash object per call. */
const oneShot = (nodeCrypto as { hash?: (alg: string, data: string | Uint8Array, enc: 'hex') => string }).hash;
const oneShotStr = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, enc: 'hex' | 'latin1') => string }).hash;

export function sha256Hex(data: string | Uint8Array): string {
  return oneShot ? oneShot('sha256', data, 'hex') : createHash('sha256').update(data).digest('hex');
}

export function hmac(key: Uint8Array | string, data: string | Uint8Array): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

export function buildStringToSign(amzDate: string, scope: string, canonicalRequest: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request"). */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  // Derived keys are cached: the derivation is four HMACs per request otherwise. The cache key is a hash of the
  // inputs, so secrets are not kept as map keys; the map is bounded.
  const id = createHash('sha256').update(`${secret}\n${date}\n${region}\n${service}`).digest('base64');
  const hit = keyCache.get(id);
  if (hit) return hit;
  const key = deriveSigningKey(secret, date, region, service);
  if (keyCache.size >= 4096) keyCache.clear();
  keyCache.set(id, key);
  return key;
}

const keyCache = new Map<string, Buffer>();

function deriveSigningKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac('AWS4' + secret, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, 'aws4_request');
}

/**
 * hex HMAC-SHA256 of `stringToSign` with a derived signing key. Keys of at most one block (a SigV4 signing key is 32
 * bytes) use RFC 2104 directly with the key's inner/outer pads computed once per key object and two one-shot hashes,
 * which is cheaper than a new Hmac object per signature; anything else goes through `createHmac`.
 */
export function signHex(key: Uint8Array, stringToSign: string): string {
  if (oneShotStr === undefined || key.length > HMAC_BLOCK) return hmac(key, stringToSign).toString('hex');
  let pads = padCache.get(key);
  // (the pads are only used while the key object still holds the bytes they were made from)
  if (pads === undefined || !pads.key.equals(key)) {
    const inner = Buffer.alloc(HMAC_BLOCK, 0x36);
    const outer = Buffer.alloc(HMAC_BLOCK + 32, 0x5c);
    for (let i = 0; i < key.length; i++) {
      inner[i]! ^= key[i]!;
      outer[i]! ^= key[i]!;
    }
    pads = { key: Buffer.from(key), inner, outer };
    padCache.set(key, pads);
  }
  const n = Buffer.byteLength(stringToSign, 'utf8');
  if (scratch.length < HMAC_BLOCK + n) {
    scratch = Buffer.allocUnsafe(HMAC_BLOCK + n * 2);
    scratchView = scratch.subarray(0, 0);
  }
  // strings to sign of one credential scope all have the same length: the view over the scratch buffer is reused
  if (scratchView.length !== HMAC_BLOCK + n) scratchView = scratch.subarray(0, HMAC_BLOCK + n);
  pads.inner.copy(scratch, 0);
  scratch.write(stringToSign, HMAC_BLOCK, 'utf8');
  // the inner digest comes back as a latin1 string (one char per byte): a Buffer result costs more than writing it
  // into the outer pad's tail (synchronous, so reusing the pad buffer is safe); outer = H(opad || inner)
  pads.outer.write(oneShotStr!('sha256', scratchView, 'latin1'), HMAC_BLOCK, 'latin1');
  return oneShotStr!('sha256', pads.outer, 'hex');
}
const HMAC_BLOCK = 64;
const padCache = new WeakMap<Uint8Array, { key: Buffer; inner: Buffer; outer: Buffer }>();
let scratch = Buffer.allocUnsafe(1024);
let scratchView = scratch.subarray(0, 0);

/** Constant-time comparison of two signatures given as strings (hex or base64); false on any length difference. */
export function safeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  if (ba.length !== bb.length) {
    // Still spend comparable time, then fail.
    timingSafeEqual(ba, ba);
    return false;
  }
  return timingSafeEqual(ba, bb);
}

/** Parses `YYYYMMDDTHHMMSSZ`; undefined when malformed. */
export function parseAmzDate(s: string): Date | undefined {
  // requests signed in the same second share the parse (a fresh Date each time: callers may keep it)
  if (s === lastAmzDate.s) return lastAmzDate.ms === undefined ? undefined : new Date(lastAmzDate.ms);
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  const ms = m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : NaN;
  lastAmzDate = { s, ms: Number.isNaN(ms) ? undefined : ms };
  return lastAmzDate.ms === undefined ? undefined : new Date(lastAmzDate.ms);
}
let lastAmzDate: { s: string; ms: number | undefined } = { s: '', ms: undefined };

export function toAmzDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** Parses an HTTP date (RFC 1123 / 850 / asctime, as Date.parse accepts) or ISO 8601; undefined when malformed. */
export function parseHttpDate(s: string): Date | undefined {
  const amz = parseAmzDate(s.trim());
  if (amz) return amz;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : new Date(t);
}
