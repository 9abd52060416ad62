import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestDatabase, groupSync, syncCommitted, testDbKind, walRestartPoint, WAL_RESTART_FRAMES, sql, type NamedMigration } from './index.js';

const migrations: NamedMigration[] = [
  {
    name: 'test-001-things',
    up: async (db) => {
      await db.schema.createTable('things').addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('n', 'bigint', (c) => c.notNull()).addColumn('flag', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    },
  },
];

test('migrates, writes and reads back numbers and booleans the same on both dialects', async () => {
  const d = await openTestDatabase<{ things: { id: string; n: number; flag: number } }>(migrations);
  try {
    const big = Date.now() * 1000;
    await d.db.insertInto('things').values({ id: 'a', n: big, flag: 1 }).execute();
    await d.db.insertInto('things').values({ id: 'a', n: 1, flag: 0 }).onConflict((oc) => oc.column('id').doUpdateSet({ n: 2 })).execute();
    const row = await d.db.selectFrom('things').selectAll().where('id', '=', 'a').executeTakeFirstOrThrow();
    assert.deepEqual(row, { id: 'a', n: 2, flag: 1 });
    await d.db.updateTable('things').set({ n: big }).execute();
    const again = await d.db.selectFrom('things').select('n').executeTakeFirstOrThrow();
    assert.equal(again.n, big);
    assert.equal(typeof again.n, 'number');
  } finally {
    await d.close();
  }
});

test('groupSync: callers arriving during a flush share the next one, which starts after them', async () => {
  let started = 0;
  const gates: (() => void)[] = [];
  const sync = groupSync(() => new Promise<void>((r) => { started++; gates.push(r); }));
  const a = sync();
  const b = sync();
  const c = sync();
  assert.equal(started, 1);
  gates.shift()!();
  await a;
  await new Promise((r) => setImmediate(r));
  assert.equal(started, 2); // b and c: one flush, begun after they called
  gates.shift()!();
  await Promise.all([b, c]);
  assert.equal(started, 2);
  const d = sync();
  assert.equal(started, 3);
  gates.shift()!();
  await d;
});

test('syncCommitted resolves after a commit on either dialect', async () => {
  const db = await openTestDatabase<{ t: { id: string } }>([{ name: 'x-001', up: async (k) => { await k.schema.createTable('t').addColumn('id', 'text').execute(); } }]);
  try {
    await db.db.insertInto('t').values({ id: 'a' }).execute();
    await Promise.all([syncCommitted(db.db), syncCommitted(db.db)]);
    assert.equal((await db.db.selectFrom('t').selectAll().execute()).length, 1);
  } finally {
    await db.close();
  }
});

test('walRestartPoint: a writer that waits for it when the WAL is long starts the WAL over (SQLite; PostgreSQL has none)', async () => {
  const db = await openTestDatabase<{ b: { id: number; data: Buffer } }>([{ name: 'x-001', up: async (k) => { await k.schema.createTable('b').addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('data', testDbKind() === 'sqlite' ? 'blob' : 'bytea').execute(); } }]);
  try {
    if (db.kind !== 'sqlite') {
      // PostgreSQL has no WAL of ours to restart: there is never anything to wait for
      assert.equal(walRestartPoint(db.db), undefined);
      return;
    }
    const walFrames = async () => Number((await sql<{ log: number }>`PRAGMA wal_checkpoint(PASSIVE)`.execute(db.db)).rows[0]!.log);
    const data = Buffer.alloc(4096, 7);
    let id = 0;
    const write = () => db.db.transaction().execute(async (trx) => {
      for (let i = 0; i < 4; i++) await trx.insertInto('b').values({ id: id++, data }).execute();
    });
    // writes keep coming (as a busy writer's do) until the checkpointer has seen a long WAL
    let restart: Promise<void> | undefined;
    const deadline = Date.now() + 20_000;
    while (!(restart = walRestartPoint(db.db)) && Date.now() < deadline) {
      await write();
      if (id % 400 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(restart, 'the checkpointer reported a long WAL');
    assert.ok(id * 2 >= WAL_RESTART_FRAMES, `${id} rows written`);
    await restart;
    await write();
    assert.ok(await walFrames() < 100, 'the WAL started over');
    assert.equal(walRestartPoint(db.db), undefined, 'nothing to wait for right after');
  } finally {
    await db.close();
  }
});
