/**
 * @module auth/policy/glob
 * Wildcard patterns (`*`, `?`) and policy-variable templates (`${aws:username}`, `${*}`, `${key, 'default'}`),
 * compiled once into matchers. Variables resolve from the request's condition keys; text they produce is always
 * literal (a `*` in a user name never acts as a wildcard).
 */

/** Looks up a condition key (lower-cased) of the request; `undefined` when absent. */
export type KeyLookup = (lowerKey: string) => readonly string[] | undefined;

export type TemplatePart =
  | { t: 'glob'; s: string }
  | { t: 'lit'; s: string }
  | { t: 'var'; key: string; dflt?: string };

/** A string from a policy that may contain policy variables. */
export interface Template {
  source: string;
  parts: TemplatePart[];
  hasVars: boolean;
}

const SPECIAL: Record<string, string> = { '*': '*', '?': '?', $: '$' };

/** Splits `text` into wildcard text, literal text and variable references. With `variables` false it is all glob. */
export function parseTemplate(text: string, variables: boolean): Template {
  if (!variables || !text.includes('${')) return { source: text, parts: [{ t: 'glob', s: text }], hasVars: false };
  const parts: TemplatePart[] = [];
  let hasVars = false;
  let buf = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] === '$' && text[i + 1] === '{') {
      const end = text.indexOf('}', i + 2);
      if (end < 0) {
        buf += text.slice(i);
        break;
      }
      const inner = text.slice(i + 2, end).trim();
      if (buf) parts.push({ t: 'glob', s: buf });
      buf = '';
      const special = SPECIAL[inner];
      if (special !== undefined) {
        parts.push({ t: 'lit', s: special });
      } else {
        // `${key, 'default'}`
        const m = /^([^,]+?)\s*,\s*'([^']*)'$/.exec(inner);
        if (m) parts.push({ t: 'var', key: m[1]!.trim().toLowerCase(), dflt: m[2]! });
        else parts.push({ t: 'var', key: inner.toLowerCase() });
        hasVars = true;
      }
      i = end + 1;
      continue;
    }
    buf += text[i];
    i++;
  }
  if (buf) parts.push({ t: 'glob', s: buf });
  if (!hasVars) {
    // only `${*}`-style escapes: still static, keep parts (literal pieces matter)
    return { source: text, parts, hasVars: false };
  }
  return { source: text, parts, hasVars };
}

/** Resolves variables: the parts become glob or literal text. `null` when a variable has no value. */
export function resolveTemplate(tpl: Template, lookup: KeyLookup): Array<{ t: 'glob' | 'lit'; s: string }> | null {
  const out: Array<{ t: 'glob' | 'lit'; s: string }> = [];
  for (const p of tpl.parts) {
    if (p.t === 'var') {
      const v = lookup(p.key);
      if (v && v.length === 1) out.push({ t: 'lit', s: v[0]! });
      else if (p.dflt !== undefined) out.push({ t: 'lit', s: p.dflt });
      else return null;
    } else out.push(p);
  }
  return out;
}

/** The template's text with variables substituted and escapes applied (for exact comparisons). */
export function templateText(tpl: Template, lookup: KeyLookup): string | null {
  if (tpl.parts.length === 1 && tpl.parts[0]!.t === 'glob') return tpl.source;
  const r = resolveTemplate(tpl, lookup);
  if (!r) return null;
  let s = '';
  for (const p of r) s += p.s;
  return s;
}

export type StringMatcher = (value: string) => boolean;

const RE_SPECIAL = /[.+^${}()|[\]\\/*?-]/g;
function escapeRe(s: string): string {
  return s.replace(RE_SPECIAL, '\\$&');
}

/**
 * Regex source for glob/literal pieces. With `arn` set, wildcards before the fifth colon stay inside one ARN segment
 * (ArnLike semantics: each colon-delimited part is matched separately; the resource part may contain colons).
 */
function regexSource(parts: ReadonlyArray<{ t: 'glob' | 'lit'; s: string }>, arn: boolean): string {
  let src = '^';
  let colons = 0;
  for (const p of parts) {
    if (p.t === 'lit') {
      for (const ch of p.s) if (ch === ':') colons++;
      src += escapeRe(p.s);
      continue;
    }
    for (const ch of p.s) {
      const inSegment = arn && colons < 5;
      if (ch === '*') src += inSegment ? '[^:]*' : '.*';
      else if (ch === '?') src += inSegment ? '[^:]' : '.';
      else {
        if (ch === ':') colons++;
        src += escapeRe(ch);
      }
    }
  }
  return src + '$';
}

function countColons(parts: ReadonlyArray<{ s: string }>): number {
  let n = 0;
  for (const p of parts) for (const ch of p.s) if (ch === ':') n++;
  return n;
}

/** Compiles resolved pieces to a matcher, with fast paths for exact, `*`, prefix and suffix patterns. */
export function compilePieces(parts: ReadonlyArray<{ t: 'glob' | 'lit'; s: string }>, arnMode: boolean): StringMatcher {
  const arn = arnMode && countColons(parts) >= 5;
  if (parts.length === 1 && parts[0]!.t === 'glob') {
    const s = parts[0]!.s;
    if (s === '*') return () => true;
    const star = s.indexOf('*');
    const hasQ = s.includes('?');
    if (star < 0 && !hasQ) return (v) => v === s;
    if (!hasQ && star === s.length - 1 && (!arn || countColons([{ s }]) >= 5)) {
      const prefix = s.slice(0, -1);
      return (v) => v.startsWith(prefix);
    }
    if (!hasQ && star === 0 && s.indexOf('*', 1) < 0 && !arn) {
      const suffix = s.slice(1);
      return (v) => v.endsWith(suffix);
    }
  } else if (parts.every((p) => p.t === 'lit')) {
    const s = parts.map((p) => p.s).join('');
    return (v) => v === s;
  }
  const re = new RegExp(regexSource(parts, arn), 's');
  return (v) => re.test(v);
}

/** A pattern from a policy (Action, Resource, StringLike value, ArnLike value) ready to match request values. */
export interface Pattern {
  source: string;
  /** True when the pattern is `*` and matches everything. */
  any: boolean;
  /** Matches `value`; `null` when a variable in the pattern cannot be resolved for this request. */
  match(value: string, lookup: KeyLookup): boolean | null;
}

const MAX_VAR_CACHE = 256;

/** Compiles a pattern. `lower` lower-cases it (actions: case-insensitive). `arn` = ARN segment-wise matching. */
export function compilePattern(text: string, opts: { variables: boolean; lower?: boolean; arn?: boolean }): Pattern {
  const src = opts.lower ? text.toLowerCase() : text;
  const tpl = parseTemplate(src, opts.variables);
  const arn = opts.arn ?? false;
  if (!tpl.hasVars) {
    const m = compilePieces(tpl.parts as Array<{ t: 'glob' | 'lit'; s: string }>, arn);
    return { source: text, any: src === '*', match: (v) => m(v) };
  }
  const cache = new Map<string, StringMatcher>();
  return {
    source: text,
    any: false,
    match(value, lookup) {
      const r = resolveTemplate(tpl, lookup);
      if (!r) return null;
      const key = r.map((p) => (p.t === 'lit' ? '\u0000' : '\u0001') + p.s).join('\u0002');
      let m = cache.get(key);
      if (!m) {
        if (cache.size >= MAX_VAR_CACHE) cache.clear();
        m = compilePieces(r, arn);
        cache.set(key, m);
      }
      return m(value);
    },
  };
}
