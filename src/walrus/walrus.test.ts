import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { openTestDatabase } from '../db/index.js';
import { FsBlobStore, Walrus, walrusMigrations, cannedAcl, multipartEtag, type WalrusTables, type NewObject, type Owner } from './index.js';

const alice: Owner = { accountId: '111111111111', displayName: 'alice' };

async function setup(minPartSize = 5) {
  const db = await openTestDatabase<WalrusTables>(walrusMigrations);
  const dir = mkdtempSync(join(tmpdir(), 'walrus-'));
  const blobs = await FsBlobStore.create(dir);
  const w = new Walrus(db.db, blobs, { minPartSize });
  return { w, blobs, dir, close: async () => { await blobs.close(); await db.close(); rmSync(dir, { recursive: true, force: true }); } };
}

async function* chunks(...bufs: Buffer[]) {
  for (const b of bufs) yield b;
}

async function put(w: Walrus, bucket: string, key: string, data: Buffer): Promise<string> {
  const r = await w.blobs.write(chunks(data));
  const obj: NewObject = {
    owner: alice, size: r.size, etag: r.md5, headers: {}, metadata: {}, checksums: { values: {} },
    blobs: [{ id: r.blobId, size: r.size }], acl: cannedAcl('private', alice), tagging: null,
  };
  return (await w.commitObject(bucket, key, obj)).versionId;
}

async function read(w: Walrus, bucket: string, key: string, versionId?: string): Promise<Buffer> {
  const v = await w.getObject(bucket, key, versionId);
  const out: Buffer[] = [];
  for (const b of v.blobs) {
    const h = await w.openBlob(b);
    for await (const c of h.stream()) out.push(c as Buffer);
  }
  return Buffer.concat(out);
}

function blobCount(dir: string): number {
  let n = 0;
  for (const sub of readdirSync(join(dir, 'blobs'))) n += readdirSync(join(dir, 'blobs', sub)).length;
  return n;
}

