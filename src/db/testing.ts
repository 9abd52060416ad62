/**
 * @module db/testing
 * A fresh, empty database for one test: a temporary SQLite file, or a fresh schema in the PostgreSQL named by
 * `EUCA_TEST_DB=postgres` (URL from `EUCA_TEST_PG_URL`, default postgres://postgres@127.0.0.1:5432/test).
 * The test suite runs once per database kind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { DbConfig } from '../shared/index.js';
import { openDatabase, migrate, dropSchema, type Database, type NamedMigration } from './database.js';

export const TEST_PG_URL = process.env.EUCA_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export function testDbKind(): 'sqlite' | 'postgres' {
  return process.env.EUCA_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';
}

/** A database config for a fresh test database, and a function that removes it. */
export function testDbConfig(): { cfg: DbConfig; cleanup: () => Promise<void> } {
  if (testDbKind() === 'postgres') {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    return { cfg: { kind: 'postgres', url: TEST_PG_URL, schema }, cleanup: () => dropSchema(TEST_PG_URL, schema) };
  }
  const dir = mkdtempSync(join(tmpdir(), 'euca-db-'));
  return {
    cfg: { kind: 'sqlite', file: join(dir, 'test.db') },
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

/** Opens a fresh migrated database; `close()` also removes it. */
export async function openTestDatabase<T = any>(migrations: NamedMigration[]): Promise<Database<T>> {
  const { cfg, cleanup } = testDbConfig();
  const database = await openDatabase<T>(cfg);
  await migrate(database, migrations);
  return {
    kind: database.kind,
    db: database.db,
    ...(database.schema ? { schema: database.schema } : {}),
    close: async () => {
      await database.close();
      await cleanup();
    },
  };
}
