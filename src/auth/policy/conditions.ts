/**
 * @module auth/policy/conditions
 * Condition operators, compiled once per statement. Semantics follow AWS's documentation:
 * - a block's operators, and an operator's keys, are ANDed; an operator's policy values are ORed;
 * - negated operators (`StringNotEquals`, `NotIpAddress`, `ArnNotLike`…) hold when no policy value matches;
 * - a key absent from the request makes positive operators false and negated ones true, except `…IfExists` (true)
 *   and `Null` (tests presence);
 * - `ForAnyValue:` holds when some request value satisfies the operator (false for no values), `ForAllValues:` when
 *   every request value does (true for no values);
 * - policy variables are honoured in string, ARN and Bool values (policy language 2012-10-17).
 */
import { PolicyMessages, malformed } from './errors.js';
import { compilePattern, parseTemplate, templateText, type KeyLookup, type Pattern, type Template } from './glob.js';
import { cidrContains, parseCidr, parseIp, type Cidr } from './ip.js';

export type ConditionFamily = 'String' | 'StringIgnoreCase' | 'StringLike' | 'Numeric' | 'Date' | 'Bool' | 'Binary' | 'Ip' | 'Arn' | 'Null';

interface OperatorSpec {
  family: ConditionFamily;
  negated: boolean;
  /** numeric/date comparison */
  cmp?: 'eq' | 'lt' | 'le' | 'gt' | 'ge';
}

const cmpOps: Array<[string, OperatorSpec['cmp'], boolean]> = [
  ['Equals', 'eq', false],
  ['NotEquals', 'eq', true],
  ['LessThan', 'lt', false],
  ['LessThanEquals', 'le', false],
  ['GreaterThan', 'gt', false],
  ['GreaterThanEquals', 'ge', false],
];

/** Every base operator (without `IfExists` / set qualifiers). */
export const OPERATORS: ReadonlyMap<string, OperatorSpec> = new Map<string, OperatorSpec>([
  ['StringEquals', { family: 'String', negated: false }],
  ['StringNotEquals', { family: 'String', negated: true }],
  ['StringEqualsIgnoreCase', { family: 'StringIgnoreCase', negated: false }],
  ['StringNotEqualsIgnoreCase', { family: 'StringIgnoreCase', negated: true }],
  ['StringLike', { family: 'StringLike', negated: false }],
  ['StringNotLike', { family: 'StringLike', negated: true }],
  ...cmpOps.map(([n, cmp, neg]) => [`Numeric${n}`, { family: 'Numeric', negated: neg, cmp }] as [string, OperatorSpec]),
  ...cmpOps.map(([n, cmp, neg]) => [`Date${n}`, { family: 'Date', negated: neg, cmp }] as [string, OperatorSpec]),
  ['Bool', { family: 'Bool', negated: false }],
  ['BinaryEquals', { family: 'Binary', negated: false }],
  ['IpAddress', { family: 'Ip', negated: false }],
  ['NotIpAddress', { family: 'Ip', negated: true }],
  ['ArnEquals', { family: 'Arn', negated: false }],
  ['ArnLike', { family: 'Arn', negated: false }],
  ['ArnNotEquals', { family: 'Arn', negated: true }],
  ['ArnNotLike', { family: 'Arn', negated: true }],
  ['Null', { family: 'Null', negated: false }],
]);

export interface ParsedOperator {
  name: string;
  base: string;
  spec: OperatorSpec;
  ifExists: boolean;
  setOp?: 'any' | 'all';
}

/** Splits `ForAnyValue:StringLikeIfExists` into its parts; `null` for an unknown operator. */
export function parseOperator(name: string): ParsedOperator | null {
  let rest = name;
  let setOp: 'any' | 'all' | undefined;
  if (rest.startsWith('ForAnyValue:')) {
    setOp = 'any';
    rest = rest.slice('ForAnyValue:'.length);
  } else if (rest.startsWith('ForAllValues:')) {
    setOp = 'all';
    rest = rest.slice('ForAllValues:'.length);
  }
  let ifExists = false;
  if (rest.endsWith('IfExists')) {
    ifExists = true;
    rest = rest.slice(0, -'IfExists'.length);
  }
  const spec = OPERATORS.get(rest);
  if (!spec) return null;
  if (spec.family === 'Null' && (ifExists || setOp)) return null;
  return { name, base: rest, spec, ifExists, ...(setOp ? { setOp } : {}) };
}

