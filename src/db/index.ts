/**
 * @module db
 * Persistence: connections to SQLite or PostgreSQL through Kysely, migrations, and fresh databases for tests.
 */
export * from './database.js';
export * from './testing.js';
export * from './prepared.js';
