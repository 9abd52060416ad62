import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestDatabase } from '../../db/index.js';
import { IamStore, iamMigrations } from './index.js';

const code = (c: string) => (e: Error & { code?: string }) => e.code === c;

test('accounts, users and access keys: the Eucalyptus rules', async () => {
  const d = await openTestDatabase(iamMigrations);
  try {
    const s = new IamStore(d.db);
    const boot = await s.bootstrap();
    assert.equal(boot.account.name, 'eucalyptus');
    assert.match(boot.account.accountId, /^[1-9]\d{11}$/);
    assert.match(boot.key.accessKeyId, /^AKIA[A-Z2-7]{16}$/);
    assert.equal(boot.key.secretAccessKey.length, 40);
    const again = await s.bootstrap();
    assert.equal(again.key.accessKeyId, boot.key.accessKeyId, 'bootstrap is idempotent');

    const admin = await s.lookup(boot.key.accessKeyId);
    assert.ok(admin?.principal.isCloudAdmin && admin.principal.isAccountAdmin);

    const { account: acme } = await s.createAccount('acme');
    await assert.rejects(s.createAccount('acme'), code('EntityAlreadyExists'));
    await assert.rejects(s.createAccount('Bad_Name'), code('ValidationError'));
    const alice = await s.createUser(acme.accountId, 'alice', '/dev/');
    assert.equal(alice.arn, `arn:aws:iam::${acme.accountId}:user/dev/alice`);
    await assert.rejects(s.createUser(acme.accountId, 'ALICE'), code('EntityAlreadyExists'));
    await assert.rejects(s.createUser(acme.accountId, 'bad name'), code('ValidationError'));

    // users of one account are invisible to another
    await assert.rejects(s.getUser(boot.account.accountId, 'alice'), code('NoSuchEntity'));
    assert.deepEqual((await s.listUsers(acme.accountId)).map((u) => u.name), ['admin', 'alice']);
    assert.deepEqual((await s.listUsers(acme.accountId, '/dev/')).map((u) => u.name), ['alice']);

    const k1 = await s.createAccessKey(acme.accountId, 'alice');
    await s.createAccessKey(acme.accountId, 'alice');
    await assert.rejects(s.createAccessKey(acme.accountId, 'alice'), code('LimitExceeded'));
    const who = await s.lookup(k1.accessKeyId);
    assert.equal(who?.principal.userName, 'alice');
    assert.equal(who?.principal.isAccountAdmin, false);
    assert.equal(who?.principal.isCloudAdmin, false);

    await s.updateAccessKey(acme.accountId, 'alice', k1.accessKeyId, 'Inactive');
    assert.equal(await s.lookup(k1.accessKeyId), null, 'an inactive key authenticates nothing');
    await s.updateAccessKey(acme.accountId, 'alice', k1.accessKeyId, 'Active');
    assert.ok(await s.lookup(k1.accessKeyId));
    await assert.rejects(s.deleteUser(acme.accountId, 'alice'), code('DeleteConflict'));
    for (const k of await s.listAccessKeys(acme.accountId, 'alice')) await s.deleteAccessKey(acme.accountId, 'alice', k.accessKeyId);
    assert.equal(await s.lookup(k1.accessKeyId), null, 'a deleted key authenticates nothing');
    await assert.rejects(s.deleteAccessKey(acme.accountId, 'alice', k1.accessKeyId), code('NoSuchEntity'));
    await assert.rejects(s.deleteAccount('acme'), code('DeleteConflict'));
    await s.deleteUser(acme.accountId, 'alice');
    await assert.rejects(s.deleteUser(acme.accountId, 'admin'), code('DeleteConflict'));
    await s.deleteAccount('acme');
    assert.equal(await s.findAccount('acme'), undefined);
    await assert.rejects(s.deleteAccount('eucalyptus'), code('DeleteConflict'));
  } finally {
    await d.close();
  }
});
