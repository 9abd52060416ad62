/**
 * Walrus's two mount points and both addressing styles, with the SDK v3: path style under
 * `/services/objectstorage` (as the CLC gateway mounts it) and virtual-host style `<bucket>.<s3Domain>`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, ListObjectsV2Command, ListBucketsCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startWalrus } from './s3-helpers.js';

test('path style under /services/objectstorage', async () => {
  const w = await startWalrus({ prefix: '/services/objectstorage' });
  try {
    const s3 = w.client(w.alice);
    await s3.send(new CreateBucketCommand({ Bucket: 'prefixed' }));
    await s3.send(new PutObjectCommand({ Bucket: 'prefixed', Key: 'a b/c+d', Body: 'under the prefix' }));
    const r = await s3.send(new GetObjectCommand({ Bucket: 'prefixed', Key: 'a b/c+d' }));
    assert.equal(await r.Body?.transformToString(), 'under the prefix');
    assert.deepEqual((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name), ['prefixed']);
    const outside = await fetch(`http://127.0.0.1:${w.port}/prefixed/a%20b/c%2Bd`);
    assert.equal(outside.status, 404);
  } finally {
    await w.close();
  }
});

test('virtual-host style <bucket>.<s3Domain>', async () => {
  const w = await startWalrus({ s3Domain: 's3.example.test' });
  try {
    // every name resolves to this machine's loopback: no traffic leaves the host
    const agent = new Agent({ keepAlive: true, lookup: ((_h: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) => (opts?.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4))) as never });
    const s3 = new S3Client({
      endpoint: `http://s3.example.test:${w.port}`, region: 'eucalyptus', forcePathStyle: false,
      credentials: { accessKeyId: w.alice.accessKeyId, secretAccessKey: w.alice.secretAccessKey },
      requestHandler: new NodeHttpHandler({ httpAgent: agent }),
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'vhost-bucket' }));
    await s3.send(new PutObjectCommand({ Bucket: 'vhost-bucket', Key: 'dir/x y', Body: 'virtual' }));
    const r = await s3.send(new GetObjectCommand({ Bucket: 'vhost-bucket', Key: 'dir/x y' }));
    assert.equal(await r.Body?.transformToString(), 'virtual');
    const l = await s3.send(new ListObjectsV2Command({ Bucket: 'vhost-bucket' }));
    assert.deepEqual(l.Contents?.map((c) => c.Key), ['dir/x y']);
    // the same bucket by path style on the same port
    const p = w.client(w.alice);
    assert.equal(await (await p.send(new GetObjectCommand({ Bucket: 'vhost-bucket', Key: 'dir/x y' }))).Body?.transformToString(), 'virtual');
    await s3.send(new DeleteObjectCommand({ Bucket: 'vhost-bucket', Key: 'dir/x y' }));
    s3.destroy();
    agent.destroy();
  } finally {
    await w.close();
  }
});
