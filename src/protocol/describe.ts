/**
 * @module protocol/describe
 * The Describe* engine shared by every EC2 resource: EC2 filters and opaque, tamper-checked pagination tokens.
 *
 * Filters: filters are ANDed, the values of one filter are ORed; a value matches when any of the item's values for
 * that filter matches it, with `*` (any run) and `?` (one character) wildcards and `\` escaping them (EC2 semantics).
 * `tag:<key>`, `tag-key` and `tag-value` are built in when a `tags` accessor is given. Every Describe handler
 * supplies only a table: filter name → accessor.
 *
 * Pagination: {@link paginate} slices a list by `MaxResults` and `NextToken`; tokens are HMAC-signed and bound to a
 * scope (the operation and its filters), so a forged, altered or foreign token is rejected.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AwsError } from '../shared/index.js';

/** An EC2 `Filter` as parsed from the request. */
export interface Filter {
  Name?: string;
  Values?: string[];
}

/** What a filter accessor may return for an item; numbers and booleans compare as their string form. */
export type FilterValue = string | number | boolean | null | undefined | readonly (string | number | boolean | null | undefined)[];

/** A resource's tags as `[{Key, Value}]` (EC2 shape) or a plain `{key: value}` record. */
export type Tags = readonly { Key?: string; Value?: string }[] | Record<string, string>;

/** Filter name → accessor. */
export type FilterTable<T> = Record<string, (item: T) => FilterValue>;

const MAX_FILTERS = 50;
const MAX_VALUES = 200;
const MAX_VALUE_LENGTH = 1024;

/**
 * Keeps the items that match every filter (AND between filters, OR between one filter's values). With `tags`, the
 * `tag:<key>`, `tag-key` and `tag-value` filters are built in.
 * @throws AwsError `InvalidParameterValue` "The filter 'x' is invalid" for a name the table does not know (as EC2
 *   answers); `InvalidParameterValue` for a filter without name or values; `FilterLimitExceeded` beyond 50 filters
 *   or 200 values per filter.
 * @example applyFilters(instances, req.Filters, { 'instance-state-name': (i) => i.state }, (i) => i.tags)
 */
export function applyFilters<T>(items: T[], filters: readonly Filter[] | undefined, table: FilterTable<T>, tags?: (item: T) => Tags | undefined): T[] {
  if (!filters || filters.length === 0) return items;
  if (filters.length > MAX_FILTERS) throw new AwsError('FilterLimitExceeded', `The maximum number of filters (${MAX_FILTERS}) has been exceeded.`);
  const compiled = filters.map((f) => compileFilter(f, table, tags));
  return items.filter((item) => compiled.every((f) => f(item)));
}

function invalidFilter(name: string | undefined): AwsError {
  return new AwsError('InvalidParameterValue', `The filter '${truncate(name ?? 'null', 255)}' is invalid`);
}

function compileFilter<T>(f: Filter, table: FilterTable<T>, tags: ((item: T) => Tags | undefined) | undefined): (item: T) => boolean {
  const name = f.Name;
  if (name === undefined || name === '') throw invalidFilter(name);
  const values = f.Values ?? [];
  if (values.length === 0) throw new AwsError('InvalidParameterValue', `The filter '${truncate(name, 255)}' requires at least one value`);
  if (values.length > MAX_VALUES) throw new AwsError('FilterLimitExceeded', `The maximum number of filter values (${MAX_VALUES}) has been exceeded for filter '${truncate(name, 255)}'.`);
  for (const v of values) if (v.length > MAX_VALUE_LENGTH) throw new AwsError('InvalidParameterValue', `A value of filter '${truncate(name, 255)}' is too long`);
  const patterns = values.map(parseGlob);
  let accessor: (item: T) => FilterValue;
  const own = Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined;
  if (own) accessor = own;
  else if (tags && name.startsWith('tag:')) {
    const key = name.slice(4);
    accessor = (item) => tagEntries(tags(item)).filter(([k]) => k === key).map(([, v]) => v);
  } else if (tags && name === 'tag-key') {
    accessor = (item) => tagEntries(tags(item)).map(([k]) => k);
  } else if (tags && name === 'tag-value') {
    accessor = (item) => tagEntries(tags(item)).map(([, v]) => v);
  } else throw invalidFilter(name);
  return (item) => {
    const raw = accessor(item);
    const have = (Array.isArray(raw) ? raw : [raw]) as (string | number | boolean | null | undefined)[];
    for (const h of have) {
      if (h === undefined || h === null) continue;
      const s = String(h);
      for (const p of patterns) if (globMatch(p, s)) return true;
    }
    return false;
  };
}

