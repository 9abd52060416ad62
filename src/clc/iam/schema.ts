/**
 * @module clc/iam/schema
 * Tables of accounts, users and access keys, and their migrations (`iam-0NN-…`).
 */
import type { NamedMigration } from '../../db/index.js';

export interface AccountsTable {
  account_id: string;
  /** The account's alias (Eucalyptus: the account name); unique, lower-case. */
  name: string;
  created_at: number;
}

export interface UsersTable {
  user_id: string;
  account_id: string;
  name: string;
  /** Lower-cased name: IAM user names are unique case-insensitively within an account. */
  name_lc: string;
  path: string;
  created_at: number;
}

export interface AccessKeysTable {
  access_key_id: string;
  secret_access_key: string;
  user_id: string;
  account_id: string;
  status: 'Active' | 'Inactive';
  created_at: number;
  last_used_at: number | null;
}

export interface IamCoreTables {
  accounts: AccountsTable;
  users: UsersTable;
  access_keys: AccessKeysTable;
}

export const iamMigrations: NamedMigration[] = [
  {
    name: 'iam-001-accounts-users-keys',
    up: async (db) => {
      await db.schema.createTable('accounts')
        .addColumn('account_id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createTable('users')
        .addColumn('user_id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.account_id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_lc', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull().defaultTo('/'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('users_account_name', ['account_id', 'name_lc'])
        .execute();
      await db.schema.createTable('access_keys')
        .addColumn('access_key_id', 'text', (c) => c.primaryKey())
        .addColumn('secret_access_key', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.user_id').onDelete('cascade'))
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .execute();
      await db.schema.createIndex('access_keys_user').on('access_keys').column('user_id').execute();
    },
  },
];
