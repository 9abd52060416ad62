/**
 * @module db/prepared
 * Hot queries built once: `prepared(build)` builds a Kysely query whose variable values are named placeholders,
 * compiles it with the database's own dialect on first use (SQLite `?`, PostgreSQL `$n`), and afterwards runs the
 * compiled SQL with new values — no query builder, node visitor or compiler work per call. The SQL text is the same
 * on every call, so SQLite's statement cache (`withStatementCache`) also finds its prepared statement at once.
 */
import type { Compilable, CompiledQuery, Kysely } from 'kysely';

/** Placeholder for the parameter `name`; only as a value in the query built by `prepared`'s `build`. */
type Param = (name: string) => any;

interface Compiled {
  sql: string;
  query: CompiledQuery['query'];
  /** Per SQL parameter: the name of the value to bind, or a constant of the built query. */
  slots: ({ name: string } | { value: unknown })[];
}

const MARK = '\u0000euca-param:';

export interface PreparedQuery<V extends object, R> {
  /** Runs the query on `db` (a Kysely instance or a transaction) with `values` for its placeholders. */
  execute(db: Kysely<any>, values: V): Promise<R[]>;
  /** The first row, or undefined. */
  executeTakeFirst(db: Kysely<any>, values: V): Promise<R | undefined>;
}

/**
 * A query compiled once per dialect. `build(db, p)` must use `p('name')` for every value that varies and give the
 * same shape of query whatever the values are (an `in` list of variable length cannot be prepared). Every name it
 * uses must be given to `execute`; a placeholder the compiler did not turn into a bound parameter is an error.
 */
export function prepared<V extends object, R = unknown>(
  build: (db: Kysely<any>, p: Param) => Compilable<R>,
): PreparedQuery<V, R> {
  // one compilation per dialect adapter: a transaction shares its database's adapter
  const byAdapter = new WeakMap<object, Compiled>();
  const compile = (db: Kysely<any>): Compiled => {
    const adapter = db.getExecutor().adapter;
    let c = byAdapter.get(adapter);
    if (c) return c;
    const used = new Set<string>();
    const q = build(db, (name) => {
      used.add(name);
      return `${MARK}${name}`;
    }).compile();
    const slots = q.parameters.map((v) => (typeof v === 'string' && v.startsWith(MARK) ? { name: v.slice(MARK.length) } : { value: v }));
    for (const name of used) {
      if (!slots.some((s) => 'name' in s && s.name === name)) throw new Error(`prepared query: placeholder ${name} is not a bound parameter in ${q.sql}`);
    }
    c = { sql: q.sql, query: q.query, slots };
    byAdapter.set(adapter, c);
    return c;
  };
  const execute = async (db: Kysely<any>, values: V): Promise<R[]> => {
    const c = compile(db);
    const parameters = c.slots.map((s) => {
      if ('value' in s) return s.value;
      if (!(s.name in values)) throw new Error(`prepared query: no value for ${s.name}`);
      return (values as Record<string, unknown>)[s.name];
    });
    const r = await db.executeQuery<R>({ sql: c.sql, query: c.query, parameters, queryId: { queryId: '' } });
    return r.rows;
  };
  return {
    execute,
    executeTakeFirst: async (db, values) => (await execute(db, values))[0],
  };
}
