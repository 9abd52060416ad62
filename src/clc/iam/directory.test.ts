import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestDatabase } from '../../db/index.js';
import { IamDirectory, IamStore, iamMigrations, iamPolicyMigrations, paginate, hashPassword, verifyPassword } from './index.js';

const code = (c: string) => (e: Error & { code?: string }) => {
  assert.equal(e.code, c, e.message);
  return true;
};
const allowS3 = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] });
const trust = (acct: string) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: acct }, Action: 'sts:AssumeRole' }] });

async function setup() {
  const d = await openTestDatabase([...iamMigrations, ...iamPolicyMigrations]);
  const store = new IamStore(d.db);
  const dir = new IamDirectory(d.db);
  const { account } = await store.createAccount('acme');
  const changes: string[] = [];
  dir.onChange((a) => changes.push(a));
  return { d, store, dir, acct: account.accountId, changes };
}

test('groups, membership and group policies', async () => {
  const { d, store, dir, acct, changes } = await setup();
  try {
    await store.createUser(acct, 'alice');
    await store.createUser(acct, 'bob');
    const g = await dir.createGroup(acct, 'devs', '/eng/');
    assert.equal(g.arn, `arn:aws:iam::${acct}:group/eng/devs`);
    assert.match(g.groupId, /^AGPA/);
    await assert.rejects(dir.createGroup(acct, 'DEVS'), code('EntityAlreadyExists'));
    await assert.rejects(dir.createGroup(acct, 'bad name'), code('ValidationError'));
    await dir.addUserToGroup(acct, 'devs', 'alice');
    await dir.addUserToGroup(acct, 'devs', 'alice'); // idempotent
    await assert.rejects(dir.addUserToGroup(acct, 'devs', 'nobody'), code('NoSuchEntity'));
    assert.deepEqual((await dir.groupMembers(acct, 'devs')).users.map((u) => u.name), ['alice']);
    assert.deepEqual((await dir.groupsForUser(acct, 'alice')).map((x) => x.name), ['devs']);
    assert.ok(changes.includes(acct), 'listeners told');
    await dir.putInlinePolicy(acct, 'group', 'devs', 'S3', allowS3);
    assert.deepEqual(await dir.listInlinePolicies(acct, 'group', 'devs'), ['S3']);
    const alice = await store.getUser(acct, 'alice');
    assert.deepEqual((await dir.userPolicyDocuments(alice.userId)).map((x) => x.document), [allowS3]);
    await assert.rejects(dir.deleteGroup(acct, 'devs'), code('DeleteConflict'));
    await assert.rejects(dir.assertUserDeletable(acct, 'alice'), code('DeleteConflict'));
    await dir.removeUserFromGroup(acct, 'devs', 'alice');
    await assert.rejects(dir.removeUserFromGroup(acct, 'devs', 'alice'), code('NoSuchEntity'));
    await assert.rejects(dir.deleteGroup(acct, 'devs'), code('DeleteConflict'), 'still has a policy');
    await dir.deleteInlinePolicy(acct, 'group', 'devs', 'S3');
    const renamed = await dir.updateGroup(acct, 'devs', 'developers', '/');
    assert.equal(renamed.name, 'developers');
    await dir.deleteGroup(acct, 'developers');
    assert.deepEqual(await dir.listGroups(acct), []);
  } finally {
    await d.close();
  }
});