test('blob store: streams, hashes, leaves no temp files, reads ranges, deletes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'blobs-'));
  try {
    const s = await FsBlobStore.create(dir);
    const a = randomBytes(3 << 20);
    const b = randomBytes(12345);
    const r = await s.write(chunks(a, b), { sha256: true });
    const all = Buffer.concat([a, b]);
    assert.equal(r.size, all.length);
    assert.equal(r.md5, createHash('md5').update(all).digest('hex'));
    assert.equal(r.sha256, createHash('sha256').update(all).digest('hex'));
    assert.deepEqual(readdirSync(join(dir, 'tmp')), []);
    const h = await s.open(r.blobId);
    const part: Buffer[] = [];
    for await (const c of h.stream(10, 19)) part.push(c as Buffer);
    assert.deepEqual(Buffer.concat(part), all.subarray(10, 20));
    // a reader that opened the blob keeps reading after delete
    const h2 = await s.open(r.blobId);
    await s.delete(r.blobId);
    const again: Buffer[] = [];
    for await (const c of h2.stream()) again.push(c as Buffer);
    assert.equal(Buffer.concat(again).length, all.length);
    await assert.rejects(s.open(r.blobId));
    // size limit: nothing left behind
    await assert.rejects(s.write(chunks(a), { maxSize: 100 }), /EntityTooLarge|exceeds/);
    assert.deepEqual(readdirSync(join(dir, 'tmp')), []);
    // ... also when it trips after several MiB went out (writes in flight, ranges handed to the hash workers)
    const pieces = Array.from({ length: 12 }, () => randomBytes(512 * 1024));
    await assert.rejects(s.write(chunks(...pieces), { maxSize: 5 << 20 }), /EntityTooLarge|exceeds/);
    assert.deepEqual(readdirSync(join(dir, 'tmp')), []);
    // concurrent writes hash independently, and the hash workers still serve after the failure
    const [w1, w2] = await Promise.all([s.write(chunks(...pieces.slice(0, 6))), s.write(chunks(...pieces.slice(6)), { sha256: true })]);
    assert.equal(w1.md5, createHash('md5').update(Buffer.concat(pieces.slice(0, 6))).digest('hex'));
    assert.equal(w2.sha256, createHash('sha256').update(Buffer.concat(pieces.slice(6))).digest('hex'));
    // startup sweep
    writeFileSync(join(dir, 'tmp', 'crash.part'), 'x');
    assert.equal(await s.sweepTemp(), 1);
    // empty blob
    const e = await s.write(chunks());
    const he = await s.open(e.blobId);
    const got: Buffer[] = [];
    for await (const c of he.stream()) got.push(c as Buffer);
    assert.equal(Buffer.concat(got).length, 0);
    await s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('buckets: naming rules, ownership conflicts, BucketNotEmpty', async () => {
  const { w, close } = await setup();
  try {
    for (const bad of ['ab', 'UPPER', 'a_b', '192.168.1.1', 'a..b', '-ab', 'x'.repeat(64)]) {
      await assert.rejects(w.createBucket(alice, bad, 'r', []), { code: 'InvalidBucketName' });
    }
    await w.createBucket(alice, 'bk-b1', 'r', cannedAcl('private', alice));
    await assert.rejects(w.createBucket(alice, 'bk-b1', 'r', []), { code: 'BucketAlreadyOwnedByYou' });
    await assert.rejects(w.createBucket({ accountId: '2', displayName: 'bob' }, 'bk-b1', 'r', []), { code: 'BucketAlreadyExists' });
    await put(w, 'bk-b1', 'k', Buffer.from('x'));
    await assert.rejects(w.deleteBucket('bk-b1'), { code: 'BucketNotEmpty' });
    await w.deleteObject('bk-b1', 'k', alice);
    await w.deleteBucket('bk-b1');
    await assert.rejects(w.getBucket('bk-b1'), { code: 'NoSuchBucket' });
    assert.deepEqual(await w.listBuckets(alice.accountId), []);
  } finally {
    await close();
  }
});

test('objects: overwrite frees the old blob, concurrent puts leave one whole object, conditions', async () => {
  const { w, dir, close } = await setup();
  try {
    await w.createBucket(alice, 'bk-b', 'r', []);
    await put(w, 'bk-b', 'k', Buffer.from('one'));
    await put(w, 'bk-b', 'k', Buffer.from('two'));
    assert.equal((await read(w, 'bk-b', 'k')).toString(), 'two');
    assert.equal(blobCount(dir), 1);
    const datas = Array.from({ length: 8 }, (_, i) => Buffer.alloc(200_000 + i, i));
    await Promise.all(datas.map((d) => put(w, 'bk-b', 'c', d)));
    const got = await read(w, 'bk-b', 'c');
    assert.ok(datas.some((d) => d.equals(got)));
    assert.equal(blobCount(dir), 2);
    const r = await w.blobs.write(chunks(Buffer.from('z')));
    const obj: NewObject = { owner: alice, size: 1, etag: r.md5, headers: {}, metadata: {}, checksums: { values: {} }, blobs: [{ id: r.blobId, size: 1 }], acl: [], tagging: null };
    await assert.rejects(w.commitObject('bk-b', 'k', obj, { ifNoneMatch: '*' }), { code: 'PreconditionFailed' });
    await assert.rejects(w.commitObject('bk-b', 'k', obj, { ifMatch: '"nope"' }), { code: 'PreconditionFailed' });
    await assert.rejects(w.commitObject('bk-b', 'none', obj, { ifMatch: '*' }), { code: 'NoSuchKey' });
    await w.commitObject('bk-b', 'fresh', obj, { ifNoneMatch: '*' });
  } finally {
    await close();
  }
});

test('versioning: versions, delete markers, suspended null version, delete by version promotes', async () => {
  const { w, dir, close } = await setup();
  try {
    await w.createBucket(alice, 'bk-v', 'r', []);
    await w.updateBucket('bk-v', { versioning: 'Enabled' });
    const v1 = await put(w, 'bk-v', 'k', Buffer.from('1'));
    const v2 = await put(w, 'bk-v', 'k', Buffer.from('2'));
    assert.notEqual(v1, v2);
    assert.equal((await read(w, 'bk-v', 'k', v1)).toString(), '1');
    const del = await w.deleteObject('bk-v', 'k', alice);
    assert.equal(del.deleteMarker, true);
    await assert.rejects(w.getObject('bk-v', 'k'), { code: 'NoSuchKey' });
    await assert.rejects(w.getObject('bk-v', 'k', del.versionId), { code: 'MethodNotAllowed' });
    const list = await w.listVersions('bk-v', {});
    assert.deepEqual(list.versions.map((x) => [x.versionId, x.isLatest, x.deleteMarker]), [[del.versionId, true, true], [v2, false, false], [v1, false, false]]);
    await w.deleteObject('bk-v', 'k', alice, del.versionId);
    assert.equal((await read(w, 'bk-v', 'k')).toString(), '2');
    await w.updateBucket('bk-v', { versioning: 'Suspended' });
    assert.equal(await put(w, 'bk-v', 'k', Buffer.from('3')), 'null');
    assert.equal(await put(w, 'bk-v', 'k', Buffer.from('4')), 'null');
    assert.equal((await w.listVersions('bk-v', {})).versions.length, 3);
    assert.equal(blobCount(dir), 3);
    await w.deleteObject('bk-v', 'k', alice, v1);
    assert.equal(blobCount(dir), 2);
    assert.equal((await read(w, 'bk-v', 'k')).toString(), '4');
  } finally {
    await close();
  }
});

test('listings: prefix, delimiter, paging over 2,500 keys, byte order, version paging', async () => {
  const { w, close } = await setup();
  try {
    await w.createBucket(alice, 'bk-l', 'r', []);
    const keys: string[] = [];
    for (let d = 0; d < 5; d++) for (let i = 0; i < 520; i++) keys.push(`dir${d}/f${String(i).padStart(4, '0')}`);
    keys.push('top-a', 'top-b', 'é', 'z', 'Z', 'a//b', 'a/');
    await Promise.all(keys.map((k) => put(w, 'bk-l', k, Buffer.from(k))));
    const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    // flat paging
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const r = await w.listObjects('bk-l', { maxKeys: 333, ...(after !== undefined ? { after } : {}) });
      seen.push(...r.objects.map((o) => o.key));
      if (!r.truncated) break;
      after = r.last;
    }
    assert.deepEqual(seen, sorted);
    // delimiter paging: 5 dirs + a/ + top-a, top-b, Z, z, é
    const items: string[] = [];
    after = undefined;
    for (;;) {
      const r = await w.listObjects('bk-l', { delimiter: '/', maxKeys: 2, ...(after !== undefined ? { after } : {}) });
      items.push(...r.commonPrefixes.map((p) => `P:${p}`), ...r.objects.map((o) => o.key));
      if (!r.truncated) break;
      after = r.last;
    }
    assert.deepEqual(items.sort(), ['P:a/', 'P:dir0/', 'P:dir1/', 'P:dir2/', 'P:dir3/', 'P:dir4/', 'Z', 'top-a', 'top-b', 'z', 'é'].sort());
    const sub = await w.listObjects('bk-l', { prefix: 'dir3/', delimiter: '/', maxKeys: 1000 });
    assert.equal(sub.objects.length, 520);
    assert.equal(sub.truncated, false);
    const aa = await w.listObjects('bk-l', { prefix: 'a/', delimiter: '/' });
    assert.deepEqual(aa.commonPrefixes, ['a//']);
    assert.deepEqual(aa.objects.map((o) => o.key), ['a/']);
    // versions paged
    const vs: string[] = [];
    let km: string | undefined;
    let vm: string | undefined;
    for (;;) {
      const r = await w.listVersions('bk-l', { maxKeys: 700, ...(km !== undefined ? { after: km } : {}), ...(vm !== undefined ? { versionIdMarker: vm } : {}) });
      vs.push(...r.versions.map((v) => v.key));
      if (!r.truncated) break;
      km = r.nextKeyMarker;
      vm = r.nextVersionIdMarker;
    }
    assert.deepEqual(vs, sorted);
  } finally {
    await close();
  }
});

test('multipart: validation, -N ETag, parts become the object without copying, abort frees parts', async () => {
  const { w, dir, close } = await setup(10);
  try {
    await w.createBucket(alice, 'bk-m', 'r', []);
    await put(w, 'bk-m', 'k', Buffer.from('old'));
    const up = await w.createUpload({ bucket: 'bk-m', key: 'k', owner: alice, initiatorArn: 'arn', initiatorId: 'id', headers: {}, metadata: { a: 'b' }, acl: [], tagging: null, checksumAlgorithm: null });
    const data = [Buffer.alloc(10, 1), Buffer.alloc(10, 2), Buffer.alloc(3, 3)];
    const etags: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await w.blobs.write(chunks(data[i]!));
      await w.commitPart('bk-m', 'k', up.uploadId, { partNumber: i + 1, size: r.size, etag: r.md5, blobId: r.blobId, checksums: {}, lastModified: Date.now() });
      etags.push(r.md5);
    }
    // re-upload part 2: the first blob is freed
    const r2 = await w.blobs.write(chunks(data[1]!));
    await w.commitPart('bk-m', 'k', up.uploadId, { partNumber: 2, size: r2.size, etag: r2.md5, blobId: r2.blobId, checksums: {}, lastModified: Date.now() });
    assert.equal(blobCount(dir), 4);
    await assert.rejects(w.completeUpload('bk-m', 'k', up.uploadId, [{ partNumber: 2, etag: etags[1]! }, { partNumber: 1, etag: etags[0]! }]), { code: 'InvalidPartOrder' });
    await assert.rejects(w.completeUpload('bk-m', 'k', up.uploadId, [{ partNumber: 1, etag: 'bad' }]), { code: 'InvalidPart' });
    await assert.rejects(w.completeUpload('bk-m', 'k', up.uploadId, [{ partNumber: 3, etag: etags[2]! }, { partNumber: 4, etag: etags[2]! }]), { code: 'InvalidPart' });
    await assert.rejects(w.completeUpload('bk-m', 'k', up.uploadId, [{ partNumber: 3, etag: etags[2]! }, { partNumber: 5, etag: 'x' }]), { code: 'InvalidPart' });
    const v = await w.completeUpload('bk-m', 'k', up.uploadId, [{ partNumber: 1, etag: `"${etags[0]}"` }, { partNumber: 2, etag: etags[1]! }, { partNumber: 3, etag: etags[2]! }]);
    assert.equal(v.etag, multipartEtag(etags));
    assert.match(v.etag, /-3$/);
    assert.deepEqual(await read(w, 'bk-m', 'k'), Buffer.concat(data));
    assert.equal(blobCount(dir), 3); // old object freed
    await assert.rejects(w.getUpload('bk-m', 'k', up.uploadId), { code: 'NoSuchUpload' });
    // too small
    const up2 = await w.createUpload({ bucket: 'bk-m', key: 'k2', owner: alice, initiatorArn: 'arn', initiatorId: 'id', headers: {}, metadata: {}, acl: [], tagging: null, checksumAlgorithm: null });
    for (let i = 1; i <= 2; i++) {
      const r = await w.blobs.write(chunks(Buffer.alloc(3, i)));
      await w.commitPart('bk-m', 'k2', up2.uploadId, { partNumber: i, size: 3, etag: r.md5, blobId: r.blobId, checksums: {}, lastModified: Date.now() });
    }
    const parts = (await w.listParts(up2.uploadId)).parts;
    await assert.rejects(w.completeUpload('bk-m', 'k2', up2.uploadId, parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag }))), { code: 'EntityTooSmall' });
    assert.equal((await w.listUploads('bk-m', {})).uploads.length, 1);
    await w.abortUpload('bk-m', 'k2', up2.uploadId);
    assert.equal(blobCount(dir), 3);
    assert.equal((await w.listUploads('bk-m', {})).uploads.length, 0);
  } finally {
    await close();
  }
});

