import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { openTestDatabase } from '../db/index.js';
import { silentLogger } from '../shared/index.js';
import { FsBlobStore, Walrus, walrusMigrations, cannedAcl, type NewObject, type Owner } from '../walrus/index.js';
import { ComputeService, computeMigrations, sniffImage } from '../clc/compute/index.js';
import { walrusObjectAccess } from './compute.js';

const alice: Owner = { accountId: '111111111111', displayName: 'alice' };
const bob = '222222222222';
const settings = { getInt: async () => 60, get: async (n: string) => (n === 'cloud.images.defaultvisibility' ? 'false' : 'x') };

async function* chunks(...bufs: Buffer[]) {
  for (const b of bufs) yield b;
}

function kernelBytes(): Buffer {
  const b = Buffer.alloc(8192, 0x90);
  b.write('HdrS', 0x202, 'latin1');
  return b;
}
function qcow2Bytes(): Buffer {
  const b = Buffer.alloc(4096);
  b.writeUInt32BE(0x514649fb, 0);
  return b;
}

test('sniffImage recognises kernels, initramfs, qcow2 and raw disks', () => {
  assert.deepEqual(sniffImage(kernelBytes()), { kind: 'kernel' });
  assert.deepEqual(sniffImage(gzipSync(Buffer.from('x'))), { kind: 'ramdisk' });
  assert.deepEqual(sniffImage(Buffer.from('070701000000', 'latin1')), { kind: 'ramdisk' });
  assert.deepEqual(sniffImage(qcow2Bytes()), { kind: 'machine', format: 'qcow2' });
  assert.deepEqual(sniffImage(Buffer.alloc(1024)), { kind: 'machine', format: 'raw' });
});

test('RegisterImage from Walrus objects: kernel/ramdisk/root triple and a disk; visibility and launch permissions', async () => {
  const db = await openTestDatabase([...walrusMigrations, ...computeMigrations]);
  const dir = mkdtempSync(join(tmpdir(), 'euca-img-'));
  try {
    const walrus = new Walrus(db.db, await FsBlobStore.create(join(dir, 'blobs')), { minPartSize: 5 });
    await walrus.createBucket(alice, 'images', 'r', cannedAcl('private', alice));
    const put = async (key: string, ...parts: Buffer[]) => {
      const blobs = [];
      let size = 0;
      for (const p of parts) {
        const r = await walrus.blobs.write(chunks(p));
        blobs.push({ id: r.blobId, size: r.size });
        size += r.size;
      }
      const obj: NewObject = { owner: alice, size, etag: 'x', headers: {}, metadata: {}, checksums: { values: {} }, blobs, acl: cannedAcl('private', alice), tagging: null };
      await walrus.commitObject('images', key, obj);
    };
    const disk = Buffer.alloc(3 * 1024 * 1024, 7);
    await put('vmlinuz', kernelBytes());
    await put('initrd', gzipSync(Buffer.from('initramfs')));
    await put('root.img', disk.subarray(0, 1024 * 1024), disk.subarray(1024 * 1024)); // two blobs (multipart)
    await put('disk.qcow2', qcow2Bytes());
    const svc = new ComputeService({ db: db.db, settings, zones: new Map(), region: 'r', log: silentLogger(), objects: walrusObjectAccess(walrus, join(dir, 'cache')) });
    const a = alice.accountId;
    const eki = await svc.images.register(a, { name: 'kernel', imageLocation: 'images/vmlinuz' });
    const eri = await svc.images.register(a, { name: 'ramdisk', imageLocation: 'images/initrd' });
    assert.match(eki.imageId, /^eki-[0-9a-f]{8}$/);
    assert.match(eri.imageId, /^eri-[0-9a-f]{8}$/);
    const emi = await svc.images.register(a, { name: 'root fs', imageLocation: 'images/root.img', kernelId: eki.imageId, ramdiskId: eri.imageId });
    assert.equal(emi.imageType, 'machine');
    assert.equal(emi.virtualizationType, 'paravirtual');
    assert.equal(emi.sizeBytes, disk.length);
    const q = await svc.images.register(a, { name: 'qcow', imageLocation: 'images/disk.qcow2' });
    assert.equal(q.source.format, 'qcow2');
    await assert.rejects(svc.images.register(a, { name: 'missing', imageLocation: 'images/nope' }), { code: 'InvalidManifest' });
    await assert.rejects(svc.images.register(bob, { name: 'theirs', imageLocation: 'images/vmlinuz' }), { code: 'InvalidManifest' });
    await assert.rejects(svc.images.register(a, { name: 'bad kernel', imageLocation: 'images/disk.qcow2', kernelId: eri.imageId }), { code: 'InvalidParameterValue' });

    // the multipart root was joined into one file the nodes can read
    const art = await svc.images.artifact(emi);
    assert.ok(art.path);
    assert.deepEqual(readFileSync(art.path!), disk);

    // visibility: private to alice until shared
    assert.equal((await svc.images.describe(bob, {})).length, 0);
    await assert.rejects(svc.images.describe(bob, { imageIds: [emi.imageId] }), { code: 'InvalidAMIID.NotFound' });
    await svc.images.modifyAttribute(a, emi.imageId, { add: [{ userId: bob }] });
    assert.deepEqual((await svc.images.describe(bob, {})).map((i) => i.imageId), [emi.imageId]);
    assert.deepEqual((await svc.images.describe(bob, { executableBy: ['self'] })).map((i) => i.imageId), [emi.imageId]);
    assert.deepEqual(await svc.images.launchPermissions(a, emi.imageId), [{ userId: bob }]);
    await assert.rejects(svc.images.modifyAttribute(bob, emi.imageId, { add: [{ group: 'all' }] }), { code: 'AuthFailure' });
    await svc.images.modifyAttribute(a, eki.imageId, { add: [{ group: 'all' }] });
    assert.deepEqual((await svc.images.describe(bob, { executableBy: ['all'] })).map((i) => i.imageId), [eki.imageId]);
    assert.equal((await svc.images.describe(a, { owners: ['self'] })).length, 4);
    await svc.images.resetLaunchPermissions(a, emi.imageId);
    assert.deepEqual((await svc.images.describe(bob, {})).map((i) => i.imageId), [eki.imageId]);
    await svc.images.deregister(a, q.imageId);
    await assert.rejects(svc.images.describe(a, { imageIds: [q.imageId] }), { code: 'InvalidAMIID.NotFound' });
    await assert.rejects(svc.images.forLaunch(a, eki.imageId), { code: 'InvalidParameterValue' });
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
