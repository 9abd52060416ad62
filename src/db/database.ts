/**
 * @module db/database
 * One database handle over SQLite (better-sqlite3, WAL; the cloud-in-a-box default) or PostgreSQL (pg; multi-host).
 * Components declare their own table types and migrations; this module only connects, migrates and closes.
 *
 * Portability rules for every schema in the cloud (both dialects run the whole test suite):
 * - ids are text; timestamps are epoch milliseconds in `bigint` columns (returned as JS numbers on both);
 * - booleans are integers 0/1; JSON documents are text;
 * - upserts use `onConflict`, which both dialects support.
 */
import { Kysely, SqliteDialect, PostgresDialect, sql } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { DbConfig } from '../shared/index.js';

// int8 (bigint) and numeric come back from pg as strings by default; our bigints are epoch ms and counters.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

export type DbKind = 'sqlite' | 'postgres';

export interface Database<T = any> {
  readonly kind: DbKind;
  readonly db: Kysely<T>;
  /** PostgreSQL: the schema the cloud's tables live in (search_path), when not the default. */
  readonly schema?: string;
  close(): Promise<void>;
}

/** A named migration; names sort in the order they must run (`<component>-<NNN>-<what>` per component). */
export interface NamedMigration extends Migration {
  name: string;
}

const IDENT = /^[a-z_][a-z0-9_]*$/;

export async function openDatabase<T = any>(cfg: DbConfig): Promise<Database<T>> {
  if (cfg.kind === 'sqlite') {
    if (cfg.file !== ':memory:') mkdirSync(dirname(cfg.file), { recursive: true });
    const native = new SQLite(cfg.file);
    native.pragma('journal_mode = WAL');
    native.pragma('synchronous = NORMAL');
    native.pragma('busy_timeout = 5000');
    native.pragma('foreign_keys = ON');
    const db = new Kysely<T>({ dialect: new SqliteDialect({ database: withStatementCache(native) }) });
    if (cfg.file === ':memory:') return { kind: 'sqlite', db, close: () => db.destroy() };
    const file = resolve(cfg.file); // the WAL sits next to the file SQLite opened, whatever the cwd is later
    const wal = fileSyncer(`${file}-wal`);
    walSyncers.set(db, groupSync(wal.sync));
    // Checkpoints (copying the WAL into the database, two fsyncs) run in a worker thread on its own connection; the
    // event loop's connection checkpoints only as a fallback when the WAL grows past ~40 MB.
    native.pragma(`wal_autocheckpoint = ${FALLBACK_CHECKPOINT_PAGES}`);
    const checkpointer = startCheckpointer(file);
    walRestarts.set(db, checkpointer.restartPoint);
    return {
      kind: 'sqlite', db,
      close: async () => {
        await checkpointer.stop();
        await db.destroy();
        await wal.close();
      },
    };
  }
  const schema = cfg.schema;
  if (schema !== undefined && !IDENT.test(schema)) throw new Error(`invalid schema name ${schema}`);
  if (schema) {
    const admin = new pg.Client({ connectionString: cfg.url });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      await admin.end();
    }
  }
  const pool = new pg.Pool({ connectionString: cfg.url, max: 10 });
  if (schema) {
    pool.on('connect', (client) => {
      client.query(`SET search_path TO ${schema}`).catch(() => undefined);
    });
  }
  const db = new Kysely<T>({ dialect: new PostgresDialect({ pool }) });
  return { kind: 'postgres', db, ...(schema ? { schema } : {}), close: () => db.destroy() };
}

/**
 * better-sqlite3 behind Kysely with prepared statements reused: Kysely prepares every query it runs, and preparing
 * costs more than executing the small queries the cloud makes. Statements are kept per SQL text (values are bound
 * parameters, so the texts repeat); the cache is bounded. Kysely runs one query at a time on its single SQLite
 * connection, so a cached statement is never in use twice at once.
 */