test('recover: sweeps temp files and orphan blobs, keeps referenced ones', async () => {
  const { w, dir, close } = await setup();
  try {
    await w.createBucket(alice, 'bk-g', 'r', []);
    await put(w, 'bk-g', 'k', Buffer.from('keep'));
    await w.blobs.write(chunks(Buffer.from('orphan')));
    writeFileSync(join(dir, 'tmp', 'x.part'), 'partial');
    assert.deepEqual(await w.recover(), { tempFiles: 1, orphanBlobs: 1 });
    assert.equal((await read(w, 'bk-g', 'k')).toString(), 'keep');
    assert.ok(existsSync(join(dir, 'tmp')));
  } finally {
    await close();
  }
});

test('lifecycle: expires current objects, noncurrent versions, old uploads', async () => {
  const { w, close } = await setup();
  try {
    await w.createBucket(alice, 'bk-lc', 'r', []);
    await put(w, 'bk-lc', 'logs/a', Buffer.from('a'));
    await put(w, 'bk-lc', 'keep/b', Buffer.from('bk-b'));
    await w.createUpload({ bucket: 'bk-lc', key: 'logs/u', owner: alice, initiatorArn: 'a', initiatorId: 'i', headers: {}, metadata: {}, acl: [], tagging: null, checksumAlgorithm: null });
    await w.updateBucket('bk-lc', { lifecycle: [{ id: 'r', status: 'Enabled', prefix: 'logs/', expirationDays: 1, abortIncompleteDays: 1 }] });
    assert.equal(await w.runLifecycle(Date.now()), 0);
    assert.equal(await w.runLifecycle(Date.now() + 2 * 86_400_000), 2);
    await assert.rejects(w.getObject('bk-lc', 'logs/a'), { code: 'NoSuchKey' });
    await w.getObject('bk-lc', 'keep/b');
    await w.updateBucket('bk-lc', { versioning: 'Enabled', lifecycle: [{ status: 'Enabled', prefix: '', noncurrentDays: 1, expiredObjectDeleteMarker: true }] });
    await put(w, 'bk-lc', 'bk-v', Buffer.from('1'));
    await put(w, 'bk-lc', 'bk-v', Buffer.from('2'));
    assert.equal(await w.runLifecycle(Date.now() + 2 * 86_400_000), 1);
    assert.equal((await w.listVersions('bk-lc', { prefix: 'bk-v' })).versions.length, 1);
  } finally {
    await close();
  }
});

