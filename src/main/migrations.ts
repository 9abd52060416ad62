/**
 * @module main/migrations
 * Every component's migrations, in one list for the CLC's database.
 */
import type { NamedMigration } from '../db/index.js';
import { computeMigrations } from '../clc/compute/index.js';
import { iamMigrations, iamPolicyMigrations, propertiesMigrations } from '../clc/index.js';
import { walrusMigrations } from '../walrus/index.js';

export const allMigrations: NamedMigration[] = [
  ...iamMigrations,
  ...iamPolicyMigrations,
  ...propertiesMigrations,
  ...computeMigrations,
  ...walrusMigrations,
];