test('inline policies: validation, size limits, replace and delete', async () => {
  const { d, store, dir, acct } = await setup();
  try {
    await store.createUser(acct, 'alice');
    await assert.rejects(dir.putInlinePolicy(acct, 'user', 'alice', 'p', '{bad'), code('MalformedPolicyDocument'));
    await assert.rejects(dir.putInlinePolicy(acct, 'user', 'alice', 'p', JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] })), code('MalformedPolicyDocument'), 'IAM requires Version 2012-10-17');
    await dir.putInlinePolicy(acct, 'user', 'alice', 'p', allowS3);
    const big = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: Array.from({ length: 200 }, (_, i) => `s3:Action${i}`), Resource: '*' }] });
    await assert.rejects(dir.putInlinePolicy(acct, 'user', 'alice', 'big', big), code('LimitExceeded'));
    const deny = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 's3:*', Resource: '*' }] });
    await dir.putInlinePolicy(acct, 'user', 'alice', 'p', deny);
    assert.equal((await dir.getInlinePolicy(acct, 'user', 'alice', 'p')).document, deny);
    await assert.rejects(dir.getInlinePolicy(acct, 'user', 'alice', 'nope'), code('NoSuchEntity'));
    // Eucalyptus account policies may hold Limit statements and need no Version
    await dir.putInlinePolicy(acct, 'account', acct, 'quota', JSON.stringify({ Statement: [{ Effect: 'Limit', Action: 'iam:CreateUser', Resource: '*', Condition: { NumericLessThanEquals: { 'iam:quota-usernumber': '2' } } }] }));
    assert.equal((await dir.accountPolicyDocuments(acct)).length, 1);
    await dir.deleteInlinePolicy(acct, 'user', 'alice', 'p');
    await assert.rejects(dir.deleteInlinePolicy(acct, 'user', 'alice', 'p'), code('NoSuchEntity'));
  } finally {
    await d.close();
  }
});

test('managed policies: versions, default, attachments, entities, delete rules', async () => {
  const { d, store, dir, acct } = await setup();
  try {
    await store.createUser(acct, 'alice');
    await dir.createGroup(acct, 'devs');
    await dir.createRole(acct, 'worker', trust(acct));
    const p = await dir.createPolicy(acct, 'S3Full', allowS3, { path: '/team/', description: 'all of s3' });
    assert.equal(p.arn, `arn:aws:iam::${acct}:policy/team/S3Full`);
    assert.equal(p.defaultVersionId, 'v1');
    await assert.rejects(dir.createPolicy(acct, 's3full', allowS3), code('EntityAlreadyExists'));
    await assert.rejects(dir.getPolicy(acct, `arn:aws:iam::${acct}:policy/S3Full`), code('NoSuchEntity'), 'path is part of the ARN');
    await assert.rejects(dir.getPolicy(acct, 'not-an-arn'), code('InvalidInput'));
    for (let i = 2; i <= 5; i++) await dir.createPolicyVersion(acct, p.arn, allowS3, i === 3);
    await assert.rejects(dir.createPolicyVersion(acct, p.arn, allowS3), code('LimitExceeded'));
    assert.equal((await dir.getPolicy(acct, p.arn)).defaultVersionId, 'v3');
    assert.deepEqual((await dir.listPolicyVersions(acct, p.arn)).map((v) => `${v.versionId}${v.isDefault ? '*' : ''}`), ['v5', 'v4', 'v3*', 'v2', 'v1']);
    await assert.rejects(dir.deletePolicyVersion(acct, p.arn, 'v3'), code('DeleteConflict'));
    await dir.deletePolicyVersion(acct, p.arn, 'v1');
    await dir.setDefaultPolicyVersion(acct, p.arn, 'v5');
    await assert.rejects(dir.setDefaultPolicyVersion(acct, p.arn, 'v1'), code('NoSuchEntity'));
    await dir.attachPolicy(acct, 'user', 'alice', p.arn);
    await dir.attachPolicy(acct, 'group', 'devs', p.arn);
    await dir.attachPolicy(acct, 'role', 'worker', p.arn);
    assert.equal((await dir.getPolicy(acct, p.arn)).attachmentCount, 3);
    const ents = await dir.listEntitiesForPolicy(acct, p.arn);
    assert.deepEqual([ents.users.map((x) => x.name), ents.groups.map((x) => x.name), ents.roles.map((x) => x.name)], [['alice'], ['devs'], ['worker']]);
    assert.deepEqual((await dir.listEntitiesForPolicy(acct, p.arn, 'Role')).users, []);
    assert.deepEqual((await dir.listAttachedPolicies(acct, 'user', 'alice')).map((x) => x.arn), [p.arn]);
    assert.deepEqual((await dir.listPolicies(acct, { onlyAttached: true })).map((x) => x.name), ['S3Full']);
    await assert.rejects(dir.deletePolicy(acct, p.arn), code('DeleteConflict'));
    for (const [k, n] of [['user', 'alice'], ['group', 'devs'], ['role', 'worker']] as const) await dir.detachPolicy(acct, k, n, p.arn);
    await assert.rejects(dir.detachPolicy(acct, 'user', 'alice', p.arn), code('NoSuchEntity'));
    await assert.rejects(dir.deletePolicy(acct, p.arn), code('DeleteConflict'), 'non-default versions first');
    for (const v of ['v2', 'v3', 'v4']) await dir.deletePolicyVersion(acct, p.arn, v);
    await dir.deletePolicy(acct, p.arn);
    assert.deepEqual(await dir.listPolicies(acct, { scope: 'Local' }), []);

    // AWS managed policies: listed, readable, attachable, immutable
    const admin = 'arn:aws:iam::aws:policy/AdministratorAccess';
    assert.ok((await dir.listPolicies(acct, { scope: 'AWS' })).some((x) => x.arn === admin));
    assert.equal((await dir.getPolicyVersion(acct, admin, 'v1')).isDefault, true);
    await assert.rejects(dir.getPolicy(acct, 'arn:aws:iam::aws:policy/NoSuchPolicy'), code('NoSuchEntity'));
    await assert.rejects(dir.deletePolicy(acct, admin), code('AccessDenied'));
    await assert.rejects(dir.createPolicyVersion(acct, admin, allowS3), code('AccessDenied'));
    await dir.attachPolicy(acct, 'user', 'alice', admin);
    assert.equal((await dir.getPolicy(acct, admin)).attachmentCount, 1);
    assert.deepEqual((await dir.listAttachedPolicies(acct, 'user', 'alice')).map((x) => x.arn), [admin]);
    assert.deepEqual((await dir.listEntitiesForPolicy(acct, admin)).users.map((x) => x.name), ['alice']);
    const alice = await store.getUser(acct, 'alice');
    assert.ok((await dir.userPolicyDocuments(alice.userId)).some((x) => x.name === admin));
    await assert.rejects(dir.assertUserDeletable(acct, 'alice'), code('DeleteConflict'));
    await dir.detachPolicy(acct, 'user', 'alice', admin);
    await dir.assertUserDeletable(acct, 'alice');
  } finally {
    await d.close();
  }
});

