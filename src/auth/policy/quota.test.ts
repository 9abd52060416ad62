import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateQuota, quotaLimits } from './quota.js';
import { parsePolicy } from './parse.js';
import { env, userPrincipal } from './testing.js';

const limit = (action: string, key: string, n: string, op = 'NumericLessThanEquals', extra: Record<string, unknown> = {}) =>
  parsePolicy(
    JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: `${key}-${n}`, Effect: 'Limit', Action: action, Resource: '*', Condition: { [op]: { [key]: n }, ...extra } }] }),
    { name: `quota ${key}` },
  );

const alice = userPrincipal('alice');

test('a Limit of 5 instances: the 5th fits, the 6th is exceeded and named', () => {
  const policies = [limit('ec2:RunInstances', 'ec2:quota-vminstancenumber', '5')];
  const base = { policies, principal: alice, env: env(), action: 'ec2:RunInstances' };
  assert.equal(evaluateQuota({ ...base, usage: { 'ec2:quota-vminstancenumber': 5 } }).ok, true);
  const r = evaluateQuota({ ...base, usage: { 'ec2:quota-vminstancenumber': 6 } });
  assert.equal(r.ok, false);
  assert.equal(r.exceeded.length, 1);
  assert.equal(r.exceeded[0]!.key, 'ec2:quota-vminstancenumber');
  assert.equal(r.exceeded[0]!.limit, 5);
  assert.equal(r.exceeded[0]!.requested, 6);
  assert.equal(r.exceeded[0]!.statement.policy, 'quota ec2:quota-vminstancenumber');
});

test('the tightest limit wins; NumericLessThan is exclusive; unrelated actions and keys are free', () => {
  const policies = [
    limit('iam:CreateUser', 'iam:quota-usernumber', '10'),
    limit('iam:*', 'iam:quota-usernumber', '2'),
    limit('iam:CreateGroup', 'iam:quota-groupnumber', '3', 'NumericLessThan'),
  ];
  const base = { policies, principal: alice, env: env() };
  assert.equal(quotaLimits({ ...base, action: 'iam:CreateUser' })['iam:quota-usernumber']!.limit, 2);
  assert.equal(evaluateQuota({ ...base, action: 'iam:CreateUser', usage: { 'iam:quota-usernumber': 3 } }).ok, false);
  assert.equal(evaluateQuota({ ...base, action: 'iam:CreateGroup', usage: { 'iam:quota-groupnumber': 2 } }).ok, true);
  assert.equal(evaluateQuota({ ...base, action: 'iam:CreateGroup', usage: { 'iam:quota-groupnumber': 3 } }).ok, false);
  assert.equal(evaluateQuota({ ...base, action: 'ec2:RunInstances', usage: { 'ec2:quota-vminstancenumber': 1000 } }).ok, true);
});

test('several keys at once (cores, memory) and case-insensitive keys', () => {
  const p = parsePolicy(
    JSON.stringify({
      Statement: [
        { Effect: 'Limit', Action: 'ec2:RunInstances', Resource: '*', Condition: { NumericLessThanEquals: { 'ec2:quota-cputotalsize': '4', 'EC2:Quota-MemoryTotalSize': '2048' } } },
      ],
    }),
  );
  const r = evaluateQuota({ policies: [p], principal: alice, env: env(), action: 'ec2:runinstances', usage: { 'ec2:quota-cputotalsize': 4, 'ec2:quota-memorytotalsize': 4096 } });
  assert.deepEqual(r.exceeded.map((e) => [e.key, e.limit, e.requested]), [['EC2:Quota-MemoryTotalSize', 2048, 4096]]);
});

test('other conditions decide whether a Limit statement applies; cloud admin is exempt unless asked', () => {
  const p = limit('ec2:RunInstances', 'ec2:quota-vminstancenumber', '1', 'NumericLessThanEquals', { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } });
  const usage = { 'ec2:quota-vminstancenumber': 2 };
  assert.equal(evaluateQuota({ policies: [p], principal: alice, env: env({ sourceIp: '10.1.1.1' }), action: 'ec2:RunInstances', usage }).ok, false);
  assert.equal(evaluateQuota({ policies: [p], principal: alice, env: env({ sourceIp: '127.0.0.1' }), action: 'ec2:RunInstances', usage }).ok, true);
  const cloudAdmin = { ...alice, isCloudAdmin: true };
  const q = limit('ec2:RunInstances', 'ec2:quota-vminstancenumber', '1');
  assert.equal(evaluateQuota({ policies: [q], principal: cloudAdmin, env: env(), action: 'ec2:RunInstances', usage }).ok, true);
  assert.equal(evaluateQuota({ policies: [q], principal: cloudAdmin, env: env(), action: 'ec2:RunInstances', usage, enforceOnCloudAdmin: true }).ok, false);
});