export function withStatementCache(native: SQLite.Database, max = 2000): SQLite.Database {
  const cache = new Map<string, SQLite.Statement>();
  const prepare = (source: string): SQLite.Statement => {
    let stmt = cache.get(source);
    if (!stmt) {
      stmt = native.prepare(source);
      if (cache.size >= max) cache.clear();
      cache.set(source, stmt);
    }
    return stmt;
  };
  return new Proxy(native, {
    get(target, prop, receiver) {
      if (prop === 'prepare') return prepare;
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** WAL pages after which the main connection checkpoints itself (the checkpointer thread normally keeps it far lower). */
const FALLBACK_CHECKPOINT_PAGES = 10_000;
/** WAL frames from which `walRestartPoint` has a writer wait for the checkpointer, so that the WAL starts over. */
export const WAL_RESTART_FRAMES = 4_000;
/**
 * Longest wait of `walRestartPoint` for the checkpointer thread: a pass right after the one that reported takes a few
 * ms; a longer wait would show in the writes' p99, and a missed restart is tried again at the next report.
 */
const RESTART_WAIT_MS = 50;
/** How often the checkpointer thread runs a PASSIVE checkpoint (one on an already checkpointed WAL costs nothing). */
const CHECKPOINT_EVERY_MS = 100;

/** The checkpointer thread's program (plain CommonJS: it loads nothing of ours). */
const CHECKPOINTER = `
const { workerData, parentPort } = require('node:worker_threads');
const SQLite = require(workerData.module);
const db = new SQLite(workerData.file, { fileMustExist: true });
db.pragma('synchronous = NORMAL');
const run = () => {
  try {
    return db.pragma('wal_checkpoint(PASSIVE)')[0];
  } catch {
    return undefined; // busy or closing: the next tick retries
  }
};
// a WAL this long: tell the main thread, whose writer then waits for one pass (see walRestartPoint)
const timer = setInterval(() => { const r = run(); if (r && r.log >= workerData.restartFrames) parentPort.postMessage('long'); }, workerData.everyMs);
parentPort.on('message', (m) => {
  if (m === 'now') {
    run();
    parentPort.postMessage('done');
    return;
  }
  clearInterval(timer); run(); db.close(); parentPort.close();
});
`;

/**
 * A worker thread that checkpoints the SQLite database's WAL with its own connection, so that the connection serving
 * requests never blocks on a checkpoint's writes and fsyncs. PASSIVE checkpoints never wait for or block the writer.
 */
function startCheckpointer(file: string): { stop(): Promise<void>; restartPoint(): Promise<void> | undefined } {
  const worker = new Worker(CHECKPOINTER, {
    eval: true,
    workerData: { file, module: createRequire(import.meta.url).resolve('better-sqlite3'), everyMs: CHECKPOINT_EVERY_MS, restartFrames: WAL_RESTART_FRAMES },
  });
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('error', () => undefined); // a failed checkpointer leaves checkpoints to the fallback on the main connection
  let long = false;
  let passDone: (() => void) | undefined;
  worker.on('message', (m) => {
    if (m === 'long') long = true;
    else if (m === 'done') passDone?.();
  });
  return {
    restartPoint: () => {
      if (!long || passDone) return undefined;
      long = false;
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => passDone?.(), RESTART_WAIT_MS);
        passDone = () => {
          clearTimeout(timer);
          passDone = undefined;
          resolve();
        };
        worker.postMessage('now');
      });
    },
    stop: async () => {
      worker.ref(); // keep the process alive until it has let go of the database
      worker.postMessage('stop');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => { timer = setTimeout(r, 2000); })]);
      clearTimeout(timer);
      await worker.terminate();
    },
  };
}

/**
 * Per SQLite database: makes its committed transactions durable. SQLite runs with `synchronous = NORMAL` (a commit
 * writes the WAL without fsync, so the event loop never blocks on a disk flush); a caller that must not answer before
 * its commit survives a power loss calls `syncCommitted` after committing.
 */
const walSyncers = new WeakMap<Kysely<any>, () => Promise<void>>();
const walRestarts = new WeakMap<Kysely<any>, () => Promise<void> | undefined>();

/**
 * SQLite: when the WAL has grown past `WAL_RESTART_FRAMES`, a promise that resolves once the checkpointer thread has
 * copied it all into the database (or after a short bound); a write transaction begun right after it starts the WAL
 * over. Otherwise (and on PostgreSQL) undefined. For a writer that commits continuously, between its transactions:
 * the checkpointer's passes never catch up with it, so without this the WAL only starts over when it reaches the
 * fallback size and the serving connection checkpoints itself — copying pages and two fsyncs on the event loop.
 */