function tagEntries(t: Tags | undefined): [string, string][] {
  if (!t) return [];
  if (Array.isArray(t)) return (t as { Key?: string; Value?: string }[]).filter((x) => x.Key !== undefined).map((x) => [x.Key!, x.Value ?? '']);
  return Object.entries(t as Record<string, string>);
}

/** A parsed wildcard pattern: literal characters, or ANY (`*`) / ONE (`?`). */
type GlobToken = string | 0 | 1;
const ANY = 0;
const ONE = 1;

function parseGlob(v: string): GlobToken[] {
  const out: GlobToken[] = [];
  for (let i = 0; i < v.length; i++) {
    const ch = v[i]!;
    if (ch === '\\' && i + 1 < v.length && (v[i + 1] === '*' || v[i + 1] === '?' || v[i + 1] === '\\')) {
      out.push(v[++i]!);
    } else if (ch === '*') {
      if (out[out.length - 1] !== ANY) out.push(ANY);
    } else if (ch === '?') out.push(ONE);
    else out.push(ch);
  }
  return out;
}

/** Wildcard match in O(pattern × text) worst case (no regex backtracking blow-up). */
export function globMatch(p: readonly GlobToken[], s: string): boolean {
  let pi = 0;
  let si = 0;
  let star = -1;
  let mark = 0;
  while (si < s.length) {
    const t = p[pi];
    if (pi < p.length && t !== ANY && (t === ONE || t === s[si])) {
      pi++;
      si++;
    } else if (pi < p.length && t === ANY) {
      star = pi++;
      mark = si;
    } else if (star !== -1) {
      pi = star + 1;
      si = ++mark;
    } else return false;
  }
  while (pi < p.length && p[pi] === ANY) pi++;
  return pi === p.length;
}

/** Does `value` match the EC2 wildcard pattern `pattern`? (Linear-time matcher; prefer it to {@link filterPattern}.) */
export function wildcardMatch(pattern: string, value: string): boolean {
  return globMatch(parseGlob(pattern), value);
}

/** The EC2 filter value as a whole-string RegExp (`*` any run, `?` one character, `\\*` `\\?` `\\\\` literals). */
export function filterPattern(value: string): RegExp {
  let src = '^';
  for (const t of parseGlob(value)) src += t === ANY ? '[\\s\\S]*' : t === ONE ? '[\\s\\S]' : t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`${src}$`, 'u');
}

// ---------------------------------------------------------------------------------------------------------------

/** Pagination request members as parsed (EC2 `MaxResults`/`NextToken`). */
export interface PageRequest {
  MaxResults?: number;
  NextToken?: string;
}

export interface PageOptions<T = unknown> {
  /** Smallest and largest accepted `MaxResults`; default 5..1000 (EC2's common bounds). */
  min?: number;
  max?: number;
  /** Page size when `MaxResults` is absent; default: everything (as EC2 does for most Describe* calls). */
  defaultPageSize?: number;
  /** Binds tokens to one query (e.g. operation + canonical filters); a token from another scope is rejected. */
  scope?: string;
  /** Stable key of an item: a next page resumes after that item even if earlier items were deleted meanwhile. */
  keyOf?: (item: T) => string;
  /** Error code for a bad token. Default `InvalidPaginationToken` (EC2's code); IAM-style callers may pass `ValidationError`. */
  tokenErrorCode?: string;
  /** Parameter name used in messages. Default `MaxResults`. */
  maxResultsName?: string;
  /** HMAC key; default a fixed project key (tokens survive restarts and work across CLC processes). Pass the cloud's secret to make them unforgeable. */
  secret?: Buffer | string;
}

