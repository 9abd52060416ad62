import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AwsError } from '../shared/index.js';
import { dryRun, takesDryRun, idempotencyKey, checkIdempotency, idempotencyTokenMember, ec2Error, EC2_ERRORS, parseQueryRequest } from './index.js';

test('dryRun: DryRun=true → DryRunOperation 412; false/absent → nothing', () => {
  const { input } = parseQueryRequest('ec2', new URLSearchParams('Action=TerminateInstances&InstanceId.1=i-1&DryRun=true'));
  assert.throws(() => dryRun(input), (e: unknown) => e instanceof AwsError && e.code === 'DryRunOperation' && e.status === 412 && e.message === 'Request would have succeeded, but DryRun flag is set.');
  dryRun({ DryRun: false });
  dryRun({});
  assert.ok(takesDryRun('ec2', 'RunInstances'));
  assert.ok(!takesDryRun('iam', 'CreateUser'));
});

test('idempotency: same token + same params → replay; different params → IdempotentParameterMismatch', () => {
  assert.equal(idempotencyTokenMember('ec2', 'RunInstances'), 'ClientToken');
  assert.equal(idempotencyTokenMember('ec2', 'DescribeInstances'), undefined);
  const p = (qs: string) => parseQueryRequest('ec2', new URLSearchParams(qs)).input;
  const a = idempotencyKey('ec2', 'RunInstances', p('Action=RunInstances&ImageId=emi-1&MinCount=1&MaxCount=1&ClientToken=t1'), '000000000001')!;
  const a2 = idempotencyKey('ec2', 'RunInstances', p('Action=RunInstances&MaxCount=1&ClientToken=t1&MinCount=1&ImageId=emi-1&DryRun=false'), '000000000001')!;
  const b = idempotencyKey('ec2', 'RunInstances', p('Action=RunInstances&ImageId=emi-2&MinCount=1&MaxCount=1&ClientToken=t1'), '000000000001')!;
  const other = idempotencyKey('ec2', 'RunInstances', p('Action=RunInstances&ImageId=emi-1&MinCount=1&MaxCount=1&ClientToken=t1'), '000000000002')!;
  assert.equal(a.key, a2.key);
  assert.equal(a.fingerprint, a2.fingerprint);
  assert.equal(a.key, b.key);
  assert.notEqual(a.fingerprint, b.fingerprint);
  assert.notEqual(a.key, other.key);
  assert.equal(idempotencyKey('ec2', 'RunInstances', p('Action=RunInstances&ImageId=emi-1&MinCount=1&MaxCount=1'), '1'), undefined);
  const store = new Map<string, { fingerprint: string; result: string }>();
  assert.equal(checkIdempotency(store.get(a.key), a).replay, undefined);
  store.set(a.key, { fingerprint: a.fingerprint, result: 'r-1' });
  assert.equal(checkIdempotency(store.get(a2.key), a2).replay, 'r-1');
  assert.throws(() => checkIdempotency(store.get(b.key), b), (e: unknown) => e instanceof AwsError && e.code === 'IdempotentParameterMismatch' && e.status === 400);
});

test('ec2Error: catalogue statuses and templates', () => {
  assert.equal(ec2Error('AuthFailure').status, 401);
  assert.equal(ec2Error('UnauthorizedOperation').status, 403);
  assert.equal(ec2Error('DryRunOperation').status, 412);
  assert.equal(ec2Error('RequestLimitExceeded').status, 503);
  assert.equal(ec2Error('InsufficientInstanceCapacity').status, 500);
  assert.equal(ec2Error('InternalError').fault, 'Receiver');
  assert.equal(ec2Error('InvalidInstanceID.NotFound', { id: 'i-12345678' }).message, "The instance ID 'i-12345678' does not exist");
  assert.equal(ec2Error('InvalidKeyPair.Duplicate', "The keypair 'k' already exists.").message, "The keypair 'k' already exists.");
  assert.equal(ec2Error('Custom.Code', 'x').status, 400);
  for (const [code, def] of Object.entries(EC2_ERRORS)) {
    assert.ok([400, 401, 403, 412, 500, 503].includes(def.status), code);
    assert.ok(def.message.length > 0, code);
  }
});