// ---- dates -----------------------------------------------------------------------------------------------------

const ISO_RE =
  /^(-?\d{4,9})(?:-(\d{2})(?:-(\d{2})(?:[Tt](\d{2})(?::(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?)?)?$/;

/** Parses a W3C ISO 8601 date (any precision) or epoch seconds; ms since epoch, or NaN. */
export function parseDate(s: string): number {
  s = s.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const m = ISO_RE.exec(s);
  if (!m) return NaN;
  const [, y, mo = '01', d = '01', h = '00', mi = '00', sec = '00', frac, tz] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) return NaN;
  let ms = Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(sec), frac ? Math.floor(Number(frac) * 1000) : 0);
  if (tz && tz !== 'Z' && tz !== 'z') {
    const sign = tz[0] === '-' ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    const off = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
    ms -= sign * off * 60_000;
  }
  return ms;
}

function parseNumber(s: string): number {
  const t = s.trim();
  if (t === '' || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return NaN;
  return Number(t);
}

function compare(cmp: NonNullable<OperatorSpec['cmp']>, a: number, b: number): boolean {
  switch (cmp) {
    case 'eq':
      return a === b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
  }
}

// ---- compiled condition ----------------------------------------------------------------------------------------

/** One `operator: { key: values }` entry of a Condition block. */
export interface CompiledCondition {
  operator: string;
  key: string;
  /** Lower-cased key (condition keys are case-insensitive). */
  lowerKey: string;
  values: string[];
  op: ParsedOperator;
  /** True when some value of the request matches some policy value (the positive sense); `null` = unresolvable. */
  test(requestValue: string, lookup: KeyLookup): boolean | null;
}

function toStringValues(v: unknown): string[] | null {
  const arr = Array.isArray(v) ? v : [v];
  const out: string[] = [];
  for (const x of arr) {
    if (typeof x === 'string') out.push(x);
    else if (typeof x === 'number' || typeof x === 'boolean') out.push(String(x));
    else return null;
  }
  return out;
}

function b64(s: string): Buffer | null {
  const t = s.trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t)) return null;
  return Buffer.from(t, 'base64');
}