const DEFAULT_SECRET = 'eucalyptus-ts/describe-token/v1';

interface TokenPayload {
  o: number;
  k?: string;
  s: string;
}

function sign(secret: Buffer | string, data: string): Buffer {
  return createHmac('sha256', secret).update(data).digest().subarray(0, 16);
}

function encodeToken(p: TokenPayload, secret: Buffer | string): string {
  const data = Buffer.from(JSON.stringify(p), 'utf8').toString('base64url');
  return `${data}.${sign(secret, data).toString('base64url')}`;
}

function decodeToken(token: string, secret: Buffer | string, scope: string): TokenPayload | undefined {
  if (token.length > 4096) return undefined;
  const dot = token.indexOf('.');
  if (dot <= 0) return undefined;
  const data = token.slice(0, dot);
  const mac = Buffer.from(token.slice(dot + 1), 'base64url');
  const want = sign(secret, data);
  if (mac.length !== want.length || !timingSafeEqual(mac, want)) return undefined;
  try {
    const p = JSON.parse(Buffer.from(data, 'base64url').toString('utf8')) as TokenPayload;
    if (typeof p.o !== 'number' || !Number.isSafeInteger(p.o) || p.o < 0 || p.s !== scope) return undefined;
    if (p.k !== undefined && typeof p.k !== 'string') return undefined;
    return p;
  } catch {
    return undefined;
  }
}

/**
 * One page of already-sorted `items`. Without MaxResults (and without `defaultPageSize`) every item is returned,
 * as EC2 does for most Describe calls.
 * @returns the page and, when more items follow, an opaque `nextToken` (the handler returns it as `NextToken`).
 * @throws AwsError `InvalidParameterValue` when MaxResults is outside [min, max]; `InvalidPaginationToken` (or
 *   `tokenErrorCode`) "The specified pagination token is not valid or is expired." for a token that is malformed,
 *   altered, or from another scope.
 */
export function paginate<T>(items: readonly T[], req: PageRequest, opts: PageOptions<T> = {}): { page: T[]; nextToken?: string } {
  const secret = opts.secret ?? DEFAULT_SECRET;
  const scope = opts.scope ?? '';
  const pname = opts.maxResultsName ?? 'MaxResults';
  const max = req.MaxResults;
  if (max !== undefined) {
    const lo = opts.min ?? 5;
    const hi = opts.max ?? 1000;
    if (!Number.isInteger(max) || max < lo || max > hi) {
      throw new AwsError('InvalidParameterValue', `Value ( ${String(max)} ) for parameter ${pname} is invalid. Expecting a value between ${lo} and ${hi}.`);
    }
  }
  let start = 0;
  if (req.NextToken !== undefined && req.NextToken !== '') {
    const p = decodeToken(req.NextToken, secret, scope);
    if (!p) throw new AwsError(opts.tokenErrorCode ?? 'InvalidPaginationToken', 'The specified pagination token is not valid or is expired.');
    start = p.o;
    if (p.k !== undefined && opts.keyOf) {
      const idx = items.findIndex((x) => opts.keyOf!(x) === p.k);
      if (idx >= 0) start = idx + 1;
    }
  }
  const size = max ?? opts.defaultPageSize;
  if (size === undefined) return { page: items.slice(start) };
  const page = items.slice(start, start + size);
  const end = start + page.length;
  if (end >= items.length || page.length === 0) return { page };
  const last = page[page.length - 1]!;
  return { page, nextToken: encodeToken({ o: end, s: scope, ...(opts.keyOf ? { k: opts.keyOf(last) } : {}) }, secret) };
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}...` : s;
}
