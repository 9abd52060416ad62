/**
 * Walrus driven by the AWS SDK v3 (and lib-storage): CRUD, listings, multipart, ranges, conditionals, versioning,
 * ACLs across accounts, policies, presigned URLs, CORS, tagging, lifecycle configuration.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type {
  S3Client} from '@aws-sdk/client-s3';
import { CreateBucketCommand, PutObjectCommand, GetObjectCommand, HeadObjectCommand, DeleteObjectCommand, ListObjectsV2Command,
  ListObjectsCommand, ListBucketsCommand, DeleteBucketCommand, HeadBucketCommand, CopyObjectCommand, DeleteObjectsCommand,
  CreateMultipartUploadCommand, UploadPartCommand, CompleteMultipartUploadCommand, AbortMultipartUploadCommand, ListPartsCommand,
  ListMultipartUploadsCommand, UploadPartCopyCommand, PutBucketVersioningCommand, GetBucketVersioningCommand, ListObjectVersionsCommand,
  PutBucketAclCommand, GetBucketAclCommand, PutObjectAclCommand, GetObjectAclCommand, PutBucketPolicyCommand, GetBucketPolicyCommand,
  DeleteBucketPolicyCommand, PutBucketCorsCommand, GetBucketCorsCommand, PutBucketTaggingCommand, GetBucketTaggingCommand,
  PutObjectTaggingCommand, GetObjectTaggingCommand, PutBucketLifecycleConfigurationCommand, GetBucketLifecycleConfigurationCommand,
  GetBucketLocationCommand, type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { startWalrus, presignUrl, signedFetch, type StartedWalrus } from './s3-helpers.js';

let w: StartedWalrus;
let s3: S3Client;

before(async () => {
  w = await startWalrus();
  s3 = w.client(w.alice);
});
after(async () => {
  await w.close();
});

async function body(r: { Body?: unknown }): Promise<Buffer> {
  const b = r.Body as { transformToByteArray(): Promise<Uint8Array> };
  return Buffer.from(await b.transformToByteArray());
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; Code?: string; $metadata?: { httpStatusCode?: number } };
    if (err.$metadata?.httpStatusCode === 304) return '304';
    return err.Code ?? err.name;
  }
  return 'no error';
}

test('buckets: create, list, head, location, delete, errors', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'sdk-bucket' }));
  assert.equal(await code(s3.send(new CreateBucketCommand({ Bucket: 'sdk-bucket' }))), 'BucketAlreadyOwnedByYou');
  assert.equal(await code(w.client(w.bob).send(new CreateBucketCommand({ Bucket: 'sdk-bucket' }))), 'BucketAlreadyExists');
  assert.equal(await code(s3.send(new CreateBucketCommand({ Bucket: 'Bad_Name' }))), 'InvalidBucketName');
  const list = await s3.send(new ListBucketsCommand({}));
  assert.ok(list.Buckets?.some((b) => b.Name === 'sdk-bucket'));
  assert.equal((await w.client(w.bob).send(new ListBucketsCommand({}))).Buckets?.length ?? 0, 0);
  await s3.send(new HeadBucketCommand({ Bucket: 'sdk-bucket' }));
  assert.equal(await code(s3.send(new HeadBucketCommand({ Bucket: 'nope-bucket' }))), 'NotFound');
  const loc = await s3.send(new GetBucketLocationCommand({ Bucket: 'sdk-bucket' }));
  assert.equal(loc.LocationConstraint, 'eucalyptus');
  await s3.send(new PutObjectCommand({ Bucket: 'sdk-bucket', Key: 'x', Body: 'x' }));
  assert.equal(await code(s3.send(new DeleteBucketCommand({ Bucket: 'sdk-bucket' }))), 'BucketNotEmpty');
  await s3.send(new DeleteObjectCommand({ Bucket: 'sdk-bucket', Key: 'x' }));
  await s3.send(new DeleteBucketCommand({ Bucket: 'sdk-bucket' }));
  assert.equal(await code(s3.send(new ListObjectsV2Command({ Bucket: 'sdk-bucket' }))), 'NoSuchBucket');
});

test('objects: put/get/head with metadata, odd keys round-trip, ranges, conditionals, overrides', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'objs' }));
  const keys = ['plain', 'with space', 'a+b', 'unicodé/ключ/鍵', 'dir//double', 'trailing/', '~!@$&*()=:,;', 'x'.repeat(1000)];
  for (const Key of keys) {
    await s3.send(new PutObjectCommand({ Bucket: 'objs', Key, Body: `body of ${Key}`, ContentType: 'text/plain', Metadata: { 'my-key': 'v1' } }));
  }
  for (const Key of keys) {
    const r = await s3.send(new GetObjectCommand({ Bucket: 'objs', Key }));
    assert.equal((await body(r)).toString(), `body of ${Key}`);
    assert.equal(r.ContentType, 'text/plain');
    assert.equal(r.Metadata?.['my-key'], 'v1');
  }
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'objs' }));
  assert.deepEqual(listed.Contents?.map((c) => c.Key).sort(), [...keys].sort());
  const data = randomBytes(1000);
  const put = await s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'bin', Body: data }));
  assert.equal(put.ETag, `"${createHash('md5').update(data).digest('hex')}"`);
  const head = await s3.send(new HeadObjectCommand({ Bucket: 'objs', Key: 'bin' }));
  assert.equal(head.ContentLength, 1000);
  assert.equal(head.ETag, put.ETag);
  const r1 = await s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'bin', Range: 'bytes=10-19' }));
  assert.deepEqual(await body(r1), data.subarray(10, 20));
  assert.equal(r1.ContentRange, 'bytes 10-19/1000');
  assert.deepEqual(await body(await s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'bin', Range: 'bytes=-5' }))), data.subarray(995));
  assert.deepEqual(await body(await s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'bin', Range: 'bytes=990-' }))), data.subarray(990));
  assert.equal(await code(s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'bin', Range: 'bytes=1000-' }))), 'InvalidRange');
  assert.equal(await code(s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'bin', IfMatch: '"nope"' }))), 'PreconditionFailed');
  assert.equal(await code(s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'bin', IfNoneMatch: put.ETag! }))), '304');
  assert.equal(await code(s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'bin', IfModifiedSince: new Date(Date.now() + 3600_000) }))), '304');
  assert.equal(await code(s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'bin', IfUnmodifiedSince: new Date(Date.now() - 3600_000) }))), 'PreconditionFailed');
  assert.equal(await code(s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'bin', Body: 'x', IfNoneMatch: '*' }))), 'PreconditionFailed');
  await s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'new-one', Body: 'x', IfNoneMatch: '*' }));
  const ov = await s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'bin', ResponseContentType: 'image/png', ResponseContentDisposition: 'attachment; filename="a.png"', ResponseCacheControl: 'no-cache' }));
  assert.equal(ov.ContentType, 'image/png');
  assert.equal(ov.ContentDisposition, 'attachment; filename="a.png"');
  assert.equal(ov.CacheControl, 'no-cache');
  assert.equal(await code(s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'missing' }))), 'NoSuchKey');
  assert.equal(await code(s3.send(new HeadObjectCommand({ Bucket: 'objs', Key: 'missing' }))), 'NotFound');
  // Content-MD5 and checksums
  assert.equal(await code(s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'md5', Body: 'abc', ContentMD5: createHash('md5').update('abd').digest('base64') }))), 'BadDigest');
  await s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'md5', Body: 'abc', ContentMD5: createHash('md5').update('abc').digest('base64') }));
  const sha = await s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'sha', Body: 'abc', ChecksumAlgorithm: 'SHA256' }));
  assert.equal(sha.ChecksumSHA256, createHash('sha256').update('abc').digest('base64'));
  const back = await s3.send(new HeadObjectCommand({ Bucket: 'objs', Key: 'sha', ChecksumMode: 'ENABLED' }));
  assert.equal(back.ChecksumSHA256, sha.ChecksumSHA256);
  assert.equal(await code(s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'bad', Body: 'abc', ChecksumSHA256: createHash('sha256').update('x').digest('base64') }))), 'BadDigest');
  await s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'crc', Body: 'abc', ChecksumAlgorithm: 'CRC32' }));
  const c32c = await s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'crc32c', Body: 'abc', ChecksumAlgorithm: 'CRC32C' }));
  assert.ok(c32c.ChecksumCRC32C);
  await s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'crc64', Body: 'abc', ChecksumAlgorithm: 'CRC64NVME' }));
  // a stream body: the SDK sends aws-chunked with a trailing checksum
  const streamed = randomBytes(300_000);
  const sp = await s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'streamed', Body: Readable.from([streamed.subarray(0, 100_000), streamed.subarray(100_000)]), ContentLength: streamed.length }));
  assert.equal(sp.ETag, `"${createHash('md5').update(streamed).digest('hex')}"`);
  assert.ok((await body(await s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'streamed' })))).equals(streamed));
  // DeleteObjects
  const del = await s3.send(new DeleteObjectsCommand({ Bucket: 'objs', Delete: { Objects: keys.map((Key) => ({ Key })) } }));
  assert.equal(del.Deleted?.length, keys.length);
  assert.deepEqual(del.Errors ?? [], []);
});

test('copy: COPY/REPLACE metadata, conditional copy, to itself', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'copies' }));
  await s3.send(new PutObjectCommand({ Bucket: 'copies', Key: 'src key+1', Body: 'source', ContentType: 'text/x-src', Metadata: { a: '1' } }));
  const c = await s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'dst', CopySource: `copies/${encodeURIComponent('src key+1')}` }));
  assert.equal(c.CopyObjectResult?.ETag, `"${createHash('md5').update('source').digest('hex')}"`);
  const g = await s3.send(new GetObjectCommand({ Bucket: 'copies', Key: 'dst' }));
  assert.equal((await body(g)).toString(), 'source');
  assert.equal(g.ContentType, 'text/x-src');
  assert.equal(g.Metadata?.a, '1');
  await s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'dst2', CopySource: `copies/${encodeURIComponent('src key+1')}`, MetadataDirective: 'REPLACE', Metadata: { b: '2' }, ContentType: 'text/y' }));
  const g2 = await s3.send(new HeadObjectCommand({ Bucket: 'copies', Key: 'dst2' }));
  assert.deepEqual(g2.Metadata, { b: '2' });
  assert.equal(g2.ContentType, 'text/y');
  assert.equal(await code(s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'dst3', CopySource: 'copies/dst', CopySourceIfMatch: '"zzz"' }))), 'PreconditionFailed');
  assert.equal(await code(s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'dst', CopySource: 'copies/dst' }))), 'InvalidRequest');
  await s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'dst', CopySource: 'copies/dst', MetadataDirective: 'REPLACE', Metadata: { c: '3' } }));
  assert.equal(await code(s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'x', CopySource: 'copies/missing' }))), 'NoSuchKey');
});

test('listings: delimiter paging over 2,600 keys with v1 and v2, EncodingType=url', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'many' }));
  const keys: string[] = [];
  for (let d = 0; d < 4; d++) for (let i = 0; i < 650; i++) keys.push(`d${d}/sub${i % 3}/k ${String(i).padStart(4, '0')}`);
  for (let i = 0; i < 30; i++) keys.push(`top+${i}`);
  for (let i = 0; i < keys.length; i += 64) {
    await Promise.all(keys.slice(i, i + 64).map((Key) => s3.send(new PutObjectCommand({ Bucket: 'many', Key, Body: '', ContentLength: 0 }))));
  }
  const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  // v2 flat
  const seen: string[] = [];
  let token: string | undefined;
  do {
    const r: ListObjectsV2CommandOutput = await s3.send(new ListObjectsV2Command({ Bucket: 'many', MaxKeys: 700, ...(token ? { ContinuationToken: token } : {}) }));
    seen.push(...(r.Contents ?? []).map((c) => c.Key!));
    token = r.NextContinuationToken;
  } while (token);
  assert.deepEqual(seen, sorted);
  // v2 with delimiter and prefix
  const pre: string[] = [];
  const objs: string[] = [];
  token = undefined;
  do {
    const r: ListObjectsV2CommandOutput = await s3.send(new ListObjectsV2Command({ Bucket: 'many', Delimiter: '/', Prefix: 'd1/', MaxKeys: 1, ...(token ? { ContinuationToken: token } : {}) }));
    pre.push(...(r.CommonPrefixes ?? []).map((c) => c.Prefix!));
    objs.push(...(r.Contents ?? []).map((c) => c.Key!));
    token = r.NextContinuationToken;
  } while (token);
  assert.deepEqual(pre, ['d1/sub0/', 'd1/sub1/', 'd1/sub2/']);
  assert.deepEqual(objs, []);
  // v1 with marker and delimiter at the root
  const v1: string[] = [];
  let marker: string | undefined;
  for (;;) {
    const r = await s3.send(new ListObjectsCommand({ Bucket: 'many', Delimiter: '/', MaxKeys: 7, ...(marker ? { Marker: marker } : {}) }));
    v1.push(...(r.CommonPrefixes ?? []).map((c) => c.Prefix!), ...(r.Contents ?? []).map((c) => c.Key!));
    if (!r.IsTruncated) break;
    marker = r.NextMarker;
  }
  assert.deepEqual(v1.sort(), ['d0/', 'd1/', 'd2/', 'd3/', ...keys.filter((k) => k.startsWith('top'))].sort());
  // url encoding: the SDK leaves keys encoded
  const enc = await s3.send(new ListObjectsV2Command({ Bucket: 'many', Prefix: 'd0/sub0/k 000', EncodingType: 'url', MaxKeys: 1 }));
  assert.equal(enc.Contents?.[0]?.Key, 'd0/sub0/k%200000');
});

test('multipart: SDK low-level API, -N ETag, part copy, list and abort; lib-storage upload', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'mpu' }));
  const MB = 1024 * 1024;
  const parts = [randomBytes(5 * MB), randomBytes(5 * MB), randomBytes(1234)];
  const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mpu', Key: 'big', ContentType: 'application/x-big', Metadata: { m: 'v' } }));
  const etags: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const r = await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'big', UploadId: c.UploadId, PartNumber: i + 1, Body: parts[i] }));
    etags.push(r.ETag!);
  }
  const lp = await s3.send(new ListPartsCommand({ Bucket: 'mpu', Key: 'big', UploadId: c.UploadId }));
  assert.deepEqual(lp.Parts?.map((p) => p.PartNumber), [1, 2, 3]);
  const lu = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'mpu' }));
  assert.deepEqual(lu.Uploads?.map((u) => u.UploadId), [c.UploadId]);
  assert.equal(await code(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mpu', Key: 'big', UploadId: c.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"bad"' }] } }))), 'InvalidPart');
  assert.equal(await code(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mpu', Key: 'big', UploadId: c.UploadId, MultipartUpload: { Parts: [{ PartNumber: 3, ETag: etags[2] }, { PartNumber: 1, ETag: etags[0] }] } }))), 'InvalidPartOrder');
  assert.equal(await code(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mpu', Key: 'big', UploadId: c.UploadId, MultipartUpload: { Parts: [{ PartNumber: 3, ETag: etags[2] }, { PartNumber: 4, ETag: etags[2] }] } }))), 'InvalidPart');
  const done = await s3.send(new CompleteMultipartUploadCommand({
    Bucket: 'mpu', Key: 'big', UploadId: c.UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) },
  }));
  const md5s = Buffer.concat(parts.map((p) => createHash('md5').update(p).digest()));
  assert.equal(done.ETag, `"${createHash('md5').update(md5s).digest('hex')}-3"`);
  const all = Buffer.concat(parts);
  const g = await s3.send(new GetObjectCommand({ Bucket: 'mpu', Key: 'big' }));
  assert.equal(g.ContentType, 'application/x-big');
  assert.equal(g.Metadata?.m, 'v');
  assert.ok((await body(g)).equals(all));
  // a range across the part boundary
  const cross = await s3.send(new GetObjectCommand({ Bucket: 'mpu', Key: 'big', Range: `bytes=${5 * MB - 10}-${5 * MB + 9}` }));
  assert.ok((await body(cross)).equals(all.subarray(5 * MB - 10, 5 * MB + 10)));
  // part number GET
  const p2 = await s3.send(new GetObjectCommand({ Bucket: 'mpu', Key: 'big', PartNumber: 2 }));
  assert.equal(p2.PartsCount, 3);
  assert.ok((await body(p2)).equals(parts[1]!));
  assert.equal(await code(s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'big', UploadId: c.UploadId, PartNumber: 1, Body: 'x' }))), 'NoSuchUpload');
  // too small
  const s = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mpu', Key: 'small' }));
  const e1 = await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'small', UploadId: s.UploadId, PartNumber: 1, Body: 'a' }));
  const e2 = await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'small', UploadId: s.UploadId, PartNumber: 2, Body: 'b' }));
  assert.equal(await code(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mpu', Key: 'small', UploadId: s.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: e1.ETag }, { PartNumber: 2, ETag: e2.ETag }] } }))), 'EntityTooSmall');
  // UploadPartCopy with ranges
  const pc = await s3.send(new UploadPartCopyCommand({ Bucket: 'mpu', Key: 'small', UploadId: s.UploadId, PartNumber: 1, CopySource: 'mpu/big', CopySourceRange: `bytes=0-${5 * MB - 1}` }));
  const pc2 = await s3.send(new UploadPartCopyCommand({ Bucket: 'mpu', Key: 'small', UploadId: s.UploadId, PartNumber: 2, CopySource: 'mpu/big', CopySourceRange: `bytes=${5 * MB}-${5 * MB + 99}` }));
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mpu', Key: 'small', UploadId: s.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: pc.CopyPartResult?.ETag }, { PartNumber: 2, ETag: pc2.CopyPartResult?.ETag }] } }));
  assert.ok((await body(await s3.send(new GetObjectCommand({ Bucket: 'mpu', Key: 'small' })))).equals(all.subarray(0, 5 * MB + 100)));
  // abort
  const a = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mpu', Key: 'aborted' }));
  await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'aborted', UploadId: a.UploadId, PartNumber: 1, Body: 'x' }));
  await s3.send(new AbortMultipartUploadCommand({ Bucket: 'mpu', Key: 'aborted', UploadId: a.UploadId }));
  assert.equal(await code(s3.send(new ListPartsCommand({ Bucket: 'mpu', Key: 'aborted', UploadId: a.UploadId }))), 'NoSuchUpload');
  // lib-storage
  const big = randomBytes(12 * MB + 7);
  const up = new Upload({ client: s3, params: { Bucket: 'mpu', Key: 'lib/storage', Body: big }, partSize: 5 * MB, queueSize: 2 });
  await up.done();
  const got = await body(await s3.send(new GetObjectCommand({ Bucket: 'mpu', Key: 'lib/storage' })));
  assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(big).digest('hex'));
});

test('versioning: ids, delete markers, version listing, suspended', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'versions' }));
  assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: 'versions' }))).Status, undefined);
  await s3.send(new PutBucketVersioningCommand({ Bucket: 'versions', VersioningConfiguration: { Status: 'Enabled' } }));
  assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: 'versions' }))).Status, 'Enabled');
  const v1 = await s3.send(new PutObjectCommand({ Bucket: 'versions', Key: 'k', Body: 'one' }));
  const v2 = await s3.send(new PutObjectCommand({ Bucket: 'versions', Key: 'k', Body: 'two' }));
  assert.ok(v1.VersionId && v2.VersionId && v1.VersionId !== v2.VersionId);
  assert.equal((await body(await s3.send(new GetObjectCommand({ Bucket: 'versions', Key: 'k', VersionId: v1.VersionId })))).toString(), 'one');
  const d = await s3.send(new DeleteObjectCommand({ Bucket: 'versions', Key: 'k' }));
  assert.equal(d.DeleteMarker, true);
  assert.equal(await code(s3.send(new GetObjectCommand({ Bucket: 'versions', Key: 'k' }))), 'NoSuchKey');
  const lv = await s3.send(new ListObjectVersionsCommand({ Bucket: 'versions' }));
  assert.deepEqual(lv.Versions?.map((v) => v.VersionId), [v2.VersionId, v1.VersionId]);
  assert.equal(lv.DeleteMarkers?.[0]?.VersionId, d.VersionId);
  assert.equal(lv.DeleteMarkers?.[0]?.IsLatest, true);
  await s3.send(new DeleteObjectCommand({ Bucket: 'versions', Key: 'k', VersionId: d.VersionId }));
  assert.equal((await body(await s3.send(new GetObjectCommand({ Bucket: 'versions', Key: 'k' })))).toString(), 'two');
  await s3.send(new PutBucketVersioningCommand({ Bucket: 'versions', VersioningConfiguration: { Status: 'Suspended' } }));
  const n = await s3.send(new PutObjectCommand({ Bucket: 'versions', Key: 'k', Body: 'three' }));
  assert.equal(n.VersionId, 'null');
});

test('access: private buckets, ACLs, public-read, bucket policy, presigned URLs', async () => {
  const bob = w.client(w.bob);
  await s3.send(new CreateBucketCommand({ Bucket: 'private-b' }));
  await s3.send(new PutObjectCommand({ Bucket: 'private-b', Key: 'secret', Body: 'secret' }));
  assert.equal(await code(bob.send(new GetObjectCommand({ Bucket: 'private-b', Key: 'secret' }))), 'AccessDenied');
  assert.equal(await code(bob.send(new ListObjectsV2Command({ Bucket: 'private-b' }))), 'AccessDenied');
  assert.equal(await code(bob.send(new PutObjectCommand({ Bucket: 'private-b', Key: 'x', Body: 'x' }))), 'AccessDenied');
  const anonUrl = `${w.endpoint}/private-b/secret`;
  assert.equal((await fetch(anonUrl)).status, 403);
  // public-read object: anonymous GET works, listing still refused
  await s3.send(new PutObjectCommand({ Bucket: 'private-b', Key: 'public', Body: 'hello world', ACL: 'public-read' }));
  const pub = await fetch(`${w.endpoint}/private-b/public`);
  assert.equal(pub.status, 200);
  assert.equal(await pub.text(), 'hello world');
  assert.equal((await fetch(`${w.endpoint}/private-b`)).status, 403);
  const acl = await s3.send(new GetObjectAclCommand({ Bucket: 'private-b', Key: 'public' }));
  assert.ok(acl.Grants?.some((g) => g.Grantee?.URI === 'http://acs.amazonaws.com/groups/global/AllUsers' && g.Permission === 'READ'));
  // grant bob READ on the bucket by ACL
  await s3.send(new PutBucketAclCommand({ Bucket: 'private-b', GrantRead: `id=${w.bob.principal.accountId}`, GrantFullControl: `id=${w.alice.principal.accountId}` }));
  const bacl = await s3.send(new GetBucketAclCommand({ Bucket: 'private-b' }));
  assert.ok(bacl.Grants?.some((g) => g.Grantee?.ID === w.bob.principal.accountId && g.Permission === 'READ'));
  assert.equal((await bob.send(new ListObjectsV2Command({ Bucket: 'private-b' }))).KeyCount, 2);
  assert.equal(await code(bob.send(new GetObjectCommand({ Bucket: 'private-b', Key: 'secret' }))), 'AccessDenied');
  await s3.send(new PutObjectAclCommand({ Bucket: 'private-b', Key: 'secret', ACL: 'aws-exec-read' }));
  // bucket policy: bob may read everything
  await s3.send(new PutBucketPolicyCommand({
    Bucket: 'private-b',
    Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: [w.bob.principal.accountId] }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::private-b/*' }] }),
  }));
  assert.equal((await body(await bob.send(new GetObjectCommand({ Bucket: 'private-b', Key: 'secret' })))).toString(), 'secret');
  assert.ok((await s3.send(new GetBucketPolicyCommand({ Bucket: 'private-b' }))).Policy?.includes('s3:GetObject'));
  assert.equal(await code(s3.send(new PutBucketPolicyCommand({ Bucket: 'private-b', Policy: '{not json' }))), 'MalformedPolicy');
  await s3.send(new DeleteBucketPolicyCommand({ Bucket: 'private-b' }));
  assert.equal(await code(bob.send(new GetObjectCommand({ Bucket: 'private-b', Key: 'secret' }))), 'AccessDenied');
  // presigned GET and PUT
  const url = await presignUrl(w, w.alice, 'GET', '/private-b/secret', 60);
  assert.equal(await (await fetch(url)).text(), 'secret');
  const putUrl = await presignUrl(w, w.alice, 'PUT', '/private-b/presigned put+1', 60);
  assert.equal((await fetch(putUrl, { method: 'PUT', body: 'via presign' })).status, 200);
  assert.equal((await body(await s3.send(new GetObjectCommand({ Bucket: 'private-b', Key: 'presigned put+1' })))).toString(), 'via presign');
  const old = await presignUrl(w, w.alice, 'GET', '/private-b/secret', 1, new Date(Date.now() - 3600_000));
  const expired = await fetch(old);
  assert.equal(expired.status, 403);
  assert.match(await expired.text(), /AccessDenied/);
  // unknown key
  const ghost = w.client({ ...w.alice, secretAccessKey: 'wrong'.padEnd(40, 'x') });
  assert.equal(await code(ghost.send(new ListObjectsV2Command({ Bucket: 'private-b' }))), 'SignatureDoesNotMatch');
});

test('configuration: CORS (and preflight), tagging, lifecycle', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'configs' }));
  await s3.send(new PutBucketCorsCommand({ Bucket: 'configs', CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['https://app.example'], AllowedMethods: ['GET', 'PUT'], AllowedHeaders: ['*'], MaxAgeSeconds: 300 }] } }));
  assert.equal((await s3.send(new GetBucketCorsCommand({ Bucket: 'configs' }))).CORSRules?.[0]?.AllowedOrigins?.[0], 'https://app.example');
  const pre = await fetch(`${w.endpoint}/configs/obj`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' } });
  assert.equal(pre.status, 200);
  assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example');
  assert.equal(pre.headers.get('access-control-max-age'), '300');
  const bad = await fetch(`${w.endpoint}/configs/obj`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
  assert.equal(bad.status, 403);
  await s3.send(new PutBucketTaggingCommand({ Bucket: 'configs', Tagging: { TagSet: [{ Key: 'team', Value: 'storage' }] } }));
  assert.deepEqual((await s3.send(new GetBucketTaggingCommand({ Bucket: 'configs' }))).TagSet, [{ Key: 'team', Value: 'storage' }]);
  await s3.send(new PutObjectCommand({ Bucket: 'configs', Key: 'tagged', Body: 'x', Tagging: 'a=1&b=two%20words' }));
  assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket: 'configs', Key: 'tagged' }))).TagSet?.map((t) => [t.Key, t.Value]), [['a', '1'], ['b', 'two words']]);
  await s3.send(new PutObjectTaggingCommand({ Bucket: 'configs', Key: 'tagged', Tagging: { TagSet: [{ Key: 'c', Value: '3' }] } }));
  assert.equal((await s3.send(new GetObjectCommand({ Bucket: 'configs', Key: 'tagged' }))).TagCount, 1);
  await s3.send(new PutBucketLifecycleConfigurationCommand({
    Bucket: 'configs',
    LifecycleConfiguration: { Rules: [{ ID: 'expire-logs', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 7 }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }] },
  }));
  const lc = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'configs' }));
  assert.equal(lc.Rules?.[0]?.ID, 'expire-logs');
  assert.equal(lc.Rules?.[0]?.Expiration?.Days, 7);
  // the rule actually runs
  await s3.send(new PutObjectCommand({ Bucket: 'configs', Key: 'logs/old', Body: 'x' }));
  assert.equal(await w.svc.walrus.runLifecycle(Date.now() + 8 * 86_400_000), 1);
  assert.equal(await code(s3.send(new HeadObjectCommand({ Bucket: 'configs', Key: 'logs/old' }))), 'NotFound');
});

test('XML safety and unsupported operations', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'xmlsafe' }));
  const send = (method: string, path: string, query: Record<string, string>, bodyText: string) => signedFetch(w, w.alice, method, path, query, bodyText);
  const evil = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><Delete><Object><Key>&a;</Key></Object></Delete>';
  const r = await send('POST', '/xmlsafe', { delete: '' }, evil);
  assert.equal(r.status, 400);
  assert.match(await r.text(), /<Code>MalformedXML<\/Code>/);
  const ws = await send('POST', '/xmlsafe', { delete: '' }, '<Delete><Object><Key> spaced 007 </Key></Object></Delete>');
  assert.match(await ws.text(), /<Key> spaced 007 <\/Key>/);
  const web = await send('GET', '/xmlsafe', { website: '' }, '');
  assert.equal(web.status, 501);
  assert.match(await web.text(), /NotImplemented/);
  const head = await send('HEAD', '/xmlsafe/missing', {}, '');
  assert.equal(head.status, 404);
  assert.equal(await head.text(), '');
  assert.ok(head.headers.get('x-amz-request-id'));
  assert.ok(head.headers.get('x-amz-id-2'));
});

test('browser POST upload with a signed policy', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'posts' }));
  const { signingKey } = await import('../../src/auth/sigv4/index.js');
  const { createHmac } = await import('node:crypto');
  const date = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = date.slice(0, 8);
  const credential = `${w.alice.accessKeyId}/${day}/eucalyptus/s3/aws4_request`;
  const form = (expiration: Date, prefix: string, key: string, content: string) => {
    const policy = Buffer.from(JSON.stringify({
      expiration: expiration.toISOString(),
      conditions: [{ bucket: 'posts' }, ['starts-with', '$key', prefix], { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' }, { 'x-amz-credential': credential }, { 'x-amz-date': date }, ['content-length-range', 1, 1000], ['starts-with', '$Content-Type', 'text/']],
    })).toString('base64');
    const sig = createHmac('sha256', signingKey(w.alice.secretAccessKey, day, 'eucalyptus', 's3')).update(policy).digest('hex');
    const f = new FormData();
    f.set('key', key);
    f.set('Content-Type', 'text/plain');
    f.set('x-amz-algorithm', 'AWS4-HMAC-SHA256');
    f.set('x-amz-credential', credential);
    f.set('x-amz-date', date);
    f.set('policy', policy);
    f.set('x-amz-signature', sig);
    f.set('file', new Blob([content]), 'local name.txt');
    return f;
  };
  const ok = await fetch(`${w.endpoint}/posts`, { method: 'POST', body: form(new Date(Date.now() + 60_000), 'uploads/', 'uploads/${filename}', 'posted body') });
  assert.equal(ok.status, 204);
  const g = await s3.send(new GetObjectCommand({ Bucket: 'posts', Key: 'uploads/local name.txt' }));
  assert.equal((await body(g)).toString(), 'posted body');
  assert.equal(g.ContentType, 'text/plain');
  const expired = await fetch(`${w.endpoint}/posts`, { method: 'POST', body: form(new Date(Date.now() - 60_000), 'uploads/', 'uploads/x', 'x') });
  assert.equal(expired.status, 403);
  const wrongKey = await fetch(`${w.endpoint}/posts`, { method: 'POST', body: form(new Date(Date.now() + 60_000), 'uploads/', 'elsewhere/x', 'x') });
  assert.equal(wrongKey.status, 403);
  const tooBig = await fetch(`${w.endpoint}/posts`, { method: 'POST', body: form(new Date(Date.now() + 60_000), 'uploads/', 'uploads/big', 'x'.repeat(2000)) });
  assert.equal(tooBig.status, 400);
  assert.match(await tooBig.text(), /EntityTooLarge/);
  const anon = new FormData();
  anon.set('key', 'anon');
  anon.set('file', new Blob(['x']));
  assert.equal((await fetch(`${w.endpoint}/posts`, { method: 'POST', body: anon })).status, 403);
});
