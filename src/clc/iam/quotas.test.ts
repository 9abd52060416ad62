import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestDatabase } from '../../db/index.js';
import { parsePolicy } from '../../auth/policy/index.js';
import { IamDirectory, IamStore, iamMigrations, iamPolicyMigrations, parseQuotaArgs, quotaDocument, readQuotaDocument, setAccountQuotas, getAccountQuotas, describeQuotas } from './index.js';

test('quota documents: aliases and keys, one Limit statement per action, round trip', () => {
  const changes = parseQuotaArgs(['users=2', 'iam:quota-groupnumber=3', 'instances=5', 'cores=8', 'memory=none']);
  assert.deepEqual(changes, { 'iam:quota-usernumber': 2, 'iam:quota-groupnumber': 3, 'ec2:quota-vminstancenumber': 5, 'ec2:quota-cputotalsize': 8, 'ec2:quota-memorytotalsize': null });
  const doc = quotaDocument({ 'iam:quota-usernumber': 2, 'ec2:quota-vminstancenumber': 5, 'ec2:quota-cputotalsize': 8 });
  const p = parsePolicy(doc);
  assert.equal(p.statements.length, 2, 'RunInstances keys share one statement');
  assert.ok(p.statements.every((s) => s.effect === 'Limit'));
  assert.deepEqual(readQuotaDocument(doc), { 'iam:quota-usernumber': 2, 'ec2:quota-vminstancenumber': 5, 'ec2:quota-cputotalsize': 8 });
  assert.throws(() => parseQuotaArgs(['nope=1']), /Unknown quota/);
  assert.throws(() => parseQuotaArgs(['users=-1']), /whole number/);
  assert.throws(() => parseQuotaArgs(['users']), /NAME=VALUE/);
});

test('setAccountQuotas merges, removes, and clears the account policy', async () => {
  const d = await openTestDatabase([...iamMigrations, ...iamPolicyMigrations]);
  try {
    const store = new IamStore(d.db);
    const dir = new IamDirectory(d.db);
    const { account } = await store.createAccount('acme');
    assert.deepEqual(await setAccountQuotas(dir, account.accountId, { 'iam:quota-usernumber': 2 }), { 'iam:quota-usernumber': 2 });
    await setAccountQuotas(dir, account.accountId, { 'ec2:quota-vminstancenumber': 4 });
    assert.deepEqual(await getAccountQuotas(dir, account.accountId), { 'iam:quota-usernumber': 2, 'ec2:quota-vminstancenumber': 4 });
    assert.match(describeQuotas(await getAccountQuotas(dir, account.accountId)).join('\n'), /users +2/);
    await setAccountQuotas(dir, account.accountId, { 'iam:quota-usernumber': null, 'ec2:quota-vminstancenumber': null });
    assert.deepEqual(await getAccountQuotas(dir, account.accountId), {});
    assert.deepEqual(await dir.accountPolicyDocuments(account.accountId), []);
  } finally {
    await d.close();
  }
});
