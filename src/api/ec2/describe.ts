/**
 * @module api/ec2/describe
 * Describe* filters and pagination for the compute handlers: a filter table (filter name → value accessor), AWS's
 * wildcard semantics (`*`, `?`, case-sensitive, values OR-ed, filters AND-ed), `tag:<key>`, `tag-key`, `tag-value`,
 * and opaque NextTokens.
 */
import { AwsError } from '../../shared/index.js';

export interface Filter {
  Name?: string;
  Values?: string[];
}
export interface TagLike {
  key: string;
  value: string;
}

export type Accessor<T> = (x: T) => unknown;
export type FilterTable<T> = Record<string, Accessor<T>>;

function toStrings(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.flatMap(toStrings);
  if (v instanceof Date) return [v.toISOString()];
  return [String(v)];
}

const patternCache = new Map<string, RegExp>();
export function wildcard(p: string): RegExp {
  let re = patternCache.get(p);
  if (!re) {
    re = new RegExp('^' + p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 's');
    if (patternCache.size > 1000) patternCache.clear();
    patternCache.set(p, re);
  }
  return re;
}

export function hasWildcard(v: string): boolean {
  return v.includes('*') || v.includes('?');
}

/** Applies EC2 filters; an unknown filter name answers InvalidParameterValue, as EC2 does. */
export function applyFilters<T>(items: T[], filters: Filter[] | undefined, table: FilterTable<T>, tagsOf?: (x: T) => TagLike[]): T[] {
  if (!filters || filters.length === 0) return items;
  const preds = filters.map((f) => {
    const name = f.Name ?? '';
    const values = (f.Values ?? []).map(wildcard);
    if (name.startsWith('tag:') && tagsOf) {
      const key = name.slice(4);
      return (x: T) => tagsOf(x).some((t) => t.key === key && values.some((v) => v.test(t.value)));
    }
    if (name === 'tag-key' && tagsOf) return (x: T) => tagsOf(x).some((t) => values.some((v) => v.test(t.key)));
    if (name === 'tag-value' && tagsOf) return (x: T) => tagsOf(x).some((t) => values.some((v) => v.test(t.value)));
    const acc = table[name];
    if (!acc) throw new AwsError('InvalidParameterValue', `The filter '${name}' is invalid`);
    return (x: T) => {
      const got = toStrings(acc(x));
      return got.some((g) => values.some((v) => v.test(g)));
    };
  });
  return items.filter((x) => preds.every((p) => p(x)));
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

/** Pages sorted items by key. */
export function paginate<T>(items: T[], keyOf: (x: T) => string, max: number | undefined, token: string | undefined): { page: T[]; nextToken?: string } {
  const after = decodeToken(token);
  const start = after === undefined ? 0 : items.findIndex((x) => keyOf(x) > after);
  const from = start < 0 ? items.length : start;
  if (max === undefined) return { page: items.slice(from) };
  const page = items.slice(from, from + max);
  return from + max < items.length ? { page, nextToken: encodeToken(keyOf(page[page.length - 1]!)) } : { page };
}
