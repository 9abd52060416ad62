import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveS3 } from './router.js';

const D = { s3Domain: 's3.example.com' };
const P = { prefix: '/services/objectstorage', s3Domain: 's3.example.com' };

// [method, path, query, headers, opts, expected op, bucket, key, permission]
const table: [string, string, string, Record<string, string>, typeof D, string, string | undefined, string | undefined, string][] = [
  ['GET', '/', '', {}, D, 'ListBuckets', undefined, undefined, 's3:ListAllMyBuckets'],
  ['GET', '/services/objectstorage', '', {}, P, 'ListBuckets', undefined, undefined, 's3:ListAllMyBuckets'],
  ['GET', '/services/objectstorage/', '', {}, P, 'ListBuckets', undefined, undefined, 's3:ListAllMyBuckets'],
  ['PUT', '/b', '', {}, D, 'CreateBucket', 'b', undefined, 's3:CreateBucket'],
  ['PUT', '/services/objectstorage/b/', '', {}, P, 'CreateBucket', 'b', undefined, 's3:CreateBucket'],
  ['DELETE', '/b', '', {}, D, 'DeleteBucket', 'b', undefined, 's3:DeleteBucket'],
  ['HEAD', '/b', '', {}, D, 'HeadBucket', 'b', undefined, 's3:ListBucket'],
  ['GET', '/b', '', {}, D, 'ListObjects', 'b', undefined, 's3:ListBucket'],
  ['GET', '/b', 'list-type=2&prefix=a', {}, D, 'ListObjectsV2', 'b', undefined, 's3:ListBucket'],
  ['GET', '/b', 'versions', {}, D, 'ListObjectVersions', 'b', undefined, 's3:ListBucketVersions'],
  ['GET', '/b', 'location', {}, D, 'GetBucketLocation', 'b', undefined, 's3:GetBucketLocation'],
  ['GET', '/b', 'uploads', {}, D, 'ListMultipartUploads', 'b', undefined, 's3:ListBucketMultipartUploads'],
  ['PUT', '/b', 'versioning', {}, D, 'PutBucketVersioning', 'b', undefined, 's3:PutBucketVersioning'],
  ['GET', '/b', 'acl', {}, D, 'GetBucketAcl', 'b', undefined, 's3:GetBucketAcl'],
  ['PUT', '/b', 'policy', {}, D, 'PutBucketPolicy', 'b', undefined, 's3:PutBucketPolicy'],
  ['DELETE', '/b', 'cors', {}, D, 'DeleteBucketCors', 'b', undefined, 's3:PutBucketCORS'],
  ['PUT', '/b', 'lifecycle', {}, D, 'PutBucketLifecycleConfiguration', 'b', undefined, 's3:PutLifecycleConfiguration'],
  ['DELETE', '/b', 'tagging', {}, D, 'DeleteBucketTagging', 'b', undefined, 's3:PutBucketTagging'],
  ['POST', '/b', 'delete', {}, D, 'DeleteObjects', 'b', undefined, 's3:DeleteObject'],
  ['POST', '/b', '', { 'content-type': 'multipart/form-data; boundary=x' }, D, 'PostObject', 'b', undefined, 's3:PutObject'],
  ['GET', '/b/k', '', {}, D, 'GetObject', 'b', 'k', 's3:GetObject'],
  ['GET', '/b/k', 'versionId=3', {}, D, 'GetObject', 'b', 'k', 's3:GetObjectVersion'],
  ['HEAD', '/b/a%20b%2Bc/d', '', {}, D, 'HeadObject', 'b', 'a b+c/d', 's3:GetObject'],
  ['GET', '/b/a+b', '', {}, D, 'GetObject', 'b', 'a+b', 's3:GetObject'],
  ['GET', '/b//x//y/', '', {}, D, 'GetObject', 'b', '/x//y/', 's3:GetObject'],
  ['GET', '/b/%C3%A9t%C3%A9', '', {}, D, 'GetObject', 'b', 'été', 's3:GetObject'],
  ['PUT', '/b/k', '', {}, D, 'PutObject', 'b', 'k', 's3:PutObject'],
  ['PUT', '/b/k', '', { 'x-amz-copy-source': '/a/b' }, D, 'CopyObject', 'b', 'k', 's3:PutObject'],
  ['PUT', '/b/k', 'partNumber=1&uploadId=u', {}, D, 'UploadPart', 'b', 'k', 's3:PutObject'],
  ['PUT', '/b/k', 'partNumber=1&uploadId=u', { 'x-amz-copy-source': 'a/b' }, D, 'UploadPartCopy', 'b', 'k', 's3:PutObject'],
  ['POST', '/b/k', 'uploads', {}, D, 'CreateMultipartUpload', 'b', 'k', 's3:PutObject'],
  ['POST', '/b/k', 'uploadId=u', {}, D, 'CompleteMultipartUpload', 'b', 'k', 's3:PutObject'],
  ['DELETE', '/b/k', 'uploadId=u', {}, D, 'AbortMultipartUpload', 'b', 'k', 's3:AbortMultipartUpload'],
  ['GET', '/b/k', 'uploadId=u', {}, D, 'ListParts', 'b', 'k', 's3:ListMultipartUploadParts'],
  ['DELETE', '/b/k', '', {}, D, 'DeleteObject', 'b', 'k', 's3:DeleteObject'],
  ['DELETE', '/b/k', 'versionId=x', {}, D, 'DeleteObject', 'b', 'k', 's3:DeleteObjectVersion'],
  ['GET', '/b/k', 'acl', {}, D, 'GetObjectAcl', 'b', 'k', 's3:GetObjectAcl'],
  ['PUT', '/b/k', 'tagging', {}, D, 'PutObjectTagging', 'b', 'k', 's3:PutObjectTagging'],
  ['GET', '/b/k', 'tagging&versionId=1', {}, D, 'GetObjectTagging', 'b', 'k', 's3:GetObjectVersionTagging'],
  ['OPTIONS', '/b/k', '', {}, D, 'PreflightCors', 'b', 'k', ''],
  // virtual host
  ['GET', '/', '', { host: 'mybucket.s3.example.com' }, D, 'ListObjects', 'mybucket', undefined, 's3:ListBucket'],
  ['GET', '/a/b.txt', '', { host: 'my.bucket.s3.example.com:8779' }, D, 'GetObject', 'my.bucket', 'a/b.txt', 's3:GetObject'],
  ['PUT', '/', '', { host: 'nb.S3.Example.com' }, D, 'CreateBucket', 'nb', undefined, 's3:CreateBucket'],
  ['GET', '/b/k', '', { host: 's3.example.com' }, D, 'GetObject', 'b', 'k', 's3:GetObject'],
];

test('resolveS3: the routing table', () => {
  for (const [method, path, qs, headers, opts, op, bucket, key, permission] of table) {
    const r = resolveS3(method, path, new URLSearchParams(qs), headers, opts);
    assert.ok(r, `${method} ${path}`);
    assert.deepEqual([r.op, r.bucket, r.key, r.permission], [op, bucket, key, permission], `${method} ${path}?${qs} ${JSON.stringify(headers)}`);
  }
});

test('resolveS3: unsupported subresources and paths outside the prefix', () => {
  const r = resolveS3('GET', '/b', new URLSearchParams('website'), {}, D);
  assert.equal(r?.op, 'GetBucketWebsite');
  assert.equal(r?.unsupported, true);
  assert.equal(resolveS3('GET', '/b/k', new URLSearchParams('torrent'), {}, D)?.unsupported, true);
  assert.equal(resolveS3('GET', '/services/compute', new URLSearchParams(), {}, P), undefined);
  assert.equal(resolveS3('GET', '/services/objectstoragex/b', new URLSearchParams(), {}, P), undefined);
  assert.equal(resolveS3('PATCH', '/b/k', new URLSearchParams(), {}, D)?.op, 'MethodNotAllowed');
});
