/**
 * @module rpc/schema
 * A tiny runtime schema for the internal HTTP+JSON messages: one schema per message, used by the client (to check what
 * it sends and receives) and by the server (to reject what it cannot trust). Types are inferred from the schema, so
 * the TypeScript type and the runtime check can never disagree.
 *
 * ```ts
 * const Foo = s.object({ id: s.string({ pattern: /^i-[0-9a-f]+$/ }), n: s.optional(s.int({ min: 0 })) });
 * type Foo = Infer<typeof Foo>;            // { id: string; n?: number | undefined }
 * const foo = parse(Foo, json, 'Foo');     // throws SchemaError with the path of the first bad field
 * ```
 */

export class SchemaError extends Error {
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'SchemaError';
  }
}

export interface Schema<T> {
  /** Returns the checked value (objects are rebuilt with only the declared keys) or throws SchemaError. */
  check(v: unknown, path: string): T;
  /** Set on optional schemas so that `object()` makes the key optional in the inferred type. */
  readonly optional?: true;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { optional: true } ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type InferShape<S extends Shape> = Simplify<
  { [K in RequiredKeys<S>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> }
>;

const fail = (path: string, msg: string): never => {
  throw new SchemaError(path, msg);
};

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

export const s = {
  string(opts: { pattern?: RegExp; min?: number; max?: number } = {}): Schema<string> {
    return {
      check(v, path) {
        if (typeof v !== 'string') return fail(path, `expected string, got ${describe(v)}`);
        if (opts.min !== undefined && v.length < opts.min) fail(path, `shorter than ${opts.min}`);
        if (opts.max !== undefined && v.length > opts.max) fail(path, `longer than ${opts.max}`);
        if (opts.pattern && !opts.pattern.test(v)) fail(path, `does not match ${String(opts.pattern)}`);
        return v;
      },
    };
  },
  int(opts: { min?: number; max?: number } = {}): Schema<number> {
    return {
      check(v, path) {
        if (typeof v !== 'number' || !Number.isSafeInteger(v)) return fail(path, `expected integer, got ${describe(v)}`);
        if (opts.min !== undefined && v < opts.min) fail(path, `less than ${opts.min}`);
        if (opts.max !== undefined && v > opts.max) fail(path, `greater than ${opts.max}`);
        return v;
      },
    };
  },
  number(): Schema<number> {
    return {
      check(v, path) {
        if (typeof v !== 'number' || !Number.isFinite(v)) return fail(path, `expected number, got ${describe(v)}`);
        return v;
      },
    };
  },
  boolean(): Schema<boolean> {
    return {
      check(v, path) {
        if (typeof v !== 'boolean') return fail(path, `expected boolean, got ${describe(v)}`);
        return v;
      },
    };
  },
  literal<const T extends string>(...values: T[]): Schema<T> {
    return {
      check(v, path) {
        if (typeof v !== 'string' || !(values as string[]).includes(v)) {
          return fail(path, `expected one of ${values.join(', ')}`);
        }
        return v as T;
      },
    };
  },
  array<T>(item: Schema<T>, opts: { max?: number } = {}): Schema<T[]> {
    return {
      check(v, path) {
        if (!Array.isArray(v)) return fail(path, `expected array, got ${describe(v)}`);
        if (opts.max !== undefined && v.length > opts.max) fail(path, `more than ${opts.max} items`);
        return v.map((x, i) => item.check(x, `${path}[${i}]`));
      },
    };
  },
  record<T>(value: Schema<T>): Schema<Record<string, T>> {
    return {
      check(v, path) {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(path, `expected object, got ${describe(v)}`);
        const out: Record<string, T> = {};
        for (const [k, x] of Object.entries(v)) out[k] = value.check(x, `${path}.${k}`);
        return out;
      },
    };
  },
  optional<T>(inner: Schema<T>): Schema<T | undefined> & { optional: true } {
    return {
      optional: true,
      check(v, path) {
        return v === undefined || v === null ? undefined : inner.check(v, path);
      },
    };
  },
  object<S extends Shape>(shape: S): Schema<InferShape<S>> {
    return {
      check(v, path) {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(path, `expected object, got ${describe(v)}`);
        const src = v as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const [k, sch] of Object.entries(shape)) {
          const x = sch.check(src[k], `${path}.${k}`);
          if (x !== undefined) out[k] = x;
        }
        return out as InferShape<S>;
      },
    };
  },
  /** A discriminated union on `kind`. */
  union<const U extends Record<string, Schema<any>>>(tag: string, variants: U): Schema<Infer<U[keyof U]>> {
    return {
      check(v, path) {
        if (typeof v !== 'object' || v === null) return fail(path, `expected object, got ${describe(v)}`);
        const k = (v as Record<string, unknown>)[tag];
        const sch = typeof k === 'string' ? variants[k] : undefined;
        if (!sch) return fail(`${path}.${tag}`, `expected one of ${Object.keys(variants).join(', ')}`);
        return { ...sch.check(v, path), [tag]: k };
      },
    };
  },
};

/** Checks `v` against `schema`, naming the message in errors. */
export function parse<T>(schema: Schema<T>, v: unknown, name = 'message'): T {
  return schema.check(v, name);
}
