/**
 * Cross-signing: requests signed by the real clients (AWS SDK v3 and botocore) must verify, and fail once tampered.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DescribeInstancesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { CreateUserCommand, IAMClient, ListUsersCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { AuthError, authenticate, type SignedRequest, type VerifyOptions } from './index.js';
import { capture, capturingHandler } from './sdk-capture.js';
import { MemoryStore, PY_DEBIAN, botocoreSign } from './test-util.js';

const AK = 'AKIAIOSFODNN7CROSS01';
const SK = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYCROSSKEY1';
const ENDPOINT = 'http://127.0.0.1:8773';

const creds = { accessKeyId: AK, secretAccessKey: SK };
const common = { region: 'us-east-1', endpoint: ENDPOINT, credentials: creds, requestHandler: capturingHandler, maxAttempts: 1 };

function store(extra: { sessionToken?: string } = {}): MemoryStore {
  const s = new MemoryStore();
  s.add(AK, SK, extra);
  return s;
}

async function expectKind(p: Promise<unknown>, kind: AuthError['kind']): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof AuthError && e.kind === kind);
}

async function checkQueryApi(req: SignedRequest, service: VerifyOptions['service'], st = store()): Promise<void> {
  const opts: VerifyOptions = { service, now: new Date(), store: st, regions: ['us-east-1'] };
  const r = await authenticate(req, opts);
  assert.equal(r.identity?.accessKeyId, AK);
  assert.deepEqual(r.payload, { kind: 'none' });
  // tampered body
  const body = Buffer.from(req.body!.toString('utf8').replace(/Version=/, 'Version=9'));
  await expectKind(authenticate({ ...req, body }, opts), r.method === 'sigv2-query' ? 'SignatureMismatch' : req.headers['x-amz-content-sha256'] ? 'ContentSHA256Mismatch' : 'SignatureMismatch');
  // wrong secret
  const wrong = new MemoryStore();
  wrong.add(AK, SK + 'x');
  await expectKind(authenticate(req, { ...opts, store: wrong }), 'SignatureMismatch');
  // unknown key
  await expectKind(authenticate(req, { ...opts, store: new MemoryStore() }), 'UnknownKey');
  // skew
  await expectKind(authenticate(req, { ...opts, now: new Date(Date.now() + 20 * 60_000) }), 'Skewed');
}

test('SDK v3 EC2, IAM and STS requests verify (SigV4 header, body hash)', async () => {
  const ec2 = new EC2Client(common);
  await checkQueryApi(await capture(ec2, new DescribeInstancesCommand({ InstanceIds: ['i-12345678'], Filters: [{ Name: 'tag:a b', Values: ['x*y', "it's"] }] })), 'ec2');
  await checkQueryApi(await capture(ec2, new RunInstancesCommand({ ImageId: 'emi-1', MinCount: 1, MaxCount: 1, UserData: Buffer.from('#!/bin/sh\necho ü+~').toString('base64') })), 'ec2');
  const iam = new IAMClient(common);
  await checkQueryApi(await capture(iam, new CreateUserCommand({ UserName: 'bob', Path: '/a b/' })), 'iam');
  await checkQueryApi(await capture(iam, new ListUsersCommand({})), 'iam');
  const sts = new STSClient(common);
  await checkQueryApi(await capture(sts, new GetCallerIdentityCommand({})), 'sts');
});

test('SDK v3 with session credentials: token checked', async () => {
  const sts = new STSClient({ ...common, credentials: { ...creds, sessionToken: 'FQoGZXIvYXdzEXAMPLE/token+=' } });
  const req = await capture(sts, new GetCallerIdentityCommand({}));
  const opts = { service: 'sts' as const, now: new Date() };
  const r = await authenticate(req, { ...opts, store: store({ sessionToken: 'FQoGZXIvYXdzEXAMPLE/token+=' }) });
  assert.equal(r.identity?.sessionToken, 'FQoGZXIvYXdzEXAMPLE/token+=');
  await expectKind(authenticate(req, { ...opts, store: store({ sessionToken: 'other' }) }), 'InvalidToken');
  await expectKind(authenticate(req, { ...opts, store: store() }), 'InvalidToken');
  const expired = new MemoryStore();
  expired.add(AK, SK, { sessionToken: 'FQoGZXIvYXdzEXAMPLE/token+=', expiresAt: new Date(Date.now() - 1000) });
  await expectKind(authenticate(req, { ...opts, store: expired }), 'ExpiredToken');
});

for (const [label, python] of [['botocore 1.43', undefined], ["Debian's botocore 1.29", PY_DEBIAN]] as const) test(`${label}: EC2, IAM and STS requests verify (SigV4, and SigV2 for EC2)`, async () => {
  const reqs = botocoreSign([
    { name: 'ec2', service: 'ec2', op: 'describe_instances', params: { InstanceIds: ['i-1'], Filters: [{ Name: 'tag:Name', Values: ['a b/c~*'] }] } },
    { name: 'ec2-v2', service: 'ec2', op: 'describe_instances', signature_version: 'v2', params: { InstanceIds: ['i-1'] } },
    { name: 'iam', service: 'iam', op: 'create_user', params: { UserName: 'bob', Path: '/x/' } },
    { name: 'sts', service: 'sts', op: 'get_caller_identity' },
  ], undefined, python);
  await checkQueryApi(reqs.get('ec2')!, 'ec2');
  const v2 = reqs.get('ec2-v2')!;
  assert.equal((await authenticate(v2, { service: 'ec2', now: new Date(), store: store() })).method, 'sigv2-query');
  await checkQueryApi(v2, 'ec2');
  await checkQueryApi(reqs.get('iam')!, 'iam');
  await checkQueryApi(reqs.get('sts')!, 'sts');
});

test('botocore with session credentials: X-Amz-Security-Token header checked', async () => {
  const reqs = botocoreSign([{ name: 'sts', service: 'sts', op: 'get_caller_identity' }, { name: 'v2', service: 'ec2', op: 'describe_regions', signature_version: 'v2' }], 'IQoJb3JpZ2luX2VjEXAMPLE+/=');
  for (const [name, req] of reqs) {
    const service = name === 'sts' ? 'sts' : 'ec2';
    const r = await authenticate(req, { service, now: new Date(), store: store({ sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE+/=' }) });
    assert.equal(r.identity?.sessionToken, 'IQoJb3JpZ2luX2VjEXAMPLE+/=', name);
    await expectKind(authenticate(req, { service, now: new Date(), store: store({ sessionToken: 'x' }) }), 'InvalidToken');
  }
});
