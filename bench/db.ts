/**
 * bench/db: small Kysely queries on SQLite with and without the prepared-statement cache of src/db, in the same run
 * (insert + select-by-key + update, the shape of the cloud's per-request queries).
 * Run: node --import tsx bench/db.ts [--n 5000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { withStatementCache } from '../src/db/index.js';

const nIdx = process.argv.indexOf('--n');
const n = nIdx > 0 ? Number(process.argv[nIdx + 1]) : 5000;
type DB = { t: { id: string; v: number; s: string } };

async function run(cached: boolean, dir: string, label: string): Promise<number> {
  const native = new SQLite(join(dir, `${label}.db`));
  native.pragma('journal_mode = WAL');
  native.pragma('synchronous = NORMAL');
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: cached ? withStatementCache(native) : native }) });
  await db.schema.createTable('t').addColumn('id', 'text', (c) => c.primaryKey()).addColumn('v', 'integer').addColumn('s', 'text').execute();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const id = `k${i}`;
    await db.insertInto('t').values({ id, v: i, s: 'x'.repeat(32) }).execute();
    await db.selectFrom('t').selectAll().where('id', '=', id).executeTakeFirst();
    await db.updateTable('t').set({ v: i + 1 }).where('id', '=', id).execute();
  }
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  await db.destroy();
  return n / sec;
}

const dir = mkdtempSync(join(tmpdir(), 'euca-bench-db-'));
try {
  await run(false, dir, 'warm'); // warm-up (JIT)
  const u = await run(false, dir, 'uncached');
  const c = await run(true, dir, 'cached');
  console.log(`bench/db ${new Date().toISOString()}: ${n} × (insert + select by key + update), SQLite WAL`);
  console.log(`without statement cache: ${u.toFixed(0)} rounds/s`);
  console.log(`with statement cache   : ${c.toFixed(0)} rounds/s (${(c / u).toFixed(2)}×)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