test('roles, trust policies, instance profiles, tags', async () => {
  const { d, dir, acct } = await setup();
  try {
    await assert.rejects(dir.createRole(acct, 'r', allowS3), code('MalformedPolicyDocument'), 'trust policy needs a Principal and no Resource');
    const r = await dir.createRole(acct, 'worker', trust(acct), { path: '/svc/', description: 'd', maxSessionDuration: 7200 });
    assert.equal(r.arn, `arn:aws:iam::${acct}:role/svc/worker`);
    assert.match(r.roleId, /^AROA/);
    assert.equal((await dir.getRoleByArn(r.arn))?.roleId, r.roleId);
    assert.equal(await dir.getRoleByArn(`arn:aws:iam::${acct}:role/worker`), undefined);
    await assert.rejects(dir.createRole(acct, 'r2', trust(acct), { maxSessionDuration: 100 }), code('ValidationError'));
    await dir.updateAssumeRolePolicy(acct, 'worker', trust('111122223333'));
    assert.equal((await dir.getRole(acct, 'worker')).trustPolicy, trust('111122223333'));
    const ip = await dir.createInstanceProfile(acct, 'web');
    await dir.addRoleToInstanceProfile(acct, 'web', 'worker');
    await assert.rejects(dir.addRoleToInstanceProfile(acct, 'web', 'worker'), code('EntityAlreadyExists'));
    assert.equal((await dir.getInstanceProfile(acct, 'web')).roles[0]?.name, 'worker');
    assert.deepEqual((await dir.listInstanceProfilesForRole(acct, 'worker')).map((x) => x.arn), [ip.arn]);
    await assert.rejects(dir.deleteRole(acct, 'worker'), code('DeleteConflict'));
    await assert.rejects(dir.deleteInstanceProfile(acct, 'web'), code('DeleteConflict'));
    await dir.removeRoleFromInstanceProfile(acct, 'web', 'worker');
    await dir.deleteInstanceProfile(acct, 'web');
    await dir.tag(acct, 'role', 'worker', [{ Key: 'team', Value: 'a' }, { Key: 'env', Value: 'prod' }]);
    await dir.tag(acct, 'role', 'worker', [{ Key: 'TEAM', Value: 'b' }]);
    assert.deepEqual(await dir.listTags(acct, 'role', 'worker'), [{ Key: 'env', Value: 'prod' }, { Key: 'TEAM', Value: 'b' }]);
    await dir.untag(acct, 'role', 'worker', ['team']);
    assert.deepEqual(await dir.listTags(acct, 'role', 'worker'), [{ Key: 'env', Value: 'prod' }]);
    await assert.rejects(dir.tag(acct, 'role', 'worker', [{ Key: 'aws:x', Value: '' }]), code('InvalidInput'));
    await dir.deleteRole(acct, 'worker');
  } finally {
    await d.close();
  }
});