/** Compiles one operator/key/values triple. Throws MalformedPolicyDocument on bad values. */
export function compileCondition(operator: string, key: string, rawValues: unknown, variables: boolean): CompiledCondition {
  const op = parseOperator(operator);
  if (!op) throw malformed(PolicyMessages.syntax);
  const values = toStringValues(rawValues);
  if (!values) throw malformed(PolicyMessages.syntax);
  if (key.includes(':') === false && key !== '') {
    // AWS requires vendor-prefixed condition keys
    throw malformed(PolicyMessages.vendor);
  }
  const base = { operator, key, lowerKey: key.toLowerCase(), values, op };
  const { family, cmp } = op.spec;
  switch (family) {
    case 'String': {
      const tpls: Template[] = values.map((v) => parseTemplate(v, variables));
      return {
        ...base,
        test(rv, lookup) {
          let unresolved = false;
          for (const t of tpls) {
            const s = templateText(t, lookup);
            if (s === null) unresolved = true;
            else if (s === rv) return true;
          }
          return unresolved ? null : false;
        },
      };
    }
    case 'StringIgnoreCase': {
      const tpls: Template[] = values.map((v) => parseTemplate(v, variables));
      return {
        ...base,
        test(rv, lookup) {
          const lv = rv.toLowerCase();
          let unresolved = false;
          for (const t of tpls) {
            const s = templateText(t, lookup);
            if (s === null) unresolved = true;
            else if (s.toLowerCase() === lv) return true;
          }
          return unresolved ? null : false;
        },
      };
    }
    case 'StringLike':
    case 'Arn': {
      const pats: Pattern[] = values.map((v) => compilePattern(v, { variables, arn: family === 'Arn' }));
      return {
        ...base,
        test(rv, lookup) {
          let unresolved = false;
          for (const p of pats) {
            const r = p.match(rv, lookup);
            if (r === null) unresolved = true;
            else if (r) return true;
          }
          return unresolved ? null : false;
        },
      };
    }
    case 'Numeric': {
      const nums = values.map(parseNumber);
      return {
        ...base,
        test(rv) {
          const n = parseNumber(rv);
          if (Number.isNaN(n)) return false;
          return nums.some((p) => !Number.isNaN(p) && compare(cmp!, n, p));
        },
      };
    }
    case 'Date': {
      const dates = values.map(parseDate);
      if (dates.some((d) => Number.isNaN(d))) throw malformed(PolicyMessages.legacy);
      return {
        ...base,
        test(rv) {
          const d = parseDate(rv);
          if (Number.isNaN(d)) return false;
          return dates.some((p) => compare(cmp!, d, p));
        },
      };
    }
    case 'Bool': {
      const tpls: Template[] = values.map((v) => parseTemplate(v, variables));
      return {
        ...base,
        test(rv, lookup) {
          const lv = rv.toLowerCase();
          let unresolved = false;
          for (const t of tpls) {
            const s = templateText(t, lookup);
            if (s === null) unresolved = true;
            else if (s.toLowerCase() === lv) return true;
          }
          return unresolved ? null : false;
        },
      };
    }
    case 'Binary': {
      const bufs = values.map(b64);
      return {
        ...base,
        test(rv) {
          const r = b64(rv);
          if (!r) return false;
          return bufs.some((b) => b !== null && b.equals(r));
        },
      };
    }
    case 'Ip': {
      const cidrs = values.map(parseCidr);
      if (cidrs.some((c) => c === null)) throw malformed(PolicyMessages.syntax);
      const cs = cidrs as Cidr[];
      return {
        ...base,
        test(rv) {
          const ip = parseIp(rv);
          if (!ip) return false;
          return cs.some((c) => cidrContains(c, ip));
        },
      };
    }
    case 'Null': {
      const flags = values.map((v) => v.toLowerCase());
      if (flags.some((f) => f !== 'true' && f !== 'false')) throw malformed(PolicyMessages.syntax);
      return { ...base, test: () => false };
    }
  }
}

/** Evaluates one compiled condition against the request's values for its key. */
export function evaluateCondition(c: CompiledCondition, lookup: KeyLookup): boolean {
  const values = lookup(c.lowerKey);
  const absent = values === undefined || values.length === 0;
  const { op } = c;
  if (op.spec.family === 'Null') {
    return c.values.some((v) => (v.toLowerCase() === 'true' ? absent : !absent));
  }
  if (absent) {
    if (op.ifExists) return true;
    if (op.setOp === 'all') return true;
    if (op.setOp === 'any') return false;
    return op.spec.negated;
  }
  const negated = op.spec.negated;
  // every value must pass (ForAllValues, or a negated operator) or some value must (ForAnyValue, plain operators);
  // a loop rather than every/some with a closure, which would be re-created on each evaluation
  const all = op.setOp === 'all' || (op.setOp !== 'any' && negated);
  let sawUnresolved = false;
  let result = all;
  for (const v of values) {
    const r = c.test(v, lookup);
    let pass: boolean;
    if (r === null) {
      // an unresolvable policy variable makes the condition (and so the statement) not apply
      sawUnresolved = true;
      pass = false;
    } else pass = negated ? !r : r;
    if (all && !pass) {
      result = false;
      break;
    }
    if (!all && pass) {
      result = true;
      break;
    }
  }
  if (sawUnresolved && negated) return false;
  return result;
}
