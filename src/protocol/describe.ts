/**
 * @module protocol/describe
 * The shared Describe* engine: EC2 `Filter.N.Name/Value.M` filtering with `*` and `?` wildcards (and `\` escapes),
 * the built-in `tag:<key>`, `tag-key` and `tag-value` filters, and `MaxResults`/`NextToken` pagination with opaque,
 * tamper-checked tokens. Every Describe handler supplies only a table: filter name → accessor.
 */
import { createHmac } from 'node:crypto';
import { AwsError } from '../shared/index.js';

export interface Filter { Name?: string; Values?: string[] }
export type FilterValue = string | number | boolean | null | undefined | (string | number | boolean)[];
export type FilterTable<T> = Record<string, (item: T) => FilterValue>;
export type Tags = { Key?: string; Value?: string }[] | Record<string, string>;

const patternCache = new Map<string, RegExp>();

/** EC2 filter value → RegExp: `*` any run, `?` one character, `\*` `\?` `\\` literals; case-sensitive, whole string. */
export function filterPattern(value: string): RegExp {
  let re = patternCache.get(value);
  if (re) return re;
  let src = '^';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && i + 1 < value.length && '*?\\'.includes(value[i + 1]!)) {
      src += '\\' + value[++i];
    } else if (c === '*') src += '[\\s\\S]*';
    else if (c === '?') src += '[\\s\\S]';
    else src += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  re = new RegExp(src + '$', 'u');
  if (patternCache.size > 5000) patternCache.clear();
  patternCache.set(value, re);
  return re;
}

function asStrings(v: FilterValue): string[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

function tagPairs(tags: Tags | undefined): [string, string][] {
  if (!tags) return [];
  if (Array.isArray(tags)) return tags.map((t) => [t.Key ?? '', t.Value ?? '']);
  return Object.entries(tags);
}

/**
 * Keeps the items that match every filter (AND between filters, OR between one filter's values).
 * Unknown filter names → `InvalidParameterValue` "The filter 'x' is invalid", as EC2 answers.
 */
export function applyFilters<T>(items: T[], filters: Filter[] | undefined, table: FilterTable<T>, tags?: (item: T) => Tags | undefined): T[] {
  if (!filters || filters.length === 0) return items;
  const preds: ((item: T) => boolean)[] = filters.map((f) => {
    const name = f.Name ?? '';
    const values = (f.Values ?? []).map(filterPattern);
    if (name === '') throw new AwsError('InvalidParameterValue', 'The filter name must be specified.');
    if (tags && name.startsWith('tag:')) {
      const key = name.slice(4);
      return (it) => tagPairs(tags(it)).some(([k, v]) => k === key && values.some((re) => re.test(v)));
    }
    if (tags && name === 'tag-key') return (it) => tagPairs(tags(it)).some(([k]) => values.some((re) => re.test(k)));
    if (tags && name === 'tag-value') return (it) => tagPairs(tags(it)).some(([, v]) => values.some((re) => re.test(v)));
    const get = Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined;
    if (!get) throw new AwsError('InvalidParameterValue', `The filter '${name.slice(0, 255)}' is invalid`);
    return (it) => asStrings(get(it)).some((s) => values.some((re) => re.test(s)));
  });
  return items.filter((it) => preds.every((p) => p(it)));
}

const TOKEN_KEY = 'eucalyptus-ts/describe-token/v1';

function tokenMac(offset: number, scope: string): string {
  return createHmac('sha256', TOKEN_KEY).update(`${scope}:${offset}`).digest('base64url').slice(0, 16);
}

export interface PageOptions {
  /** Smallest and largest MaxResults accepted (EC2 is usually 5..1000). */
  min?: number;
  max?: number;
  /** What the token is for (e.g. the operation), so a token of one call is refused by another. */
  scope?: string;
}

/**
 * One page of already-sorted items. Without MaxResults every item is returned (as EC2 does for most Describe calls).
 * A token that was not made here (or by another scope) → `InvalidPaginationToken`.
 */
export function paginate<T>(items: T[], req: { MaxResults?: number; NextToken?: string }, opts: PageOptions = {}): { page: T[]; nextToken?: string } {
  const scope = opts.scope ?? '';
  let offset = 0;
  if (req.NextToken !== undefined && req.NextToken !== '') {
    const [o, mac] = String(req.NextToken).split('.');
    const n = Number(o);
    if (!Number.isSafeInteger(n) || n < 0 || mac !== tokenMac(n, scope)) {
      throw new AwsError('InvalidPaginationToken', 'The specified pagination token is not valid or is expired.');
    }
    offset = n;
  }
  if (req.MaxResults === undefined) return { page: items.slice(offset) };
  const min = opts.min ?? 5;
  const max = opts.max ?? 1000;
  const m = Number(req.MaxResults);
  if (!Number.isInteger(m) || m < min || m > max) {
    throw new AwsError('InvalidParameterValue', `Value ( ${String(req.MaxResults)} ) for parameter maxResults is invalid. Expecting a value between ${min} and ${max}.`);
  }
  const page = items.slice(offset, offset + m);
  const next = offset + m;
  return next < items.length ? { page, nextToken: `${next}.${tokenMac(next, scope)}` } : { page };
}