test('login profiles with scrypt hashes; account aliases; summary; pagination; account deletion cascades', async () => {
  const { d, store, dir, acct } = await setup();
  try {
    await store.createUser(acct, 'alice');
    await assert.rejects(dir.createLoginProfile(acct, 'alice', '123'), code('PasswordPolicyViolation'));
    const lp = await dir.createLoginProfile(acct, 'alice', 'correct horse', true);
    assert.equal(lp.passwordResetRequired, true);
    await assert.rejects(dir.createLoginProfile(acct, 'alice', 'another one'), code('EntityAlreadyExists'));
    assert.equal(await dir.checkLoginPassword(acct, 'alice', 'correct horse'), true);
    assert.equal(await dir.checkLoginPassword(acct, 'alice', 'wrong horse'), false);
    const stored = await d.db.selectFrom('iam_login_profiles').select('password_hash').executeTakeFirstOrThrow();
    assert.match(stored.password_hash, /^scrypt\$16384\$8\$1\$/);
    assert.ok(!stored.password_hash.includes('correct horse'));
    await dir.updateLoginProfile(acct, 'alice', 'battery staple', false);
    assert.equal(await dir.checkLoginPassword(acct, 'alice', 'battery staple'), true);
    await dir.deleteLoginProfile(acct, 'alice');
    await assert.rejects(dir.getLoginProfile(acct, 'alice'), code('NoSuchEntity'));
    assert.notEqual(await hashPassword('x'), await hashPassword('x'), 'salted');
    assert.equal(await verifyPassword('x', 'md5$nope'), false);

    assert.deepEqual(await dir.listAccountAliases(acct), ['acme']);
    await dir.createAccountAlias(acct, 'acme-corp');
    assert.deepEqual(await dir.listAccountAliases(acct), ['acme-corp']);
    assert.equal((await store.findAccount('acme-corp'))?.accountId, acct);
    await store.createAccount('other');
    await assert.rejects(dir.createAccountAlias(acct, 'other'), code('EntityAlreadyExists'));
    await assert.rejects(dir.createAccountAlias(acct, 'Bad_Alias'), code('ValidationError'));
    await assert.rejects(dir.deleteAccountAlias(acct, 'nope'), code('NoSuchEntity'));
    await dir.deleteAccountAlias(acct, 'acme-corp');
    assert.deepEqual(await dir.listAccountAliases(acct), []);

    const s = await dir.accountSummary(acct);
    assert.equal(s.Users, 2, 'admin + alice');
    assert.equal(s.UsersQuota, 5000);

    const items = Array.from({ length: 7 }, (_, i) => i);
    const p1 = paginate(items, undefined, 3);
    assert.deepEqual([p1.items, p1.isTruncated], [[0, 1, 2], true]);
    const p2 = paginate(items, p1.marker, 3);
    const p3 = paginate(items, p2.marker, 3);
    assert.deepEqual([p2.items, p3.items, p3.isTruncated, p3.marker], [[3, 4, 5], [6], false, undefined]);
    assert.throws(() => paginate(items, 'garbage', 3), code('ValidationError'));

    await dir.createGroup(acct, 'g');
    await dir.putInlinePolicy(acct, 'group', 'g', 'p', allowS3);
    await store.deleteAccount(acct, true);
    assert.equal((await d.db.selectFrom('iam_groups').selectAll().execute()).length, 0, 'cascade');
    assert.equal((await d.db.selectFrom('iam_inline_policies').selectAll().execute()).length, 0, 'cascade');
  } finally {
    await d.close();
  }
});
