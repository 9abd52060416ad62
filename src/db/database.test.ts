import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestDatabase, type NamedMigration } from './index.js';

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