test('packed small objects: group commit, reads and ranges, space back when the pack is unreferenced', async () => {
  const { w, dir, close } = await setup();
  try {
    await w.createBucket(alice, 'bk-pack', 'r', []);
    const datas = Array.from({ length: 40 }, (_, i) => Buffer.from(`small object number ${i} `.repeat(i + 1)));
    const ids = await Promise.all(datas.map((d) => w.blobs.writeSmall!(d)));
    const packs = new Set(ids.map((id) => id.split('.')[0]));
    assert.ok(packs.size < ids.length, 'concurrent small writes share pack files');
    // the spare pack is created in the background after the last batch: give it a moment (bounded) to appear
    for (let i = 0; i < 100 && blobCount(dir) < packs.size + 1; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(blobCount(dir), packs.size + 1, 'the packs, and one spare created ahead');
    for (let i = 0; i < ids.length; i++) {
      const obj: NewObject = { owner: alice, size: datas[i]!.length, etag: 'e', headers: {}, metadata: {}, checksums: { values: {} }, blobs: [{ id: ids[i]!, size: datas[i]!.length }], acl: [], tagging: null };
      await w.commitObject('bk-pack', `k${i}`, obj);
    }
    for (let i = 0; i < ids.length; i += 7) assert.deepEqual(await read(w, 'bk-pack', `k${i}`), datas[i]);
    const h = await w.blobs.open(ids[5]!);
    const part: Buffer[] = [];
    for await (const c of h.stream(3, 9)) part.push(c as Buffer);
    assert.deepEqual(Buffer.concat(part), datas[5]!.subarray(3, 10));
    const h2 = await w.blobs.open(ids[6]!);
    assert.deepEqual(await h2.readAll(2, 4), datas[6]!.subarray(2, 5));
    // delete all but one object: only packs with no live object go
    for (let i = 1; i < ids.length; i++) await w.deleteObject('bk-pack', `k${i}`, alice);
    assert.equal(blobCount(dir), packs.size + 1);
    await w.collectGarbage(0);
    assert.equal(blobCount(dir), 2, 'the pack still referenced, and the spare (never collected while reserved)');
    assert.deepEqual(await read(w, 'bk-pack', 'k0'), datas[0]);
    // the spare is used by the next small write, whatever its age
    const later = await w.blobs.writeSmall!(Buffer.from('later'));
    const hl = await w.blobs.open(later);
    assert.equal((await hl.readAll()).toString(), 'later');
    await w.blobs.close?.();
  } finally {
    await close();
  }
});

test('inline small objects: bytes committed with the row, freed with it on overwrite and every kind of delete', async () => {
  const { w, dir, close } = await setup();
  const inlineRows = async () => (await w.db.selectFrom('walrus_inline').select('id').execute()).length;
  const putInline = (bucket: string, key: string, data: Buffer) => w.commitObject(bucket, key, {
    owner: alice, size: data.length, etag: 'e', headers: {}, metadata: {}, checksums: { values: {} }, blobs: [], acl: [], tagging: null, data,
  });
  try {
    await w.createBucket(alice, 'bk-in', 'r', []);
    const files = blobCount(dir);
    const many = Array.from({ length: 30 }, (_, i) => Buffer.from(`inline ${i}`));
    await Promise.all(many.map((d, i) => putInline('bk-in', `k${i}`, d))); // concurrent: grouped commits
    assert.equal(blobCount(dir), files, 'no file written');
    assert.equal(await inlineRows(), 30);
    for (let i = 0; i < 30; i += 7) assert.deepEqual(await read(w, 'bk-in', `k${i}`), many[i]);
    const v = await w.getObject('bk-in', 'k3');
    const h = await w.openBlob(v.blobs[0]!);
    assert.deepEqual(await h.readAll(1, 3), many[3]!.subarray(1, 4));
    await putInline('bk-in', 'k3', Buffer.from('replaced'));
    assert.equal(await inlineRows(), 30, 'the replaced bytes went with their row');
    assert.equal((await read(w, 'bk-in', 'k3')).toString(), 'replaced');
    await w.deleteObject('bk-in', 'k4', alice);
    assert.equal(await inlineRows(), 29);
    // versioned: a delete marker keeps the bytes; deleting the version frees them
    await w.updateBucket('bk-in', { versioning: 'Enabled' });
    const v1 = (await putInline('bk-in', 'kv', Buffer.from('one'))).versionId;
    await putInline('bk-in', 'kv', Buffer.from('two'));
    await w.deleteObject('bk-in', 'kv', alice);
    assert.equal(await inlineRows(), 31);
    assert.equal((await read(w, 'bk-in', 'kv', v1)).toString(), 'one');
    await w.deleteObject('bk-in', 'kv', alice, v1);
    assert.equal(await inlineRows(), 30);
    await w.collectGarbage(0);
    assert.equal((await read(w, 'bk-in', 'k0')).toString(), 'inline 0', 'garbage collection leaves inline bytes alone');
  } finally {
    await close();
  }
});

test('group commit: commits queued together share transactions, and one failing commit fails only its own caller', async () => {
  const { w, close } = await setup();
  let transactions = 0;
  const transaction = w.db.transaction.bind(w.db);
  (w.db as { transaction: typeof transaction }).transaction = () => {
    transactions++;
    return transaction();
  };
  const put = (key: string, data: Buffer, etag: string | null = 'e') => w.commitObject('bk-gc', key, {
    owner: alice, size: data.length, etag: etag as string, headers: {}, metadata: {}, checksums: { values: {} }, blobs: [], acl: [], tagging: null, data,
  });
  try {
    await w.createBucket(alice, 'bk-gc', 'r', []);
    const n = 40;
    transactions = 0;
    await Promise.all(Array.from({ length: n }, (_, i) => put(`first${i}`, Buffer.from(`f${i}`))));
    assert.ok(transactions < n / 4, `${transactions} transactions for ${n} commits queued together`);
    const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => put(`k${i}`, Buffer.from(`v${i}`), i === 17 ? null : 'e')));
    assert.equal(results.filter((r) => r.status === 'rejected').length, 1);
    assert.equal(results[17]!.status, 'rejected', 'the commit with a NOT NULL column left null fails');
    for (let i = 0; i < n; i++) {
      if (i === 17) await assert.rejects(w.getObject('bk-gc', `k${i}`), (e: Error & { code?: string }) => e.code === 'NoSuchKey');
      else assert.equal((await read(w, 'bk-gc', `k${i}`)).toString(), `v${i}`);
    }
    assert.equal((await w.db.selectFrom('walrus_inline').select('id').execute()).length, 2 * n - 1, 'the failed commit left no bytes behind');
  } finally {
    await close();
  }
});