export function walRestartPoint(db: Kysely<any>): Promise<void> | undefined {
  return walRestarts.get(db)?.();
}

/**
 * Resolves once every transaction committed on `db` before the call is durable. SQLite: one `fdatasync` of the WAL
 * file in the thread pool, shared by every caller that arrives while the previous one runs (group commit; a commit
 * frame in a durable WAL is a durable commit, and checkpoints sync the WAL and the database themselves). PostgreSQL:
 * a commit is durable when it returns (synchronous_commit), so this resolves at once.
 */
export function syncCommitted(db: Kysely<any>): Promise<void> {
  return walSyncers.get(db)?.() ?? Promise.resolve();
}

/**
 * `fdatasync` of a file through a descriptor opened once (not an open and a close per sync). For the WAL: SQLite
 * keeps the same WAL file while any connection is open (checkpoints truncate or rewrite it in place; only the last
 * connection to close deletes it), and the database's own connection is open until `close`.
 */
function fileSyncer(file: string): { sync(): Promise<void>; close(): Promise<void> } {
  let fh: FileHandle | undefined;
  return {
    sync: async () => {
      if (!fh) {
        try {
          fh = await open(file, 'r');
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // no WAL: nothing committed since the last checkpoint reset
          throw e;
        }
      }
      await fh.datasync();
    },
    close: async () => {
      const h = fh;
      fh = undefined;
      await h?.close();
    },
  };
}

/**
 * Group commit for a flush operation: a caller gets a flush that starts after its call. While one flush runs, every
 * new caller shares the single next one.
 */
export function groupSync(flush: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  const sync = (): Promise<void> => {
    if (!running) {
      running = flush().finally(() => { running = undefined; });
      return running;
    }
    next ??= running.catch(() => undefined).then(() => {
      next = undefined;
      return sync();
    });
    return next;
  };
  return sync;
}

/** Runs every migration not yet applied, in name order. Throws on the first failure. */
export async function migrate(database: Database, migrations: NamedMigration[]): Promise<string[]> {
  const byName: Record<string, Migration> = {};
  for (const m of migrations) {
    if (byName[m.name]) throw new Error(`duplicate migration ${m.name}`);
    byName[m.name] = m;
  }
  const provider: MigrationProvider = { getMigrations: () => Promise.resolve(byName) };
  const run = async (db: Kysely<any>) => {
    // With several schemas in one PostgreSQL database, Kysely must look for its own bookkeeping tables in ours only.
    const migrator = new Migrator({
      db, provider, allowUnorderedMigrations: true,
      ...(database.schema ? { migrationTableSchema: database.schema } : {}),
    });
    const { error, results } = await migrator.migrateToLatest();
    if (error) throw error instanceof Error ? error : new Error(String(error));
    return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  };
  if (database.kind !== 'postgres') return run(database.db);
  // Kysely's migrator lists the tables of *every* schema, calling functions that look schemas up by name: a schema
  // dropped meanwhile by another process makes that query fail ("schema ... does not exist"). Migrations hold a
  // shared advisory lock on their connection and dropSchema() takes it exclusively, so the two never overlap.
  return database.db.connection().execute(async (conn) => {
    await sql`SELECT pg_advisory_lock_shared(${SCHEMA_DDL_LOCK})`.execute(conn);
    try {
      return await run(conn);
    } finally {
      await sql`SELECT pg_advisory_unlock_shared(${SCHEMA_DDL_LOCK})`.execute(conn);
    }
  });
}

/** PostgreSQL advisory lock key shared by migrations (shared) and schema drops (exclusive). */
const SCHEMA_DDL_LOCK = 0x6575636100;

/** Drops a PostgreSQL schema (tests). */
export async function dropSchema(url: string, schema: string): Promise<void> {
  if (!IDENT.test(schema)) throw new Error(`invalid schema name ${schema}`);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query('BEGIN');
    await admin.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_DDL_LOCK]);
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.query('COMMIT');
  } finally {
    await admin.end();
  }
}

export { sql };
