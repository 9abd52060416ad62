/**
 * @module walrus/schema
 * Walrus's tables and migrations. Every bucket, object version and upload names the account that owns it.
 * Keys are compared bytewise (S3 lists keys in UTF-8 binary order): SQLite's default BINARY collation does that,
 * PostgreSQL columns are declared `COLLATE "C"`.
 */
import { sql, type Kysely } from 'kysely';
import type { NamedMigration } from '../db/index.js';

export interface BucketTable {
  name: string;
  account_id: string;
  /** Display name of the owning account (its alias or id). */
  owner_name: string;
  region: string;
  created_at: number;
  /** '' (never enabled), 'Enabled' or 'Suspended'. */
  versioning: string;
  /** JSON `Grant[]`. */
  acl: string;
  policy: string | null;
  /** JSON documents as S3 takes them (parsed into plain objects). */
  cors: string | null;
  lifecycle: string | null;
  tagging: string | null;
}

export interface ObjectTable {
  bucket: string;
  key: string;
  /** 'null' when written while versioning was off or suspended. */
  version_id: string;
  /** Order of versions of one key: higher is newer. */
  seq: number;
  account_id: string;
  owner_name: string;
  is_latest: number;
  delete_marker: number;
  size: number;
  etag: string;
  last_modified: number;
  /** JSON: Content-Type, Content-Encoding, Content-Disposition, Content-Language, Cache-Control, Expires. */
  headers: string;
  /** JSON: user metadata (`x-amz-meta-*` without the prefix). */
  metadata: string;
  /** JSON: `{CRC32: base64, ...}` and `type` (FULL_OBJECT | COMPOSITE). */
  checksums: string;
  /** JSON `BlobRef[]`: the bytes, in order (one per part for multipart objects). */
  blobs: string;
  acl: string;
  tagging: string | null;
}

export interface UploadTable {
  upload_id: string;
  bucket: string;
  key: string;
  account_id: string;
  owner_name: string;
  initiator_arn: string;
  initiator_id: string;
  created_at: number;
  headers: string;
  metadata: string;
  acl: string;
  tagging: string | null;
  checksum_algorithm: string | null;
}

export interface PartTable {
  upload_id: string;
  part_number: number;
  size: number;
  etag: string;
  blob_id: string;
  checksums: string;
  last_modified: number;
}

/**
 * Bytes of small objects, kept with their version: written in the transaction that commits the version row and
 * deleted in the one that removes it, so one durable commit covers bytes and row (see `WalrusOptions.inlineUpTo`).
 */
export interface InlineTable {
  /** The blob id the version's `blobs` names (`i` + 32 hex digits). */
  id: string;
  data: Buffer;
}

export interface WalrusTables {
  walrus_buckets: BucketTable;
  walrus_objects: ObjectTable;
  walrus_uploads: UploadTable;
  walrus_parts: PartTable;
  walrus_inline: InlineTable;
}

function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter.constructor.name.startsWith('Postgres');
}

export const walrusMigrations: NamedMigration[] = [
  {
    name: 'walrus-001-buckets-objects-uploads',
    async up(db: Kysely<any>) {
      const pg = isPostgres(db);
      const keyCol = (c: any) => (pg ? c.notNull().modifyEnd(sql`collate "C"`) : c.notNull());
      await db.schema.createTable('walrus_buckets')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('owner_name', 'text', (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('versioning', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('acl', 'text', (c) => c.notNull())
        .addColumn('policy', 'text')
        .addColumn('cors', 'text')
        .addColumn('lifecycle', 'text')
        .addColumn('tagging', 'text')
        .execute();
      await db.schema.createIndex('walrus_buckets_account').on('walrus_buckets').columns(['account_id', 'name']).execute();

      await db.schema.createTable('walrus_objects')
        .addColumn('bucket', 'text', (c) => c.notNull())
        .addColumn('key', 'text', keyCol)
        .addColumn('version_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('owner_name', 'text', (c) => c.notNull())
        .addColumn('is_latest', 'integer', (c) => c.notNull())
        .addColumn('delete_marker', 'integer', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('last_modified', 'bigint', (c) => c.notNull())
        .addColumn('headers', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('checksums', 'text', (c) => c.notNull())
        .addColumn('blobs', 'text', (c) => c.notNull())
        .addColumn('acl', 'text', (c) => c.notNull())
        .addColumn('tagging', 'text')
        .addPrimaryKeyConstraint('walrus_objects_pk', ['bucket', 'key', 'version_id'])
        .execute();
      await db.schema.createIndex('walrus_objects_latest').on('walrus_objects').columns(['bucket', 'is_latest', 'key']).execute();
      await db.schema.createIndex('walrus_objects_seq').on('walrus_objects').columns(['bucket', 'key', 'seq']).execute();

      await db.schema.createTable('walrus_uploads')
        .addColumn('upload_id', 'text', (c) => c.primaryKey())
        .addColumn('bucket', 'text', (c) => c.notNull())
        .addColumn('key', 'text', keyCol)
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('owner_name', 'text', (c) => c.notNull())
        .addColumn('initiator_arn', 'text', (c) => c.notNull())
        .addColumn('initiator_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('headers', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('acl', 'text', (c) => c.notNull())
        .addColumn('tagging', 'text')
        .addColumn('checksum_algorithm', 'text')
        .execute();
      await db.schema.createIndex('walrus_uploads_bucket').on('walrus_uploads').columns(['bucket', 'key', 'created_at']).execute();

      await db.schema.createTable('walrus_parts')
        .addColumn('upload_id', 'text', (c) => c.notNull())
        .addColumn('part_number', 'integer', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('blob_id', 'text', (c) => c.notNull())
        .addColumn('checksums', 'text', (c) => c.notNull())
        .addColumn('last_modified', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('walrus_parts_pk', ['upload_id', 'part_number'])
        .execute();
    },
  },
  {
    name: 'walrus-002-inline-data',
    async up(db: Kysely<any>) {
      await db.schema.createTable('walrus_inline')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('data', isPostgres(db) ? 'bytea' : 'blob', (c) => c.notNull())
        .execute();
    },
  },
  {
    // The primary key (bucket, key, version_id) already finds a key's versions; ordering those few by seq needs no
    // index of its own, and every object write paid for keeping one (a page at a random place of it per PUT).
    name: 'walrus-003-drop-seq-index',
    async up(db: Kysely<any>) {
      await db.schema.dropIndex('walrus_objects_seq').ifExists().execute();
    },
  },
];
