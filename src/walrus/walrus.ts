/**
 * @module walrus/walrus
 * The object store's domain: buckets, object versions, multipart uploads, listings, lifecycle. Bytes go through a
 * `BlobStore`; a version row is committed only after its blob is durable, and blobs a commit made unreachable are
 * deleted only after that commit is durable. Commits to one key are serialized in this process (one Walrus owns its
 * store); new object versions of different keys arriving together share one transaction and one durable sync
 * (group commit), and no write is answered before its commit is durable (`syncCommitted`).
 */
import { randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { AwsError } from '../shared/index.js';
import { prepared, syncCommitted, walRestartPoint } from '../db/index.js';
import { blobFileId, isInlineBlob, memoryBlobHandle, type BlobHandle, type BlobStore } from './blobstore.js';
import type { WalrusTables, ObjectTable, BucketTable, UploadTable } from './schema.js';
import {
  multipartEtag, successor, validateBucketName,
  type BlobRef, type Bucket, type Grant, type ObjectHeaders, type ObjectVersion, type Owner, type Part, type Upload,
  type CorsRule, type LifecycleRule,
} from './model.js';

export interface WalrusOptions {
  /** Smallest size of every part but the last (S3: 5 MiB). */
  minPartSize?: number;
  /** Largest part number (S3: 10000). */
  maxParts?: number;
  /** Objects up to this size are stored in shared pack files with group commit (`BlobStore.writeSmall`); 0 = never. */
  packUpTo?: number;
  /**
   * PutObject bodies up to this size are stored in the database with their version row (`NewObject.data`): one
   * durable commit for bytes and row, and a read is one query instead of a file open; 0 = never.
   */
  inlineUpTo?: number;
  /**
   * Bytes of inline blobs kept in memory after a read (default 8 MiB; 0 = none). An inline blob's id is never reused
   * and its bytes never change, so the cache cannot serve stale data: a new version of a key is a new id, and which
   * id a key reads is decided by the version lookup, not by this cache.
   */
  inlineCacheBytes?: number;
  now?: () => number;
}

export interface ListOptions {
  prefix?: string;
  delimiter?: string;
  /** Exclusive start: a key or a common prefix previously returned. */
  after?: string;
  maxKeys?: number;
}

export interface ListResult {
  objects: ObjectVersion[];
  commonPrefixes: string[];
  truncated: boolean;
  /** The last key or common prefix returned (the next marker). */
  last?: string;
}

export interface VersionListResult {
  versions: ObjectVersion[];
  commonPrefixes: string[];
  truncated: boolean;
  nextKeyMarker?: string;
  nextVersionIdMarker?: string;
}

export interface NewObject {
  owner: Owner;
  size: number;
  etag: string;
  headers: ObjectHeaders;
  metadata: Record<string, string>;
  checksums: ObjectVersion['checksums'];
  blobs: BlobRef[];
  acl: Grant[];
  tagging: Record<string, string> | null;
  /** A small object's bytes, stored with the row in its transaction (`blobs` is then ignored). */
  data?: Buffer;
}

export interface WriteConditions {
  /** If-Match: the current version's ETag must match. */
  ifMatch?: string;
  /** If-None-Match: '*' means the key must not exist. */
  ifNoneMatch?: string;
}

const BATCH = 1000;

// The queries of every small PUT and GET, built and compiled once (see `prepared`).
const OBJECT_COLUMNS: (keyof ObjectTable)[] = [
  'bucket', 'key', 'version_id', 'seq', 'account_id', 'owner_name', 'is_latest', 'delete_marker', 'size', 'etag',
  'last_modified', 'headers', 'metadata', 'checksums', 'blobs', 'acl', 'tagging',
];
const Q = {
  insertObject: prepared<ObjectTable>((db, p) => db.insertInto('walrus_objects').values(Object.fromEntries(OBJECT_COLUMNS.map((c) => [c, p(c)])))),
  demoteLatest: prepared<{ bucket: string; key: string }>((db, p) => db.updateTable('walrus_objects').set({ is_latest: 0 })
    .where('bucket', '=', p('bucket')).where('key', '=', p('key')).where('is_latest', '=', 1)),
  deleteNullVersion: prepared<{ bucket: string; key: string }, { blobs: string }>((db, p) => db.deleteFrom('walrus_objects')
    .where('bucket', '=', p('bucket')).where('key', '=', p('key')).where('version_id', '=', 'null').returning('blobs')),
  latestVersion: prepared<{ bucket: string; key: string }, ObjectTable>((db, p) => db.selectFrom('walrus_objects').selectAll()
    .where('bucket', '=', p('bucket')).where('key', '=', p('key')).where('is_latest', '=', 1)),
  version: prepared<{ bucket: string; key: string; versionId: string }, ObjectTable>((db, p) => db.selectFrom('walrus_objects').selectAll()
    .where('bucket', '=', p('bucket')).where('key', '=', p('key')).where('version_id', '=', p('versionId'))),
  insertInline: prepared<{ id: string; data: Buffer }>((db, p) => db.insertInto('walrus_inline').values({ id: p('id'), data: p('data') })),
  deleteInline: prepared<{ id: string }>((db, p) => db.deleteFrom('walrus_inline').where('id', '=', p('id'))),
  inlineData: prepared<{ id: string }, { data: Buffer | Uint8Array }>((db, p) => db.selectFrom('walrus_inline').select('data').where('id', '=', p('id'))),
};

/** Random part of this process's inline blob ids (see `inlineBlobId`). */
const INLINE_ID_SUFFIX = randomBytes(8).toString('hex');

/**
 * Id of a new inline blob: `i`, the version's sequence number (strictly increasing in this process) in 16 hex digits,
 * and 16 random hex digits drawn once per process (so ids stay unique if the clock went back across a restart). New
 * ids sort after older ones, so inserting one appends to walrus_inline's key index instead of touching a random page
 * of it, and no random bytes are drawn per PUT.
 */
function inlineBlobId(seq: number): string {
  return `i${seq.toString(16).padStart(16, '0')}${INLINE_ID_SUFFIX}`;
}
/** Most object commits one group-commit transaction takes. */
const COMMIT_BATCH = 256;

type CommitJob = { fn: (trx: Transaction<WalrusTables>) => Promise<string[]>; resolve: (freed: string[]) => void; reject: (e: unknown) => void };

function j<T>(s: string | null): T | null {
  return s === null ? null : (JSON.parse(s) as T);
}

function unquote(e: string): string {
  return e.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
}

export function etagMatches(header: string, etag: string): boolean {
  return header.split(',').some((h) => h.trim() === '*' || unquote(h) === etag);
}

function toBucket(r: BucketTable): Bucket {
  return {
    name: r.name,
    owner: { accountId: r.account_id, displayName: r.owner_name },
    region: r.region,
    createdAt: Number(r.created_at),
    versioning: r.versioning as Bucket['versioning'],
    acl: JSON.parse(r.acl) as Grant[],
    policy: r.policy,
    cors: j<CorsRule[]>(r.cors),
    lifecycle: j<LifecycleRule[]>(r.lifecycle),
    tagging: j<Record<string, string>>(r.tagging),
  };
}

function toVersion(r: ObjectTable): ObjectVersion {
  return {
    bucket: r.bucket,
    key: r.key,
    versionId: r.version_id,
    seq: Number(r.seq),
    owner: { accountId: r.account_id, displayName: r.owner_name },
    isLatest: Number(r.is_latest) === 1,
    deleteMarker: Number(r.delete_marker) === 1,
    size: Number(r.size),
    etag: r.etag,
    lastModified: Number(r.last_modified),
    headers: JSON.parse(r.headers) as ObjectHeaders,
    metadata: JSON.parse(r.metadata) as Record<string, string>,
    checksums: JSON.parse(r.checksums) as ObjectVersion['checksums'],
    blobs: JSON.parse(r.blobs) as BlobRef[],
    acl: JSON.parse(r.acl) as Grant[],
    tagging: j<Record<string, string>>(r.tagging),
  };
}

function toUpload(r: UploadTable): Upload {
  return {
    uploadId: r.upload_id,
    bucket: r.bucket,
    key: r.key,
    owner: { accountId: r.account_id, displayName: r.owner_name },
    initiatorArn: r.initiator_arn,
    initiatorId: r.initiator_id,
    createdAt: Number(r.created_at),
    headers: JSON.parse(r.headers) as ObjectHeaders,
    metadata: JSON.parse(r.metadata) as Record<string, string>,
    acl: JSON.parse(r.acl) as Grant[],
    tagging: j<Record<string, string>>(r.tagging),
    checksumAlgorithm: r.checksum_algorithm,
  };
}

function fromVersion(v: ObjectVersion): ObjectTable {
  return {
    bucket: v.bucket,
    key: v.key,
    version_id: v.versionId,
    seq: v.seq,
    account_id: v.owner.accountId,
    owner_name: v.owner.displayName,
    is_latest: v.isLatest ? 1 : 0,
    delete_marker: v.deleteMarker ? 1 : 0,
    size: v.size,
    etag: v.etag,
    last_modified: v.lastModified,
    headers: JSON.stringify(v.headers),
    metadata: JSON.stringify(v.metadata),
    checksums: JSON.stringify(v.checksums),
    blobs: JSON.stringify(v.blobs),
    acl: JSON.stringify(v.acl),
    tagging: v.tagging ? JSON.stringify(v.tagging) : null,
  };
}

/** Runs async functions one at a time per key. */
class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await next;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

export function newVersionId(): string {
  return randomBytes(24).toString('base64url');
}

export function noSuchBucket(name: string): AwsError {
  return new AwsError('NoSuchBucket', 'The specified bucket does not exist', { status: 404, fields: { BucketName: name } });
}

export function noSuchKey(key: string, headers?: Record<string, string>): AwsError {
  return new AwsError('NoSuchKey', 'The specified key does not exist.', { status: 404, fields: { Key: key }, ...(headers ? { headers } : {}) });
}

export function noSuchUpload(uploadId: string): AwsError {
  return new AwsError('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', {
    status: 404, fields: { UploadId: uploadId },
  });
}

export class Walrus {
  readonly db: Kysely<WalrusTables>;
  readonly blobs: BlobStore;
  readonly minPartSize: number;
  readonly maxParts: number;
  readonly packUpTo: number;
  readonly inlineUpTo: number;
  private readonly now: () => number;
  private readonly locks = new KeyedMutex();
  private readonly bucketCache = new Map<string, Bucket>();
  /**
   * Latest version per key, cached: this process is the only writer, and every change goes through a method that
   * calls `invalidate` before and after it commits. Returned versions are shared: callers never mutate them.
   */
  private readonly latest = new Map<string, ObjectVersion>();
  private writeGen = 0;
  /** Recently read inline blobs by id, oldest first (see `WalrusOptions.inlineCacheBytes`). */
  private readonly inlineCache = new Map<string, Buffer>();
  private inlineCached = 0;
  private readonly inlineCacheBytes: number;
  private lastSeq = 0;
  private readonly commitQueue: CommitJob[] = [];
  private committing = false;

  constructor(db: Kysely<WalrusTables>, blobs: BlobStore, opts: WalrusOptions = {}) {
    this.db = db;
    this.blobs = blobs;
    this.minPartSize = opts.minPartSize ?? 5 * 1024 * 1024;
    this.maxParts = opts.maxParts ?? 10000;
    this.packUpTo = blobs.writeSmall ? (opts.packUpTo ?? 0) : 0;
    this.inlineUpTo = opts.inlineUpTo ?? 0;
    this.inlineCacheBytes = opts.inlineCacheBytes ?? 8 * 1024 * 1024;
    this.now = opts.now ?? Date.now;
  }

  private nextSeq(): number {
    const t = this.now() * 1000;
    this.lastSeq = Math.max(t, this.lastSeq + 1);
    return this.lastSeq;
  }

  /** Startup recovery: removes temporary files and blobs no row references. Run before serving. */
  async recover(): Promise<{ tempFiles: number; orphanBlobs: number }> {
    const tempFiles = await this.blobs.sweepTemp();
    const orphanBlobs = await this.collectGarbage(0);
    return { tempFiles, orphanBlobs };
  }

  /**
   * Removes blob files (and pack files) no row references, older than `minAgeMs` (younger ones may be about to
   * be committed). Run at startup with 0, and periodically to give back the space of deleted packed small objects.
   */
  async collectGarbage(minAgeMs = 10 * 60_000): Promise<number> {
    const refs = new Set<string>();
    for (const r of await this.db.selectFrom('walrus_objects').select('blobs').execute()) {
      for (const b of JSON.parse(r.blobs) as BlobRef[]) refs.add(blobFileId(b.id));
    }
    for (const r of await this.db.selectFrom('walrus_parts').select('blob_id').execute()) refs.add(blobFileId(r.blob_id));
    return this.blobs.collectGarbage((id) => refs.has(id), minAgeMs);
  }

  private async deleteBlobs(ids: Iterable<string>): Promise<void> {
    for (const id of ids) await this.blobs.delete(id);
  }

  /** Opens a version's blob for reading: an inline one from the database, others from the blob store. */
  async openBlob(b: BlobRef): Promise<BlobHandle> {
    if (!isInlineBlob(b.id)) return this.blobs.open(b.id, b.size);
    const hit = this.inlineCache.get(b.id);
    if (hit) {
      // most recently used last
      this.inlineCache.delete(b.id);
      this.inlineCache.set(b.id, hit);
      return memoryBlobHandle(hit);
    }
    const r = await Q.inlineData.executeTakeFirst(this.db, { id: b.id });
    if (!r) throw new Error(`inline blob ${b.id} is gone`);
    const data = Buffer.isBuffer(r.data) ? r.data : Buffer.from(r.data);
    this.cacheInline(b.id, data);
    return memoryBlobHandle(data);
  }

  private cacheInline(id: string, data: Buffer): void {
    if (data.length > this.inlineCacheBytes / 16 || this.inlineCache.has(id)) return;
    this.inlineCache.set(id, data);
    this.inlineCached += data.length;
    for (const [old, d] of this.inlineCache) {
      if (this.inlineCached <= this.inlineCacheBytes) break;
      this.inlineCache.delete(old);
      this.inlineCached -= d.length;
    }
  }

  private uncacheInline(ids: string[]): void {
    for (const id of ids) {
      const d = this.inlineCache.get(id);
      if (!d) continue;
      this.inlineCache.delete(id);
      this.inlineCached -= d.length;
    }
  }

  /** Deletes the inline blobs among `ids` in the transaction that unreferenced them; returns the others. */
  private async dropInline(trx: Transaction<WalrusTables>, ids: string[]): Promise<string[]> {
    const inline = ids.filter(isInlineBlob);
    if (inline.length === 0) return ids;
    for (const id of inline) await Q.deleteInline.execute(trx, { id });
    // the bytes of a version no longer reachable are not kept (a reader that looked the version up before holds them)
    this.uncacheInline(inline);
    return ids.filter((id) => !isInlineBlob(id));
  }

  /** Waits until every commit made so far is durable (before answering a write or freeing what it replaced). */
  private durable(): Promise<void> {
    return syncCommitted(this.db);
  }

  /**
   * Group commit: runs `fn` in a transaction shared with the other commits queued meanwhile, and resolves (with what
   * `fn` returns: blob ids it made unreachable) once that transaction is durable. One batch is in flight at a time:
   * its transaction, then its sync; everything queued meanwhile becomes the next batch. (Committing each arrival at
   * once while the previous sync ran made nearly every PUT a transaction of its own — the measured mean batch was
   * 1.0 at 2,000 PUT/s — and a commit writes every page it changed, so the pages PUTs share were written per PUT;
   * those commits waited for the next sync all the same.) If the shared transaction fails, each of its commits is
   * retried alone, so one failing commit fails only its own caller.
   */
  private commitGrouped(fn: CommitJob['fn']): Promise<string[]> {
    return new Promise((resolve, reject) => {
      this.commitQueue.push({ fn, resolve, reject });
      if (!this.committing) void this.runCommits();
    });
  }

  private async runCommits(): Promise<void> {
    this.committing = true;
    try {
      while (this.commitQueue.length) {
        // a long WAL: let the checkpointer finish it first, so that this transaction starts it over
        const restart = walRestartPoint(this.db);
        if (restart) await restart;
        const batch = this.commitQueue.splice(0, COMMIT_BATCH);
        // the jobs whose transaction committed, with what each returned
        const done: [CommitJob, string[]][] = [];
        try {
          const results = await this.db.transaction().execute(async (trx) => {
            const out: string[][] = [];
            for (const job of batch) out.push(await job.fn(trx));
            return out;
          });
          batch.forEach((job, i) => done.push([job, results[i]!]));
        } catch (e) {
          if (batch.length === 1) {
            batch[0]!.reject(e);
          } else {
            for (const job of batch) {
              try {
                done.push([job, await this.db.transaction().execute(job.fn)]);
              } catch (e1) {
                job.reject(e1);
              }
            }
          }
        }
        if (done.length === 0) continue;
        try {
          await this.durable();
          for (const [job, freed] of done) job.resolve(freed);
        } catch (e) {
          for (const [job] of done) job.reject(e);
        }
      }
    } finally {
      this.committing = false;
    }
  }

  // ---------------------------------------------------------------- buckets

  async createBucket(owner: Owner, name: string, region: string, acl: Grant[]): Promise<Bucket> {
    validateBucketName(name);
    const existing = await this.db.selectFrom('walrus_buckets').selectAll().where('name', '=', name).executeTakeFirst();
    if (existing) {
      if (existing.account_id === owner.accountId) {
        throw new AwsError('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', {
          status: 409, fields: { BucketName: name },
        });
      }
      throw new AwsError('BucketAlreadyExists', 'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.', {
        status: 409, fields: { BucketName: name },
      });
    }
    const row: BucketTable = {
      name, account_id: owner.accountId, owner_name: owner.displayName, region, created_at: this.now(), versioning: '',
      acl: JSON.stringify(acl), policy: null, cors: null, lifecycle: null, tagging: null,
    };
    try {
      await this.db.insertInto('walrus_buckets').values(row).execute();
      await this.durable();
    } catch (e) {
      const again = await this.db.selectFrom('walrus_buckets').select('account_id').where('name', '=', name).executeTakeFirst();
      if (again) {
        throw new AwsError(again.account_id === owner.accountId ? 'BucketAlreadyOwnedByYou' : 'BucketAlreadyExists', 'The requested bucket name is not available.', { status: 409, fields: { BucketName: name } });
      }
      throw e;
    }
    return toBucket(row);
  }

  /**
   * Bucket metadata, cached in memory: this process is the only writer of Walrus's tables, and every change goes
   * through createBucket/updateBucket/deleteBucket, which drop the entry.
   */
  async findBucket(name: string): Promise<Bucket | undefined> {
    const hit = this.bucketCache.get(name);
    if (hit) return hit;
    const r = await this.db.selectFrom('walrus_buckets').selectAll().where('name', '=', name).executeTakeFirst();
    if (!r) return undefined;
    const b = toBucket(r);
    if (this.bucketCache.size > 10_000) this.bucketCache.clear();
    this.bucketCache.set(name, b);
    return b;
  }

  async getBucket(name: string): Promise<Bucket> {
    const b = await this.findBucket(name);
    if (!b) throw noSuchBucket(name);
    return b;
  }

  async listBuckets(accountId: string): Promise<Bucket[]> {
    const rows = await this.db.selectFrom('walrus_buckets').selectAll().where('account_id', '=', accountId).orderBy('name').execute();
    return rows.map(toBucket);
  }

  async listAllBuckets(): Promise<Bucket[]> {
    return (await this.db.selectFrom('walrus_buckets').selectAll().orderBy('name').execute()).map(toBucket);
  }

  async deleteBucket(name: string): Promise<void> {
    await this.getBucket(name);
    const obj = await this.db.selectFrom('walrus_objects').select('key').where('bucket', '=', name).limit(1).executeTakeFirst();
    const up = await this.db.selectFrom('walrus_uploads').select('upload_id').where('bucket', '=', name).limit(1).executeTakeFirst();
    if (obj || up) {
      throw new AwsError('BucketNotEmpty', 'The bucket you tried to delete is not empty', { status: 409, fields: { BucketName: name } });
    }
    this.bucketCache.delete(name);
    await this.db.deleteFrom('walrus_buckets').where('name', '=', name).execute();
    this.bucketCache.delete(name);
    await this.durable();
  }

  async updateBucket(name: string, patch: Partial<Pick<Bucket, 'versioning' | 'acl' | 'policy' | 'cors' | 'lifecycle' | 'tagging'>>): Promise<void> {
    const set: Partial<BucketTable> = {};
    if (patch.versioning !== undefined) set.versioning = patch.versioning;
    if (patch.acl !== undefined) set.acl = JSON.stringify(patch.acl);
    if (patch.policy !== undefined) set.policy = patch.policy;
    if (patch.cors !== undefined) set.cors = patch.cors === null ? null : JSON.stringify(patch.cors);
    if (patch.lifecycle !== undefined) set.lifecycle = patch.lifecycle === null ? null : JSON.stringify(patch.lifecycle);
    if (patch.tagging !== undefined) set.tagging = patch.tagging === null ? null : JSON.stringify(patch.tagging);
    this.bucketCache.delete(name);
    const r = await this.db.updateTable('walrus_buckets').set(set).where('name', '=', name).executeTakeFirst();
    this.bucketCache.delete(name);
    if (Number(r.numUpdatedRows) === 0) throw noSuchBucket(name);
    await this.durable();
  }

  // ---------------------------------------------------------------- objects

  /** The version asked for, or the latest; throws NoSuchKey/NoSuchVersion. Delete markers are returned as such. */
  async findVersion(bucket: string, key: string, versionId?: string): Promise<ObjectVersion | undefined> {
    const ck = `${bucket}\n${key}`;
    if (versionId === undefined) {
      const hit = this.latest.get(ck);
      if (hit) return hit;
    }
    const gen = this.writeGen;
    const r = versionId === undefined
      ? await Q.latestVersion.executeTakeFirst(this.db, { bucket, key })
      : await Q.version.executeTakeFirst(this.db, { bucket, key, versionId });
    const v = r ? toVersion(r) : undefined;
    // cache the latest version only when no write happened meanwhile (a write could have made `v` stale)
    if (versionId === undefined && v && gen === this.writeGen) {
      if (this.latest.size >= 20_000) this.latest.clear();
      this.latest.set(ck, v);
    }
    return v;
  }

  /** Forgets the cached latest version of a key; call before and after every change to the key's rows. */
  private invalidate(bucket: string, key: string): void {
    this.writeGen++;
    this.latest.delete(`${bucket}\n${key}`);
  }

  /**
   * The object to read: the latest version (NoSuchKey when absent or a delete marker), or the given version
   * (NoSuchVersion; MethodNotAllowed for a delete marker).
   */
  async getObject(bucket: string, key: string, versionId?: string): Promise<ObjectVersion> {
    return this.readable(await this.findVersion(bucket, key, versionId), key, versionId);
  }

  /** getObject's verdict on an already looked-up version (NoSuchKey, NoSuchVersion, MethodNotAllowed). */
  readable(v: ObjectVersion | undefined, key: string, versionId?: string): ObjectVersion {
    if (!v) {
      if (versionId !== undefined) {
        throw new AwsError('NoSuchVersion', 'The specified version does not exist.', { status: 404, fields: { Key: key, VersionId: versionId } });
      }
      throw noSuchKey(key);
    }
    if (v.deleteMarker) {
      const headers: Record<string, string> = { 'x-amz-delete-marker': 'true', 'x-amz-version-id': v.versionId };
      if (versionId !== undefined) {
        throw new AwsError('MethodNotAllowed', 'The specified method is not allowed against this resource.', {
          status: 405, headers: { ...headers, 'last-modified': new Date(v.lastModified).toUTCString() }, fields: { Method: 'GET', ResourceType: 'DeleteMarker' },
        });
      }
      throw noSuchKey(key, headers);
    }
    return v;
  }

  private async insertVersion(trx: Transaction<WalrusTables>, bucket: Bucket, v: ObjectVersion): Promise<string[]> {
    // Returns blob ids made unreachable (the replaced 'null' version's bytes).
    const freed: string[] = [];
    this.invalidate(v.bucket, v.key);
    // a bucket never versioned holds only 'null' versions: deleting it below leaves no other latest to demote
    if (bucket.versioning !== '' || v.versionId !== 'null') {
      await Q.demoteLatest.execute(trx, { bucket: v.bucket, key: v.key });
    }
    if (v.versionId === 'null') {
      const old = await Q.deleteNullVersion.execute(trx, { bucket: v.bucket, key: v.key });
      for (const o of old) for (const b of JSON.parse(o.blobs) as BlobRef[]) freed.push(b.id);
    }
    await Q.insertObject.execute(trx, fromVersion(v));
    return this.dropInline(trx, freed);
  }

  private checkConditions(current: ObjectVersion | undefined, key: string, cond: WriteConditions | undefined): void {
    if (!cond) return;
    const live = current && !current.deleteMarker ? current : undefined;
    if (cond.ifNoneMatch !== undefined) {
      if (live && (cond.ifNoneMatch.trim() === '*' || etagMatches(cond.ifNoneMatch, live.etag))) {
        throw new AwsError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { status: 412, fields: { Condition: 'If-None-Match' } });
      }
    }
    if (cond.ifMatch !== undefined) {
      if (!live) throw noSuchKey(key);
      if (!etagMatches(cond.ifMatch, live.etag)) {
        throw new AwsError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { status: 412, fields: { Condition: 'If-Match' } });
      }
    }
  }

  /**
   * Commits a new version whose blobs are already durable. On failure the caller still owns the blobs (and deletes
   * them); on success blobs of a replaced version are deleted here, after the commit.
   */
  async commitObject(bucketName: string, key: string, obj: NewObject, cond?: WriteConditions): Promise<ObjectVersion> {
    return this.locks.run(`${bucketName}\n${key}`, async () => {
      const bucket = await this.getBucket(bucketName);
      if (cond && (cond.ifMatch !== undefined || cond.ifNoneMatch !== undefined)) this.checkConditions(await this.findVersion(bucketName, key), key, cond);
      const data = obj.data;
      const seq = this.nextSeq();
      const blobs = data ? [{ id: inlineBlobId(seq), size: data.length }] : obj.blobs;
      const v: ObjectVersion = {
        bucket: bucketName, key, versionId: bucket.versioning === 'Enabled' ? newVersionId() : 'null', seq,
        owner: obj.owner, isLatest: true, deleteMarker: false, size: obj.size, etag: obj.etag, lastModified: this.now(),
        headers: obj.headers, metadata: obj.metadata, checksums: obj.checksums, blobs, acl: obj.acl, tagging: obj.tagging,
      };
      let freed: string[];
      try {
        freed = await this.commitGrouped(async (trx) => {
          if (data) await Q.insertInline.execute(trx, { id: blobs[0]!.id, data });
          return this.insertVersion(trx, bucket, v);
        });
      } finally {
        this.invalidate(bucketName, key);
      }
      await this.deleteBlobs(freed);
      return v;
    });
  }

  /** Updates the ACL or tags of one version in place. */
  async updateObject(bucket: string, key: string, versionId: string, patch: { acl?: Grant[]; tagging?: Record<string, string> | null }): Promise<void> {
    const set: Partial<ObjectTable> = {};
    if (patch.acl) set.acl = JSON.stringify(patch.acl);
    if (patch.tagging !== undefined) set.tagging = patch.tagging === null ? null : JSON.stringify(patch.tagging);
    this.invalidate(bucket, key);
    try {
      await this.db.updateTable('walrus_objects').set(set).where('bucket', '=', bucket).where('key', '=', key)
        .where('version_id', '=', versionId).execute();
    } finally {
      this.invalidate(bucket, key);
    }
    await this.durable();
  }

  /**
   * S3 DeleteObject. Without a version: removes the object (versioning off), or adds a delete marker (Enabled:
   * new id; Suspended: the 'null' version becomes the marker). With a version: removes that version for good.
   */
  async deleteObject(bucketName: string, key: string, owner: Owner, versionId?: string): Promise<{ versionId?: string; deleteMarker: boolean }> {
    return this.locks.run(`${bucketName}\n${key}`, async () => {
      this.invalidate(bucketName, key);
      try {
        return await this.deleteObjectLocked(bucketName, key, owner, versionId);
      } finally {
        this.invalidate(bucketName, key);
      }
    });
  }

  private async deleteObjectLocked(bucketName: string, key: string, owner: Owner, versionId?: string): Promise<{ versionId?: string; deleteMarker: boolean }> {
    {
      const bucket = await this.getBucket(bucketName);
      if (versionId !== undefined) {
        const freed = await this.db.transaction().execute(async (trx) => {
          const gone = await trx.deleteFrom('walrus_objects').where('bucket', '=', bucketName).where('key', '=', key)
            .where('version_id', '=', versionId).returning(['blobs', 'is_latest', 'delete_marker']).execute();
          const row = gone[0];
          if (!row) return { ids: [] as string[], marker: false };
          if (Number(row.is_latest) === 1) {
            const next = await trx.selectFrom('walrus_objects').select('version_id').where('bucket', '=', bucketName)
              .where('key', '=', key).orderBy('seq', 'desc').limit(1).executeTakeFirst();
            if (next) {
              await trx.updateTable('walrus_objects').set({ is_latest: 1 }).where('bucket', '=', bucketName)
                .where('key', '=', key).where('version_id', '=', next.version_id).execute();
            }
          }
          return { ids: await this.dropInline(trx, (JSON.parse(row.blobs) as BlobRef[]).map((b) => b.id)), marker: Number(row.delete_marker) === 1 };
        });
        await this.durable();
        await this.deleteBlobs(freed.ids);
        return { versionId, deleteMarker: freed.marker };
      }
      if (bucket.versioning === '') {
        const ids = await this.db.transaction().execute(async (trx) => {
          const gone = await trx.deleteFrom('walrus_objects').where('bucket', '=', bucketName).where('key', '=', key)
            .returning('blobs').execute();
          return this.dropInline(trx, gone.flatMap((g) => (JSON.parse(g.blobs) as BlobRef[]).map((b) => b.id)));
        });
        await this.durable();
        await this.deleteBlobs(ids);
        return { deleteMarker: false };
      }
      const marker: ObjectVersion = {
        bucket: bucketName, key, versionId: bucket.versioning === 'Enabled' ? newVersionId() : 'null', seq: this.nextSeq(), owner,
        isLatest: true, deleteMarker: true, size: 0, etag: '', lastModified: this.now(), headers: {}, metadata: {},
        checksums: { values: {} }, blobs: [], acl: [], tagging: null,
      };
      const freed = await this.db.transaction().execute((trx) => this.insertVersion(trx, bucket, marker));
      await this.durable();
      await this.deleteBlobs(freed);
      return { versionId: marker.versionId, deleteMarker: true };
    }
  }

  /** Current objects in key order with prefix/delimiter roll-up; `after` is exclusive (a key or common prefix). */
  async listObjects(bucket: string, o: ListOptions): Promise<ListResult> {
    const prefix = o.prefix ?? '';
    const delimiter = o.delimiter ?? '';
    const maxKeys = o.maxKeys ?? 1000;
    const objects: ObjectVersion[] = [];
    const commonPrefixes: string[] = [];
    let from = { op: '>' as '>' | '>=', value: o.after ?? '' };
    if (from.value < prefix) from = { op: '>=', value: prefix };
    // A marker inside an already-returned common prefix resumes after that prefix.
    if (delimiter && o.after && o.after.startsWith(prefix)) {
      const i = o.after.slice(prefix.length).indexOf(delimiter);
      if (i >= 0) from = { op: '>=', value: successor(prefix + o.after.slice(prefix.length, prefix.length + i + delimiter.length)) };
    }
    const upper = prefix ? successor(prefix) : undefined;
    let last: string | undefined;
    if (maxKeys <= 0) return { objects, commonPrefixes, truncated: false };
    for (;;) {
      let q = this.db.selectFrom('walrus_objects').selectAll().where('bucket', '=', bucket).where('is_latest', '=', 1)
        .where('delete_marker', '=', 0).where('key', from.op, from.value);
      if (upper !== undefined) q = q.where('key', '<', upper);
      const rows = await q.orderBy('key').limit(BATCH).execute();
      if (rows.length === 0) return { objects, commonPrefixes, truncated: false, ...(last !== undefined ? { last } : {}) };
      let skipPrefix: string | undefined;
      for (const r of rows) {
        if (skipPrefix !== undefined && r.key.startsWith(skipPrefix)) continue;
        skipPrefix = undefined;
        if (objects.length + commonPrefixes.length >= maxKeys) return { objects, commonPrefixes, truncated: true, ...(last !== undefined ? { last } : {}) };
        const rest = r.key.slice(prefix.length);
        const i = delimiter ? rest.indexOf(delimiter) : -1;
        if (i >= 0) {
          const cp = prefix + rest.slice(0, i + delimiter.length);
          commonPrefixes.push(cp);
          last = cp;
          skipPrefix = cp;
        } else {
          objects.push(toVersion(r));
          last = r.key;
        }
      }
      if (skipPrefix !== undefined) from = { op: '>=', value: successor(skipPrefix) };
      else from = { op: '>', value: rows[rows.length - 1]!.key };
      if (rows.length < BATCH && skipPrefix === undefined) {
        return { objects, commonPrefixes, truncated: false, ...(last !== undefined ? { last } : {}) };
      }
    }
  }

  /** Every version and delete marker, keys ascending and newest first within a key. */
  async listVersions(bucket: string, o: ListOptions & { versionIdMarker?: string }): Promise<VersionListResult> {
    const prefix = o.prefix ?? '';
    const delimiter = o.delimiter ?? '';
    const maxKeys = o.maxKeys ?? 1000;
    const versions: ObjectVersion[] = [];
    const commonPrefixes: string[] = [];
    const upper = prefix ? successor(prefix) : undefined;
    // cursor: (key, seq) exclusive; seq undefined = after every version of key
    let cursorKey = o.after ?? '';
    let cursorSeq: number | undefined;
    let inclusiveKey = false;
    if (o.after && o.versionIdMarker) {
      const m = await this.db.selectFrom('walrus_objects').select('seq').where('bucket', '=', bucket).where('key', '=', o.after)
        .where('version_id', '=', o.versionIdMarker).executeTakeFirst();
      if (m) cursorSeq = Number(m.seq);
    }
    if (cursorKey < prefix) {
      cursorKey = prefix;
      cursorSeq = undefined;
      inclusiveKey = true;
    }
    if (delimiter && o.after && o.after.startsWith(prefix)) {
      const i = o.after.slice(prefix.length).indexOf(delimiter);
      if (i >= 0) {
        cursorKey = successor(prefix + o.after.slice(prefix.length, prefix.length + i + delimiter.length));
        cursorSeq = undefined;
        inclusiveKey = true;
      }
    }
    let lastKey: string | undefined;
    let lastVersion: string | undefined;
    const done = (truncated: boolean): VersionListResult => ({
      versions, commonPrefixes, truncated,
      ...(truncated && lastKey !== undefined ? { nextKeyMarker: lastKey } : {}),
      ...(truncated && lastVersion !== undefined ? { nextVersionIdMarker: lastVersion } : {}),
    });
    if (maxKeys <= 0) return done(false);
    for (;;) {
      let q = this.db.selectFrom('walrus_objects').selectAll().where('bucket', '=', bucket);
      const ck = cursorKey;
      const cs = cursorSeq;
      if (cs !== undefined) {
        q = q.where((eb) => eb.or([eb('key', '>', ck), eb.and([eb('key', '=', ck), eb('seq', '<', cs)])]));
      } else {
        q = q.where('key', inclusiveKey ? '>=' : '>', ck);
      }
      if (upper !== undefined) q = q.where('key', '<', upper);
      const rows = await q.orderBy('key').orderBy('seq', 'desc').limit(BATCH).execute();
      if (rows.length === 0) return done(false);
      let skipPrefix: string | undefined;
      for (const r of rows) {
        if (skipPrefix !== undefined && r.key.startsWith(skipPrefix)) continue;
        skipPrefix = undefined;
        if (versions.length + commonPrefixes.length >= maxKeys) return done(true);
        const rest = r.key.slice(prefix.length);
        const i = delimiter ? rest.indexOf(delimiter) : -1;
        if (i >= 0) {
          const cp = prefix + rest.slice(0, i + delimiter.length);
          commonPrefixes.push(cp);
          lastKey = cp;
          lastVersion = undefined;
          skipPrefix = cp;
        } else {
          versions.push(toVersion(r));
          lastKey = r.key;
          lastVersion = r.version_id;
        }
      }
      const lastRow = rows[rows.length - 1]!;
      if (skipPrefix !== undefined) {
        cursorKey = successor(skipPrefix);
        cursorSeq = undefined;
        inclusiveKey = true;
      } else {
        cursorKey = lastRow.key;
        cursorSeq = Number(lastRow.seq);
        inclusiveKey = false;
      }
      if (rows.length < BATCH && skipPrefix === undefined) return done(false);
    }
  }

  // ---------------------------------------------------------------- multipart

  async createUpload(u: Omit<Upload, 'uploadId' | 'createdAt'>): Promise<Upload> {
    await this.getBucket(u.bucket);
    const upload: Upload = { ...u, uploadId: randomBytes(24).toString('base64url'), createdAt: this.now() };
    await this.db.insertInto('walrus_uploads').values({
      upload_id: upload.uploadId, bucket: u.bucket, key: u.key, account_id: u.owner.accountId, owner_name: u.owner.displayName,
      initiator_arn: u.initiatorArn, initiator_id: u.initiatorId, created_at: upload.createdAt, headers: JSON.stringify(u.headers),
      metadata: JSON.stringify(u.metadata), acl: JSON.stringify(u.acl), tagging: u.tagging ? JSON.stringify(u.tagging) : null,
      checksum_algorithm: u.checksumAlgorithm,
    }).execute();
    await this.durable();
    return upload;
  }

  async getUpload(bucket: string, key: string, uploadId: string): Promise<Upload> {
    const r = await this.db.selectFrom('walrus_uploads').selectAll().where('upload_id', '=', uploadId).executeTakeFirst();
    if (!r || r.bucket !== bucket || r.key !== key) throw noSuchUpload(uploadId);
    return toUpload(r);
  }

  /** Records a durable part blob, replacing (and freeing) an earlier upload of the same part number. */
  async commitPart(bucket: string, key: string, uploadId: string, part: Part): Promise<void> {
    await this.locks.run(`upload\n${uploadId}`, async () => {
      await this.getUpload(bucket, key, uploadId);
      const freed = await this.db.transaction().execute(async (trx) => {
        const old = await trx.deleteFrom('walrus_parts').where('upload_id', '=', uploadId).where('part_number', '=', part.partNumber)
          .returning('blob_id').execute();
        await trx.insertInto('walrus_parts').values({
          upload_id: uploadId, part_number: part.partNumber, size: part.size, etag: part.etag, blob_id: part.blobId,
          checksums: JSON.stringify(part.checksums), last_modified: part.lastModified,
        }).execute();
        return old.map((o) => o.blob_id);
      });
      await this.durable();
      await this.deleteBlobs(freed);
    });
  }

  async listParts(uploadId: string, after = 0, max = 1000): Promise<{ parts: Part[]; truncated: boolean }> {
    const rows = await this.db.selectFrom('walrus_parts').selectAll().where('upload_id', '=', uploadId)
      .where('part_number', '>', after).orderBy('part_number').limit(max + 1).execute();
    const parts = rows.slice(0, max).map((r) => ({
      partNumber: Number(r.part_number), size: Number(r.size), etag: r.etag, blobId: r.blob_id,
      checksums: JSON.parse(r.checksums) as Record<string, string>, lastModified: Number(r.last_modified),
    }));
    return { parts, truncated: rows.length > max };
  }

  async listUploads(bucket: string, o: { prefix?: string; delimiter?: string; keyMarker?: string; uploadIdMarker?: string; maxUploads?: number }):
  Promise<{ uploads: Upload[]; commonPrefixes: string[]; truncated: boolean; nextKeyMarker?: string; nextUploadIdMarker?: string }> {
    const prefix = o.prefix ?? '';
    const max = o.maxUploads ?? 1000;
    let q = this.db.selectFrom('walrus_uploads').selectAll().where('bucket', '=', bucket);
    if (prefix) q = q.where('key', '>=', prefix).where('key', '<', successor(prefix));
    const rows = (await q.orderBy('key').orderBy('created_at').orderBy('upload_id').execute()).map(toUpload);
    const uploads: Upload[] = [];
    const commonPrefixes: string[] = [];
    let markerSeen = !o.keyMarker;
    let nextKeyMarker: string | undefined;
    let nextUploadIdMarker: string | undefined;
    for (const u of rows) {
      if (!markerSeen) {
        if (u.key < o.keyMarker!) continue;
        if (u.key === o.keyMarker) {
          if (!o.uploadIdMarker) continue;
          if (u.uploadId === o.uploadIdMarker) {
            markerSeen = true;
            continue;
          }
          continue;
        }
        markerSeen = true;
      }
      const rest = u.key.slice(prefix.length);
      const i = o.delimiter ? rest.indexOf(o.delimiter) : -1;
      if (i >= 0) {
        const cp = prefix + rest.slice(0, i + o.delimiter!.length);
        if (commonPrefixes[commonPrefixes.length - 1] === cp) continue;
        if (uploads.length + commonPrefixes.length >= max) return { uploads, commonPrefixes, truncated: true, nextKeyMarker, nextUploadIdMarker };
        commonPrefixes.push(cp);
        continue;
      }
      if (uploads.length + commonPrefixes.length >= max) return { uploads, commonPrefixes, truncated: true, nextKeyMarker, nextUploadIdMarker };
      uploads.push(u);
      nextKeyMarker = u.key;
      nextUploadIdMarker = u.uploadId;
    }
    return { uploads, commonPrefixes, truncated: false };
  }

  async abortUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    await this.locks.run(`upload\n${uploadId}`, async () => {
      await this.getUpload(bucket, key, uploadId);
      const freed = await this.db.transaction().execute(async (trx) => {
        const parts = await trx.deleteFrom('walrus_parts').where('upload_id', '=', uploadId).returning('blob_id').execute();
        await trx.deleteFrom('walrus_uploads').where('upload_id', '=', uploadId).execute();
        return parts.map((p) => p.blob_id);
      });
      await this.durable();
      await this.deleteBlobs(freed);
    });
  }

  /**
   * Completes an upload: validates the list (ascending, existing parts with matching ETags, all but the last at least
   * `minPartSize`), then in one transaction writes the object version (its blobs are the parts' blobs, no bytes are
   * copied) and removes the upload. Unused parts and a replaced version are freed after the commit.
   */
  async completeUpload(bucket: string, key: string, uploadId: string, list: { partNumber: number; etag: string; checksums?: Record<string, string> }[],
    cond?: WriteConditions, checksum?: (parts: Part[]) => ObjectVersion['checksums']): Promise<ObjectVersion> {
    return this.locks.run(`upload\n${uploadId}`, () => this.locks.run(`${bucket}\n${key}`, async () => {
      const upload = await this.getUpload(bucket, key, uploadId);
      const b = await this.getBucket(bucket);
      if (list.length === 0) throw new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
      const { parts: all } = await this.listParts(uploadId, 0, this.maxParts + 1);
      const byNumber = new Map(all.map((p) => [p.partNumber, p]));
      const chosen: Part[] = [];
      let prev = 0;
      for (const item of list) {
        if (item.partNumber <= prev) {
          throw new AwsError('InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.', { fields: { UploadId: uploadId } });
        }
        prev = item.partNumber;
        const p = byNumber.get(item.partNumber);
        if (!p || unquote(item.etag) !== p.etag) {
          throw new AwsError('InvalidPart', 'One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not have matched the part\'s entity tag.', {
            fields: { UploadId: uploadId, PartNumber: String(item.partNumber), ETag: item.etag },
          });
        }
        chosen.push(p);
      }
      for (let i = 0; i < chosen.length - 1; i++) {
        const p = chosen[i]!;
        if (p.size < this.minPartSize) {
          throw new AwsError('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', {
            fields: { ProposedSize: String(p.size), MinSizeAllowed: String(this.minPartSize), PartNumber: String(p.partNumber), ETag: p.etag },
          });
        }
      }
      const current = await this.findVersion(bucket, key);
      this.checkConditions(current, key, cond);
      const v: ObjectVersion = {
        bucket, key, versionId: b.versioning === 'Enabled' ? newVersionId() : 'null', seq: this.nextSeq(), owner: upload.owner,
        isLatest: true, deleteMarker: false, size: chosen.reduce((s, p) => s + p.size, 0), etag: multipartEtag(chosen.map((p) => p.etag)),
        lastModified: this.now(), headers: upload.headers, metadata: upload.metadata,
        checksums: checksum ? checksum(chosen) : { values: {} },
        blobs: chosen.map((p) => ({ id: p.blobId, size: p.size, etag: p.etag })), acl: upload.acl, tagging: upload.tagging,
      };
      const used = new Set(chosen.map((p) => p.blobId));
      const freed = await this.db.transaction().execute(async (trx) => {
        const replaced = await this.insertVersion(trx, b, v);
        await trx.deleteFrom('walrus_parts').where('upload_id', '=', uploadId).execute();
        await trx.deleteFrom('walrus_uploads').where('upload_id', '=', uploadId).execute();
        return replaced;
      }).finally(() => this.invalidate(bucket, key));
      await this.durable();
      await this.deleteBlobs([...freed, ...all.filter((p) => !used.has(p.blobId)).map((p) => p.blobId)]);
      return v;
    }));
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Applies every bucket's lifecycle rules once: expires current versions (a delete, or a delete marker when
   * versioned), removes noncurrent versions older than the rule allows, removes expired-object delete markers, and
   * aborts incomplete uploads. Returns how many things it removed.
   */
  async runLifecycle(now = this.now()): Promise<number> {
    const DAY = 86_400_000;
    let n = 0;
    for (const b of await this.listAllBuckets()) {
      for (const rule of b.lifecycle ?? []) {
        if (rule.status !== 'Enabled') continue;
        const matchesTags = (t: Record<string, string> | null) => !rule.tags || Object.entries(rule.tags).every(([k, v]) => t?.[k] === v);
        const upper = rule.prefix ? successor(rule.prefix) : undefined;
        const scan = async (fn: (rows: ObjectTable[]) => Promise<void>, onlyLatest: boolean) => {
          let after = '';
          let first = true;
          for (;;) {
            let q = this.db.selectFrom('walrus_objects').selectAll().where('bucket', '=', b.name).where('key', first ? '>=' : '>', first ? rule.prefix : after);
            if (upper !== undefined) q = q.where('key', '<', upper);
            if (onlyLatest) q = q.where('is_latest', '=', 1);
            const rows = await q.orderBy('key').orderBy('seq', 'desc').limit(BATCH).execute();
            if (rows.length === 0) return;
            // keep whole keys together in one batch
            const lastKey = rows[rows.length - 1]!.key;
            const batch = rows.length === BATCH ? rows.filter((r) => r.key !== lastKey) : rows;
            if (batch.length === 0) {
              const all = await this.db.selectFrom('walrus_objects').selectAll().where('bucket', '=', b.name).where('key', '=', lastKey)
                .orderBy('seq', 'desc').execute();
              await fn(onlyLatest ? all.filter((r) => Number(r.is_latest) === 1) : all);
              after = lastKey;
            } else {
              await fn(batch);
              after = batch[batch.length - 1]!.key;
            }
            first = false;
            if (rows.length < BATCH) return;
          }
        };
        if (rule.expirationDays !== undefined || rule.expirationDate !== undefined) {
          await scan(async (rows) => {
            for (const r of rows) {
              if (Number(r.delete_marker) === 1) continue;
              const due = rule.expirationDate ?? Number(r.last_modified) + rule.expirationDays! * DAY;
              if (due > now || !matchesTags(j(r.tagging))) continue;
              await this.deleteObject(b.name, r.key, { accountId: b.owner.accountId, displayName: b.owner.displayName });
              n++;
            }
          }, true);
        }
        if (rule.noncurrentDays !== undefined || rule.newerNoncurrentVersions !== undefined || rule.expiredObjectDeleteMarker) {
          await scan(async (rows) => {
            const byKey = new Map<string, ObjectTable[]>();
            for (const r of rows) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
            for (const [key, vs] of byKey) {
              // vs newest first; a version becomes noncurrent when its successor was written
              let newer = 0;
              for (let i = 1; i < vs.length; i++) {
                const r = vs[i]!;
                const noncurrentSince = Number(vs[i - 1]!.last_modified);
                newer++;
                const keepByCount = rule.newerNoncurrentVersions !== undefined && newer <= rule.newerNoncurrentVersions;
                const old = rule.noncurrentDays === undefined || noncurrentSince + rule.noncurrentDays * DAY <= now;
                if (!keepByCount && old && (rule.noncurrentDays !== undefined || rule.newerNoncurrentVersions !== undefined)) {
                  await this.deleteObject(b.name, key, b.owner, r.version_id);
                  n++;
                }
              }
              const head = vs[0]!;
              if (rule.expiredObjectDeleteMarker && Number(head.delete_marker) === 1 && Number(head.is_latest) === 1) {
                const left = await this.db.selectFrom('walrus_objects').select('version_id').where('bucket', '=', b.name).where('key', '=', key).execute();
                if (left.length === 1) {
                  await this.deleteObject(b.name, key, b.owner, head.version_id);
                  n++;
                }
              }
            }
          }, false);
        }
        if (rule.abortIncompleteDays !== undefined) {
          let q = this.db.selectFrom('walrus_uploads').selectAll().where('bucket', '=', b.name)
            .where('created_at', '<=', now - rule.abortIncompleteDays * DAY);
          if (rule.prefix) q = q.where('key', '>=', rule.prefix).where('key', '<', successor(rule.prefix));
          for (const u of await q.execute()) {
            await this.abortUpload(b.name, u.key, u.upload_id).catch(() => undefined);
            n++;
          }
        }
      }
    }
    return n;
  }
}
