/**
 * Test utilities: model-generated sample values and a normaliser for deep comparison. Used by the SDK and botocore
 * round-trip tests. Samples fill every member with a type-correct value that satisfies the model's constraints
 * (enum, length, range, pattern), nest every structure, and give every list two items and every map two entries.
 */
import { loadModel, type ModelService, type RawShape } from './model.js';

/** Strings tried, in order, for string shapes with a pattern. */
const PATTERN_CANDIDATES = [
  'sample name+1&x/é',
  'sample-name',
  'sample',
  'abc123',
  'ABC123',
  '/',
  '/path/',
  'v1',
  '123456789012',
  'p-12345678',
  'o-abcdefghij',
  'o-abcdefghij/r-abcd',
  'https://example.com/x',
  'arn:aws:iam::123456789012:role/sample',
  'arn:aws:outposts:us-east-1:123456789012:outpost/op-0123456789abcdef0',
  'arn:aws:secretsmanager:us-east-1:123456789012:secret:sample',
  'us-east-1',
  '10.0.0.1',
  'a1:b2',
  '1',
];

const BASE_STRING = 'sample value+1 & <x> "y" \'z\' é/€ %20';

export interface SampleOptions {
  /** For output samples: the second list item differs from the first (checks ordering). */
  variant?: number;
  /** Timestamp used everywhere. */
  date?: Date;
}

export class SampleGenerator {
  private readonly model;
  private readonly date: Date;
  constructor(
    readonly service: ModelService,
    opts: SampleOptions = {},
  ) {
    this.model = loadModel(service);
    this.date = opts.date ?? new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
  }

  /** A sample value for a shape. `path` guards against recursive shapes. */
  value(shapeName: string, index = 0, path: string[] = []): unknown {
    const s = this.model.shape(shapeName);
    switch (s.type) {
      case 'structure': {
        if (path.includes(shapeName) || path.length > 20) return undefined;
        const out: Record<string, unknown> = {};
        for (const m of this.model.members(shapeName)) {
          const v = this.value(m.shape, index, [...path, shapeName]);
          if (v !== undefined) out[m.name] = v;
        }
        return out;
      }
      case 'list': {
        const n = count(s);
        const out: unknown[] = [];
        for (let i = 0; i < n; i++) {
          const v = this.value(s.member!.shape, i, path);
          if (v !== undefined) out.push(v);
        }
        return out;
      }
      case 'map': {
        const out: Record<string, unknown> = {};
        for (let i = 0; i < 2; i++) {
          const k = this.value(s.key!.shape, i, path) as string;
          out[`${k}${i}`] = this.value(s.value!.shape, i, path);
        }
        return out;
      }
      case 'string':
        return this.string(shapeName, s, index);
      case 'integer':
        return clamp(42 + index, s);
      case 'long':
        return clamp(1234567890123 + index, s);
      case 'float':
      case 'double':
        return clamp(1.5 + index, s);
      case 'boolean':
        return index % 2 === 0;
      case 'timestamp':
        return new Date(this.date.getTime() + index * 1000);
      case 'blob':
        return new Uint8Array([1, 2, 3, 250, index]);
      default:
        return undefined;
    }
  }

  private string(shapeName: string, s: RawShape, index: number): string {
    if (s.enum) return s.enum[Math.min(index, s.enum.length - 1)]!;
    const re = s.pattern ? this.model.pattern(shapeName) : null;
    const fits = (c: string): boolean => (s.min === undefined || c.length >= s.min) && (s.max === undefined || c.length <= s.max) && (!re || re.test(c));
    const candidates = re ? PATTERN_CANDIDATES : [`${BASE_STRING}${index}`];
    for (const c of candidates) {
      for (const v of [c, pad(c, s.min ?? 0)]) {
        const w = s.max !== undefined ? v.slice(0, s.max) : v;
        if (fits(w)) return w;
      }
    }
    throw new Error(`samples: no sample string for ${this.service} ${shapeName} (pattern ${s.pattern}, min ${s.min}, max ${s.max})`);
  }
}

function pad(c: string, min: number): string {
  if (c.length >= min) return c;
  return c.repeat(Math.ceil(min / c.length));
}

function count(s: RawShape): number {
  let n = 2;
  if (s.min !== undefined && s.min > n) n = s.min;
  if (s.max !== undefined && s.max < n) n = s.max;
  return n;
}

function clamp(n: number, s: RawShape): number {
  if (s.max !== undefined && n > s.max) n = s.max;
  if (s.min !== undefined && n < s.min) n = s.min;
  return n;
}

/** Normalises for deepStrictEqual: Dates → ISO, bytes → base64, undefined members dropped. */
export function normalize(v: unknown): unknown {
  if (v instanceof Date) return { $date: Number.isNaN(v.getTime()) ? 'invalid' : v.toISOString() };
  if (v instanceof Uint8Array) return { $blob: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = normalize(x);
    return out;
  }
  return v;
}
