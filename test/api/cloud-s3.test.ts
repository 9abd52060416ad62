/**
 * Walrus in the cloud-in-a-box: one object store behind its own port and the gateway's /services/objectstorage,
 * authenticated with the cloud's IAM credentials and authorized with its policies.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, ListBucketsCommand } from '@aws-sdk/client-s3';
import { startTestCloud, type TestCloud } from '../../src/main/testing.js';

let cloud: TestCloud;
before(async () => { cloud = await startTestCloud(); });
after(async () => { await cloud.stop(); });

const s3 = (endpoint: string, credentials: { accessKeyId: string; secretAccessKey: string }) =>
  new S3Client({ endpoint, region: 'eucalyptus', forcePathStyle: true, credentials, maxAttempts: 1 });

test('S3 through the gateway path and Walrus\'s own port reach the same objects', async () => {
  const admin = { accessKeyId: cloud.admin.accessKeyId, secretAccessKey: cloud.admin.secretAccessKey };
  const viaGateway = s3(`${cloud.endpoints.clc}/services/objectstorage`, admin);
  const direct = s3(cloud.endpoints.walrus, admin);
  await viaGateway.send(new CreateBucketCommand({ Bucket: 'shared-bucket' }));
  await viaGateway.send(new PutObjectCommand({ Bucket: 'shared-bucket', Key: 'dir/a b+c.txt', Body: 'hello walrus' }));
  const got = await direct.send(new GetObjectCommand({ Bucket: 'shared-bucket', Key: 'dir/a b+c.txt' }));
  assert.equal(await got.Body?.transformToString(), 'hello walrus');
  const listed = await direct.send(new ListBucketsCommand({}));
  assert.ok(listed.Buckets?.some((b) => b.Name === 'shared-bucket'));
});

test('a user with no policy is denied s3:ListAllMyBuckets; the bucket stays private', async () => {
  const u = await cloud.iam.createUser(cloud.admin.accountId, 's3-nopolicy');
  const k = await cloud.iam.createAccessKey(cloud.admin.accountId, u.name);
  const client = s3(cloud.endpoints.walrus, { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey });
  await assert.rejects(client.send(new ListBucketsCommand({})), (e: Error) => e.name === 'AccessDenied');
  await assert.rejects(client.send(new GetObjectCommand({ Bucket: 'shared-bucket', Key: 'dir/a b+c.txt' })), (e: Error) => e.name === 'AccessDenied');
  const bad = s3(cloud.endpoints.walrus, { accessKeyId: cloud.admin.accessKeyId, secretAccessKey: 'z'.repeat(40) });
  await assert.rejects(bad.send(new ListBucketsCommand({})), (e: Error) => e.name === 'SignatureDoesNotMatch');
});

test('an account quota of 2 buckets refuses a third with TooManyBuckets, naming the limit', async () => {
  const { setAccountQuotas, parseQuotaArgs } = await import('../../src/clc/index.js');
  const { account } = await cloud.iam.createAccount('bucket-quota');
  const key = await cloud.iam.createAccessKey(account.accountId, 'admin');
  await setAccountQuotas(cloud.directory, account.accountId, parseQuotaArgs(['buckets=2']));
  const client = s3(cloud.endpoints.walrus, { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey });
  await client.send(new CreateBucketCommand({ Bucket: 'quota-one' }));
  await client.send(new CreateBucketCommand({ Bucket: 'quota-two' }));
  await assert.rejects(client.send(new CreateBucketCommand({ Bucket: 'quota-three' })), (e: Error) => e.name === 'TooManyBuckets' && /quota-bucketnumber: 2/.test(e.message));
  const listed = await client.send(new ListBucketsCommand({}));
  assert.deepEqual(listed.Buckets?.map((b) => b.Name).sort(), ['quota-one', 'quota-two'], 'nothing left behind');
});
