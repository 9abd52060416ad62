/**
 * @module clc/iam/directory
 * IAM beyond users and access keys: groups and membership, inline policies (users, groups, roles, and Eucalyptus
 * account policies), customer managed policies with versions and attachments, roles with trust policies, instance
 * profiles, login profiles (scrypt), tags, account aliases, the account summary. Every method takes the account id.
 * Policy documents are validated by the policy engine with AWS's `MalformedPolicyDocument` messages.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { AwsError, iamUniqueId } from '../../shared/index.js';
import { parsePolicy, type PolicyKind } from '../../auth/policy/index.js';
import type { IamCoreTables } from './schema.js';
import type { EntityKind, IamPolicyTables, PolicyOwnerKind, TaggedKind } from './policy-schema.js';
import { ADMIN_USER, CLOUD_ADMIN_ACCOUNT, iamError, validatePath } from './store.js';
import { AWS_MANAGED_POLICIES, awsManagedPolicy, isAwsPolicyArn, type AwsManagedPolicy } from './aws-managed.js';

export type IamDb = Kysely<IamCoreTables & IamPolicyTables>;

export interface Group { groupId: string; accountId: string; name: string; path: string; arn: string; createdAt: Date }
export interface Role {
  roleId: string; accountId: string; name: string; path: string; arn: string; trustPolicy: string;
  description?: string; maxSessionDuration: number; createdAt: Date;
}
export interface ManagedPolicy {
  policyId: string; accountId: string; name: string; path: string; arn: string; description?: string;
  defaultVersionId: string; attachmentCount: number; createdAt: Date; updatedAt: Date;
}
export interface PolicyVersion { versionId: string; document: string; isDefault: boolean; createdAt: Date }
export interface InstanceProfile { profileId: string; accountId: string; name: string; path: string; arn: string; createdAt: Date; roles: Role[] }
export interface LoginProfile { userName: string; createdAt: Date; passwordResetRequired: boolean }
export interface Tag { Key: string; Value: string }
export interface InlinePolicy { name: string; document: string }
export interface EntityRef { kind: EntityKind; id: string; name: string }
export interface Page<T> { items: T[]; isTruncated: boolean; marker?: string }

/** AWS's limits (IAM quotas), reported by GetAccountSummary and enforced here. */
export const IAM_LIMITS = {
  Users: 5000, Groups: 300, Roles: 1000, Policies: 1500, InstanceProfiles: 1000,
  GroupsPerUser: 10, AttachedPoliciesPerUser: 10, AttachedPoliciesPerGroup: 10, AttachedPoliciesPerRole: 10,
  VersionsPerPolicy: 5, PolicySize: 6144, UserPolicySize: 2048, GroupPolicySize: 5120, RolePolicySize: 10240,
  TagsPerEntity: 50, AccessKeysPerUser: 2, RolesPerInstanceProfile: 1, AccountPolicySize: 16384,
} as const;

const NAME = /^[\w+=,.@-]+$/;
const POLICY_ARN = /^arn:aws:iam::(\d{12}|aws):policy(\/(?:[\x21-\x7e]*\/)?)([\w+=,.@-]+)$/;
const DEFAULT_ROLE_SESSION = 3600;

function validateName(field: string, v: unknown, max: number): string {
  if (typeof v !== 'string' || v.length < 1 || v.length > max || !NAME.test(v)) {
    throw iamError('ValidationError', `1 validation error detected: Value '${String(v)}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+`);
  }
  return v;
}

const noSuch = (msg: string): AwsError => iamError('NoSuchEntity', msg, 404);
const exists = (msg: string): AwsError => iamError('EntityAlreadyExists', msg, 409);
const conflict = (msg: string): AwsError => iamError('DeleteConflict', msg, 409);
const limit = (msg: string): AwsError => iamError('LimitExceeded', msg, 409);

/** Characters of a document that count against IAM's size limits (whitespace does not). */
export function policySize(doc: string): number {
  return doc.replace(/\s/g, '').length;
}

/** Validates a document for its use; returns it unchanged. */
export function checkDocument(doc: unknown, kind: PolicyKind = 'identity', requireVersion = false): string {
  if (typeof doc !== 'string' || doc.length === 0) throw iamError('ValidationError', "1 validation error detected: Value at 'policyDocument' failed to satisfy constraint: Member must not be null");
  parsePolicy(doc, { kind, requireVersion });
  return doc;
}

/** Opaque AWS-style markers over a sorted list. */
export function paginate<T>(items: T[], marker?: string, maxItems?: number): Page<T> {
  let start = 0;
  if (marker !== undefined && marker !== '') {
    const m = /^o:(\d+)$/.exec(Buffer.from(marker, 'base64url').toString());
    if (!m) throw iamError('ValidationError', 'Invalid Marker.');
    start = Number(m[1]);
  }
  const max = maxItems ?? 100;
  if (!Number.isInteger(max) || max < 1 || max > 1000) throw iamError('ValidationError', `1 validation error detected: Value '${max}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000`);
  const slice = items.slice(start, start + max);
  const next = start + slice.length;
  return next < items.length ? { items: slice, isTruncated: true, marker: Buffer.from(`o:${next}`).toString('base64url') } : { items: slice, isTruncated: false };
}

const scrypt = (pw: string, salt: Buffer, len: number): Promise<Buffer> =>
  new Promise((resolve, reject) => scryptCb(pw, salt, len, { N: 16384, r: 8, p: 1 }, (e, k) => (e ? reject(e) : resolve(k))));

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, 32);
  return `scrypt$16384$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [alg, , , , salt, hash] = stored.split('$');
  if (alg !== 'scrypt' || !salt || !hash) return false;
  const want = Buffer.from(hash, 'base64');
  const got = await scrypt(password, Buffer.from(salt, 'base64'), want.length);
  return timingSafeEqual(want, got);
}

function checkPassword(pw: unknown): string {
  if (typeof pw !== 'string' || pw.length < 6 || pw.length > 128) {
    throw iamError('PasswordPolicyViolation', 'Password should have a minimum length of 6');
  }
  return pw;
}

export class IamDirectory {
  private readonly listeners = new Set<(accountId: string) => void>();

  constructor(private readonly db: IamDb) {}

  /** Called with the account whose policies, groups, memberships, roles or attachments changed. */
  onChange(fn: (accountId: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  private changed(accountId: string): void {
    for (const fn of this.listeners) fn(accountId);
  }

  // ---- helpers ------------------------------------------------------------------------------------------------

  private async user(accountId: string, name: string): Promise<{ user_id: string; name: string; path: string }> {
    const r = await this.db.selectFrom('users').select(['user_id', 'name', 'path']).where('account_id', '=', accountId).where('name_lc', '=', String(name).toLowerCase()).executeTakeFirst();
    if (!r) throw noSuch(`The user with name ${name} cannot be found.`);
    return r;
  }

  private toGroup(r: IamPolicyTables['iam_groups']): Group {
    return { groupId: r.group_id, accountId: r.account_id, name: r.name, path: r.path, arn: `arn:aws:iam::${r.account_id}:group${r.path}${r.name}`, createdAt: new Date(Number(r.created_at)) };
  }

  private toRole(r: IamPolicyTables['iam_roles']): Role {
    return {
      roleId: r.role_id, accountId: r.account_id, name: r.name, path: r.path, arn: `arn:aws:iam::${r.account_id}:role${r.path}${r.name}`,
      trustPolicy: r.trust_policy, ...(r.description !== null ? { description: r.description } : {}),
      maxSessionDuration: Number(r.max_session_duration), createdAt: new Date(Number(r.created_at)),
    };
  }

  private async countOf(table: 'users' | 'iam_groups' | 'iam_roles' | 'iam_managed_policies' | 'iam_instance_profiles', accountId: string): Promise<number> {
    const r = await (this.db as Kysely<any>).selectFrom(table).select((eb: any) => eb.fn.countAll().as('n')).where('account_id', '=', accountId).executeTakeFirstOrThrow();
    return Number((r as { n: unknown }).n);
  }

  /** Entity counts for quota checks (`iam:quota-usernumber` …) and GetAccountSummary. */
  async counts(accountId: string): Promise<{ users: number; groups: number; roles: number; policies: number; instanceProfiles: number }> {
    const [users, groups, roles, policies, instanceProfiles] = await Promise.all([
      this.countOf('users', accountId), this.countOf('iam_groups', accountId), this.countOf('iam_roles', accountId),
      this.countOf('iam_managed_policies', accountId), this.countOf('iam_instance_profiles', accountId),
    ]);
    return { users, groups, roles, policies, instanceProfiles };
  }

  // ---- groups -------------------------------------------------------------------------------------------------

  async createGroup(accountId: string, name: string, path?: string): Promise<Group> {
    validateName('groupName', name, 128);
    const p = validatePath(path);
    if (await this.findGroup(accountId, name)) throw exists(`Group with name ${name} already exists.`);
    const row = { group_id: iamUniqueId('AGPA'), account_id: accountId, name, name_lc: name.toLowerCase(), path: p, created_at: Date.now() };
    try {
      await this.db.insertInto('iam_groups').values(row).execute();
    } catch (e) {
      if (await this.findGroup(accountId, name)) throw exists(`Group with name ${name} already exists.`);
      throw e;
    }
    return this.toGroup(row);
  }

  async findGroup(accountId: string, name: string): Promise<Group | undefined> {
    const r = await this.db.selectFrom('iam_groups').selectAll().where('account_id', '=', accountId).where('name_lc', '=', String(name).toLowerCase()).executeTakeFirst();
    return r ? this.toGroup(r) : undefined;
  }

  async getGroup(accountId: string, name: string): Promise<Group> {
    const g = await this.findGroup(accountId, name);
    if (!g) throw noSuch(`The group with name ${name} cannot be found.`);
    return g;
  }

  async listGroups(accountId: string, pathPrefix = '/'): Promise<Group[]> {
    const rows = await this.db.selectFrom('iam_groups').selectAll().where('account_id', '=', accountId).orderBy('name_lc').execute();
    return rows.map((r) => this.toGroup(r)).filter((g) => g.path.startsWith(pathPrefix));
  }

  async updateGroup(accountId: string, name: string, newName?: string, newPath?: string): Promise<Group> {
    const g = await this.getGroup(accountId, name);
    const patch: { name?: string; name_lc?: string; path?: string } = {};
    if (newName !== undefined) {
      validateName('newGroupName', newName, 128);
      if (newName.toLowerCase() !== g.name.toLowerCase() && (await this.findGroup(accountId, newName))) throw exists(`Group with name ${newName} already exists.`);
      patch.name = newName;
      patch.name_lc = newName.toLowerCase();
    }
    if (newPath !== undefined) patch.path = validatePath(newPath);
    if (Object.keys(patch).length) await this.db.updateTable('iam_groups').set(patch).where('group_id', '=', g.groupId).execute();
    this.changed(accountId);
    return (await this.getGroup(accountId, patch.name ?? g.name));
  }

  /** AWS refuses while the group has members, inline or attached policies (DeleteConflict). */
  async deleteGroup(accountId: string, name: string): Promise<void> {
    const g = await this.getGroup(accountId, name);
    const member = await this.db.selectFrom('iam_group_members').select('user_id').where('group_id', '=', g.groupId).executeTakeFirst();
    if (member) throw conflict('Cannot delete entity, must remove users from group first.');
    await this.assertNoPolicies('group', g.groupId);
    await this.db.deleteFrom('iam_groups').where('group_id', '=', g.groupId).execute();
    this.changed(accountId);
  }

  async addUserToGroup(accountId: string, groupName: string, userName: string): Promise<void> {
    const g = await this.getGroup(accountId, groupName);
    const u = await this.user(accountId, userName);
    const n = await this.db.selectFrom('iam_group_members').select((eb) => eb.fn.countAll().as('n')).where('user_id', '=', u.user_id).executeTakeFirstOrThrow();
    const already = await this.db.selectFrom('iam_group_members').select('user_id').where('group_id', '=', g.groupId).where('user_id', '=', u.user_id).executeTakeFirst();
    if (already) return;
    if (Number(n.n) >= IAM_LIMITS.GroupsPerUser) throw limit(`Cannot exceed quota for GroupsPerUser: ${IAM_LIMITS.GroupsPerUser}`);
    await this.db.insertInto('iam_group_members').values({ group_id: g.groupId, user_id: u.user_id, account_id: accountId, added_at: Date.now() })
      .onConflict((oc) => oc.columns(['group_id', 'user_id']).doNothing()).execute();
    this.changed(accountId);
  }

  async removeUserFromGroup(accountId: string, groupName: string, userName: string): Promise<void> {
    const g = await this.getGroup(accountId, groupName);
    const u = await this.user(accountId, userName);
    const r = await this.db.deleteFrom('iam_group_members').where('group_id', '=', g.groupId).where('user_id', '=', u.user_id).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw noSuch(`The user with name ${userName} cannot be found in group ${g.name}.`);
    this.changed(accountId);
  }

  /** Members of a group, ordered by name. */
  async groupMembers(accountId: string, groupName: string): Promise<{ group: Group; users: Array<{ userId: string; name: string; path: string; createdAt: Date }> }> {
    const group = await this.getGroup(accountId, groupName);
    const rows = await this.db.selectFrom('iam_group_members').innerJoin('users', 'users.user_id', 'iam_group_members.user_id')
      .select(['users.user_id', 'users.name', 'users.path', 'users.created_at', 'users.name_lc'])
      .where('iam_group_members.group_id', '=', group.groupId).orderBy('users.name_lc').execute();
    return { group, users: rows.map((r) => ({ userId: r.user_id, name: r.name, path: r.path, createdAt: new Date(Number(r.created_at)) })) };
  }

  async groupsForUser(accountId: string, userName: string): Promise<Group[]> {
    const u = await this.user(accountId, userName);
    const rows = await this.db.selectFrom('iam_group_members').innerJoin('iam_groups', 'iam_groups.group_id', 'iam_group_members.group_id')
      .selectAll('iam_groups').where('iam_group_members.user_id', '=', u.user_id).orderBy('iam_groups.name_lc').execute();
    return rows.map((r) => this.toGroup(r));
  }

  // ---- inline policies ----------------------------------------------------------------------------------------

  private async ownerId(accountId: string, kind: PolicyOwnerKind, name: string): Promise<{ id: string; label: string }> {
    switch (kind) {
      case 'user':
        return { id: (await this.user(accountId, name)).user_id, label: `user ${name}` };
      case 'group':
        return { id: (await this.getGroup(accountId, name)).groupId, label: `group ${name}` };
      case 'role':
        return { id: (await this.getRole(accountId, name)).roleId, label: `role ${name}` };
      case 'account':
        return { id: accountId, label: `account ${accountId}` };
    }
  }

  /** PutUserPolicy / PutGroupPolicy / PutRolePolicy (and the Eucalyptus account policies, which may hold Limit). */
  async putInlinePolicy(accountId: string, kind: PolicyOwnerKind, ownerName: string, policyName: string, document: string): Promise<void> {
    validateName('policyName', policyName, 128);
    checkDocument(document, 'identity', kind !== 'account');
    const owner = await this.ownerId(accountId, kind, ownerName);
    const max = kind === 'user' ? IAM_LIMITS.UserPolicySize : kind === 'group' ? IAM_LIMITS.GroupPolicySize : kind === 'role' ? IAM_LIMITS.RolePolicySize : IAM_LIMITS.AccountPolicySize;
    const others = await this.db.selectFrom('iam_inline_policies').select(['name', 'document']).where('owner_kind', '=', kind).where('owner_id', '=', owner.id).execute();
    const total = others.filter((o) => o.name !== policyName).reduce((n, o) => n + policySize(o.document), 0) + policySize(document);
    if (total > max) throw limit(`Maximum policy size of ${max} bytes exceeded for ${owner.label}`);
    await this.db.insertInto('iam_inline_policies')
      .values({ account_id: accountId, owner_kind: kind, owner_id: owner.id, name: policyName, document, created_at: Date.now() })
      .onConflict((oc) => oc.columns(['owner_kind', 'owner_id', 'name']).doUpdateSet({ document }))
      .execute();
    this.changed(accountId);
  }

  async getInlinePolicy(accountId: string, kind: PolicyOwnerKind, ownerName: string, policyName: string): Promise<InlinePolicy> {
    const owner = await this.ownerId(accountId, kind, ownerName);
    const r = await this.db.selectFrom('iam_inline_policies').select(['name', 'document']).where('owner_kind', '=', kind).where('owner_id', '=', owner.id).where('name', '=', policyName).executeTakeFirst();
    if (!r) throw noSuch(`The ${kind} policy with name ${policyName} cannot be found.`);
    return r;
  }

  async deleteInlinePolicy(accountId: string, kind: PolicyOwnerKind, ownerName: string, policyName: string): Promise<void> {
    const owner = await this.ownerId(accountId, kind, ownerName);
    const r = await this.db.deleteFrom('iam_inline_policies').where('owner_kind', '=', kind).where('owner_id', '=', owner.id).where('name', '=', policyName).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw noSuch(`The ${kind} policy with name ${policyName} cannot be found.`);
    this.changed(accountId);
  }

  async listInlinePolicies(accountId: string, kind: PolicyOwnerKind, ownerName: string): Promise<string[]> {
    const owner = await this.ownerId(accountId, kind, ownerName);
    const rows = await this.db.selectFrom('iam_inline_policies').select('name').where('owner_kind', '=', kind).where('owner_id', '=', owner.id).orderBy('name').execute();
    return rows.map((r) => r.name);
  }

  private async assertNoPolicies(kind: EntityKind, id: string): Promise<void> {
    const inline = await this.db.selectFrom('iam_inline_policies').select('name').where('owner_kind', '=', kind).where('owner_id', '=', id).executeTakeFirst();
    const attached = await this.db.selectFrom('iam_policy_attachments').select('policy_id').where('entity_kind', '=', kind).where('entity_id', '=', id).executeTakeFirst();
    const awsAttached = await this.db.selectFrom('iam_aws_policy_attachments').select('policy_name').where('entity_kind', '=', kind).where('entity_id', '=', id).executeTakeFirst();
    if (inline || attached || awsAttached) throw conflict('Cannot delete entity, must delete policies first.');
  }

  /** AWS's DeleteUser preconditions beyond access keys: no login profile, policies or group memberships. */
  async assertUserDeletable(accountId: string, userName: string): Promise<void> {
    const u = await this.user(accountId, userName);
    if (await this.db.selectFrom('iam_login_profiles').select('user_id').where('user_id', '=', u.user_id).executeTakeFirst()) {
      throw conflict('Cannot delete entity, must delete login profile first.');
    }
    await this.assertNoPolicies('user', u.user_id);
    if (await this.db.selectFrom('iam_group_members').select('group_id').where('user_id', '=', u.user_id).executeTakeFirst()) {
      throw conflict('Cannot delete entity, must remove users from group first.');
    }
  }

  /** Removes what a deleted user leaves behind (tags) and tells listeners. */
  async userDeleted(accountId: string, userId: string): Promise<void> {
    await this.db.deleteFrom('iam_tags').where('entity_kind', '=', 'user').where('entity_id', '=', userId).execute();
    await this.db.deleteFrom('iam_inline_policies').where('owner_kind', '=', 'user').where('owner_id', '=', userId).execute();
    await this.db.deleteFrom('iam_policy_attachments').where('entity_kind', '=', 'user').where('entity_id', '=', userId).execute();
    await this.db.deleteFrom('iam_aws_policy_attachments').where('entity_kind', '=', 'user').where('entity_id', '=', userId).execute();
    this.changed(accountId);
  }

  // ---- managed policies ---------------------------------------------------------------------------------------

  private toPolicy(r: IamPolicyTables['iam_managed_policies'], attachmentCount: number): ManagedPolicy {
    return {
      policyId: r.policy_id, accountId: r.account_id, name: r.name, path: r.path, arn: `arn:aws:iam::${r.account_id}:policy${r.path}${r.name}`,
      ...(r.description !== null ? { description: r.description } : {}), defaultVersionId: r.default_version, attachmentCount,
      createdAt: new Date(Number(r.created_at)), updatedAt: new Date(Number(r.updated_at)),
    };
  }

  private async awsAttachmentCount(accountId: string, name: string): Promise<number> {
    const r = await this.db.selectFrom('iam_aws_policy_attachments').select((eb) => eb.fn.countAll().as('n')).where('account_id', '=', accountId).where('policy_name', '=', name).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  private awsOut(p: AwsManagedPolicy, attachmentCount: number): ManagedPolicy {
    return {
      policyId: p.policyId, accountId: 'aws', name: p.name, path: p.path, arn: p.arn, description: p.description, defaultVersionId: 'v1',
      attachmentCount, createdAt: p.createdAt, updatedAt: p.createdAt,
    };
  }

  /** The AWS managed policy of an ARN, or NoSuchEntity; undefined for customer ARNs. */
  private awsPolicyOf(arn: string): AwsManagedPolicy | undefined {
    if (!isAwsPolicyArn(arn)) return undefined;
    const p = awsManagedPolicy(arn);
    if (!p) throw noSuch(`Policy ${arn} does not exist or is not attachable.`);
    return p;
  }

  private static readonly AWS_IMMUTABLE = (arn: string): AwsError => new AwsError('AccessDenied', `Policy ${arn} is an AWS managed policy and cannot be changed.`, { status: 403 });

  private async attachmentCount(policyId: string): Promise<number> {
    const r = await this.db.selectFrom('iam_policy_attachments').select((eb) => eb.fn.countAll().as('n')).where('policy_id', '=', policyId).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async createPolicy(accountId: string, name: string, document: string, opts: { path?: string; description?: string } = {}): Promise<ManagedPolicy> {
    validateName('policyName', name, 128);
    const path = validatePath(opts.path);
    checkDocument(document, 'identity', true);
    if (policySize(document) > IAM_LIMITS.PolicySize) throw limit(`Cannot exceed quota for PolicySize: ${IAM_LIMITS.PolicySize}`);
    const dup = await this.db.selectFrom('iam_managed_policies').select('policy_id').where('account_id', '=', accountId).where('name_lc', '=', name.toLowerCase()).executeTakeFirst();
    const arn = `arn:aws:iam::${accountId}:policy${path}${name}`;
    if (dup) throw exists(`A policy called ${name} already exists. Duplicate names are not allowed.`);
    const now = Date.now();
    const row = {
      policy_id: iamUniqueId('ANPA'), account_id: accountId, name, name_lc: name.toLowerCase(), path, description: opts.description ?? null,
      default_version: 'v1', next_version: 2, created_at: now, updated_at: now,
    };
    try {
      await this.db.transaction().execute(async (tx) => {
        await tx.insertInto('iam_managed_policies').values(row).execute();
        await tx.insertInto('iam_policy_versions').values({ policy_id: row.policy_id, version_id: 'v1', document, created_at: now }).execute();
      });
    } catch (e) {
      if (await this.findPolicyByArn(accountId, arn)) throw exists(`A policy called ${name} already exists. Duplicate names are not allowed.`);
      throw e;
    }
    return this.toPolicy(row, 0);
  }

  private async findPolicyByArn(accountId: string, arn: string): Promise<IamPolicyTables['iam_managed_policies'] | undefined> {
    const m = POLICY_ARN.exec(String(arn));
    if (!m || m[1] !== accountId) return undefined;
    const r = await this.db.selectFrom('iam_managed_policies').selectAll().where('account_id', '=', accountId).where('name_lc', '=', m[3]!.toLowerCase()).executeTakeFirst();
    return r && r.path === m[2] ? r : undefined;
  }

  private async policyRow(accountId: string, arn: string): Promise<IamPolicyTables['iam_managed_policies']> {
    if (!POLICY_ARN.test(String(arn))) throw iamError('InvalidInput', `ARN ${String(arn)} is not valid.`);
    const r = await this.findPolicyByArn(accountId, arn);
    if (!r) throw noSuch(`Policy ${arn} does not exist or is not attachable.`);
    return r;
  }

  async getPolicy(accountId: string, arn: string): Promise<ManagedPolicy> {
    const aws = this.awsPolicyOf(arn);
    if (aws) return this.awsOut(aws, await this.awsAttachmentCount(accountId, aws.name));
    const r = await this.policyRow(accountId, arn);
    return this.toPolicy(r, await this.attachmentCount(r.policy_id));
  }

  async listPolicies(accountId: string, opts: { pathPrefix?: string; onlyAttached?: boolean; scope?: 'All' | 'AWS' | 'Local' } = {}): Promise<ManagedPolicy[]> {
    const scope = opts.scope ?? 'All';
    const aws: ManagedPolicy[] = [];
    if (scope !== 'Local') {
      const counts = await this.db.selectFrom('iam_aws_policy_attachments').select(['policy_name', (eb) => eb.fn.countAll().as('n')]).where('account_id', '=', accountId).groupBy('policy_name').execute();
      const byName = new Map(counts.map((c) => [c.policy_name, Number(c.n)]));
      for (const p of AWS_MANAGED_POLICIES.values()) {
        const out = this.awsOut(p, byName.get(p.name) ?? 0);
        if (out.path.startsWith(opts.pathPrefix ?? '/') && (!opts.onlyAttached || out.attachmentCount > 0)) aws.push(out);
      }
      aws.sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? -1 : 1));
    }
    if (scope === 'AWS') return aws;
    const rows = await this.db.selectFrom('iam_managed_policies').selectAll().where('account_id', '=', accountId).orderBy('name_lc').execute();
    const counts = await this.db.selectFrom('iam_policy_attachments').select(['policy_id', (eb) => eb.fn.countAll().as('n')]).where('account_id', '=', accountId).groupBy('policy_id').execute();
    const byId = new Map(counts.map((c) => [c.policy_id, Number(c.n)]));
    const local = rows
      .map((r) => this.toPolicy(r, byId.get(r.policy_id) ?? 0))
      .filter((p) => p.path.startsWith(opts.pathPrefix ?? '/') && (!opts.onlyAttached || p.attachmentCount > 0));
    return [...aws, ...local];
  }

  async deletePolicy(accountId: string, arn: string): Promise<void> {
    if (this.awsPolicyOf(arn)) throw IamDirectory.AWS_IMMUTABLE(arn);
    const r = await this.policyRow(accountId, arn);
    if ((await this.attachmentCount(r.policy_id)) > 0) throw conflict('Cannot delete a policy attached to entities.');
    const versions = await this.db.selectFrom('iam_policy_versions').select('version_id').where('policy_id', '=', r.policy_id).execute();
    if (versions.length > 1) {
      throw conflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.");
    }
    await this.db.deleteFrom('iam_tags').where('entity_kind', '=', 'policy').where('entity_id', '=', r.policy_id).execute();
    await this.db.deleteFrom('iam_managed_policies').where('policy_id', '=', r.policy_id).execute();
    this.changed(accountId);
  }

  async createPolicyVersion(accountId: string, arn: string, document: string, setAsDefault = false): Promise<PolicyVersion> {
    if (this.awsPolicyOf(arn)) throw IamDirectory.AWS_IMMUTABLE(arn);
    const r = await this.policyRow(accountId, arn);
    checkDocument(document, 'identity', true);
    if (policySize(document) > IAM_LIMITS.PolicySize) throw limit(`Cannot exceed quota for PolicySize: ${IAM_LIMITS.PolicySize}`);
    const versions = await this.db.selectFrom('iam_policy_versions').select('version_id').where('policy_id', '=', r.policy_id).execute();
    if (versions.length >= IAM_LIMITS.VersionsPerPolicy) {
      throw limit('A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.');
    }
    const versionId = `v${r.next_version}`;
    const now = Date.now();
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('iam_policy_versions').values({ policy_id: r.policy_id, version_id: versionId, document, created_at: now }).execute();
      await tx.updateTable('iam_managed_policies').set({ next_version: Number(r.next_version) + 1, updated_at: now, ...(setAsDefault ? { default_version: versionId } : {}) }).where('policy_id', '=', r.policy_id).execute();
    });
    if (setAsDefault) this.changed(accountId);
    return { versionId, document, isDefault: setAsDefault, createdAt: new Date(now) };
  }

  async getPolicyVersion(accountId: string, arn: string, versionId: string): Promise<PolicyVersion> {
    const aws = this.awsPolicyOf(arn);
    if (aws) {
      if (versionId !== 'v1') throw noSuch(`Policy ${arn} version ${versionId} does not exist or is not attachable.`);
      return { versionId: 'v1', document: aws.document, isDefault: true, createdAt: aws.createdAt };
    }
    const r = await this.policyRow(accountId, arn);
    const v = await this.db.selectFrom('iam_policy_versions').selectAll().where('policy_id', '=', r.policy_id).where('version_id', '=', versionId).executeTakeFirst();
    if (!v) throw noSuch(`Policy ${arn} version ${versionId} does not exist or is not attachable.`);
    return { versionId: v.version_id, document: v.document, isDefault: v.version_id === r.default_version, createdAt: new Date(Number(v.created_at)) };
  }

  async listPolicyVersions(accountId: string, arn: string): Promise<PolicyVersion[]> {
    const aws = this.awsPolicyOf(arn);
    if (aws) return [{ versionId: 'v1', document: aws.document, isDefault: true, createdAt: aws.createdAt }];
    const r = await this.policyRow(accountId, arn);
    const rows = await this.db.selectFrom('iam_policy_versions').selectAll().where('policy_id', '=', r.policy_id).execute();
    return rows
      .map((v) => ({ versionId: v.version_id, document: v.document, isDefault: v.version_id === r.default_version, createdAt: new Date(Number(v.created_at)) }))
      .sort((a, b) => Number(b.versionId.slice(1)) - Number(a.versionId.slice(1)));
  }

  async deletePolicyVersion(accountId: string, arn: string, versionId: string): Promise<void> {
    if (this.awsPolicyOf(arn)) throw IamDirectory.AWS_IMMUTABLE(arn);
    const r = await this.policyRow(accountId, arn);
    if (versionId === r.default_version) throw conflict('Cannot delete the default version of a policy.');
    const d = await this.db.deleteFrom('iam_policy_versions').where('policy_id', '=', r.policy_id).where('version_id', '=', versionId).executeTakeFirst();
    if (Number(d.numDeletedRows) === 0) throw noSuch(`Policy ${arn} version ${versionId} does not exist or is not attachable.`);
  }

  async setDefaultPolicyVersion(accountId: string, arn: string, versionId: string): Promise<void> {
    if (this.awsPolicyOf(arn)) throw IamDirectory.AWS_IMMUTABLE(arn);
    const r = await this.policyRow(accountId, arn);
    const v = await this.db.selectFrom('iam_policy_versions').select('version_id').where('policy_id', '=', r.policy_id).where('version_id', '=', versionId).executeTakeFirst();
    if (!v) throw noSuch(`Policy ${arn} version ${versionId} does not exist or is not attachable.`);
    await this.db.updateTable('iam_managed_policies').set({ default_version: versionId, updated_at: Date.now() }).where('policy_id', '=', r.policy_id).execute();
    this.changed(accountId);
  }

  private async entity(accountId: string, kind: EntityKind, name: string): Promise<EntityRef> {
    switch (kind) {
      case 'user': {
        const u = await this.user(accountId, name);
        return { kind, id: u.user_id, name: u.name };
      }
      case 'group': {
        const g = await this.getGroup(accountId, name);
        return { kind, id: g.groupId, name: g.name };
      }
      case 'role': {
        const r = await this.getRole(accountId, name);
        return { kind, id: r.roleId, name: r.name };
      }
    }
  }

  async attachPolicy(accountId: string, kind: EntityKind, entityName: string, arn: string): Promise<void> {
    const e = await this.entity(accountId, kind, entityName);
    const aws = this.awsPolicyOf(arn);
    const existing = await this.db.selectFrom('iam_policy_attachments').select('policy_id').where('entity_kind', '=', kind).where('entity_id', '=', e.id).execute();
    const existingAws = await this.db.selectFrom('iam_aws_policy_attachments').select('policy_name').where('entity_kind', '=', kind).where('entity_id', '=', e.id).execute();
    const max = kind === 'user' ? IAM_LIMITS.AttachedPoliciesPerUser : kind === 'group' ? IAM_LIMITS.AttachedPoliciesPerGroup : IAM_LIMITS.AttachedPoliciesPerRole;
    const full = (): AwsError => limit(`Cannot exceed quota for PoliciesPer${kind[0]!.toUpperCase()}${kind.slice(1)}: ${max}`);
    if (aws) {
      if (existingAws.some((x) => x.policy_name === aws.name)) return;
      if (existing.length + existingAws.length >= max) throw full();
      await this.db.insertInto('iam_aws_policy_attachments').values({ policy_name: aws.name, account_id: accountId, entity_kind: kind, entity_id: e.id, attached_at: Date.now() })
        .onConflict((oc) => oc.columns(['policy_name', 'entity_kind', 'entity_id']).doNothing()).execute();
      this.changed(accountId);
      return;
    }
    const p = await this.policyRow(accountId, arn);
    if (existing.some((x) => x.policy_id === p.policy_id)) return;
    if (existing.length + existingAws.length >= max) throw full();
    await this.db.insertInto('iam_policy_attachments').values({ policy_id: p.policy_id, account_id: accountId, entity_kind: kind, entity_id: e.id, attached_at: Date.now() })
      .onConflict((oc) => oc.columns(['policy_id', 'entity_kind', 'entity_id']).doNothing()).execute();
    this.changed(accountId);
  }

  async detachPolicy(accountId: string, kind: EntityKind, entityName: string, arn: string): Promise<void> {
    const e = await this.entity(accountId, kind, entityName);
    const aws = this.awsPolicyOf(arn);
    if (aws) {
      const d = await this.db.deleteFrom('iam_aws_policy_attachments').where('policy_name', '=', aws.name).where('entity_kind', '=', kind).where('entity_id', '=', e.id).executeTakeFirst();
      if (Number(d.numDeletedRows) === 0) throw noSuch(`Policy ${arn} was not found.`);
      this.changed(accountId);
      return;
    }
    const p = await this.policyRow(accountId, arn);
    const d = await this.db.deleteFrom('iam_policy_attachments').where('policy_id', '=', p.policy_id).where('entity_kind', '=', kind).where('entity_id', '=', e.id).executeTakeFirst();
    if (Number(d.numDeletedRows) === 0) throw noSuch(`Policy ${arn} was not found.`);
    this.changed(accountId);
  }

  async listAttachedPolicies(accountId: string, kind: EntityKind, entityName: string, pathPrefix = '/'): Promise<Array<{ name: string; arn: string }>> {
    const e = await this.entity(accountId, kind, entityName);
    const rows = await this.db.selectFrom('iam_policy_attachments').innerJoin('iam_managed_policies', 'iam_managed_policies.policy_id', 'iam_policy_attachments.policy_id')
      .select(['iam_managed_policies.name', 'iam_managed_policies.path', 'iam_managed_policies.account_id', 'iam_managed_policies.name_lc'])
      .where('iam_policy_attachments.entity_kind', '=', kind).where('iam_policy_attachments.entity_id', '=', e.id).orderBy('iam_managed_policies.name_lc').execute();
    const aws = await this.db.selectFrom('iam_aws_policy_attachments').select('policy_name').where('entity_kind', '=', kind).where('entity_id', '=', e.id).execute();
    const awsOut = aws.map((a) => AWS_MANAGED_POLICIES.get(a.policy_name.toLowerCase())).filter((p): p is AwsManagedPolicy => !!p && p.path.startsWith(pathPrefix))
      .map((p) => ({ name: p.name, arn: p.arn }));
    const local = rows.filter((r) => r.path.startsWith(pathPrefix)).map((r) => ({ name: r.name, arn: `arn:aws:iam::${r.account_id}:policy${r.path}${r.name}` }));
    return [...awsOut, ...local].sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? -1 : a.name.toLowerCase() > b.name.toLowerCase() ? 1 : 0));
  }

  async listEntitiesForPolicy(accountId: string, arn: string, filter?: string, pathPrefix = '/'): Promise<{ users: EntityRef[]; groups: EntityRef[]; roles: EntityRef[] }> {
    const aws = this.awsPolicyOf(arn);
    const att = aws
      ? await this.db.selectFrom('iam_aws_policy_attachments').select(['entity_kind', 'entity_id']).where('account_id', '=', accountId).where('policy_name', '=', aws.name).execute()
      : await this.db.selectFrom('iam_policy_attachments').select(['entity_kind', 'entity_id']).where('policy_id', '=', (await this.policyRow(accountId, arn)).policy_id).execute();
    const ids = (k: EntityKind): string[] => att.filter((a) => a.entity_kind === k).map((a) => a.entity_id);
    // EntityFilter: User | Group | Role narrow the kinds; LocalManagedPolicy / AWSManagedPolicy do not apply to entities
    const kinds = ['user', 'group', 'role'];
    const want = (k: string): boolean => !filter || !kinds.includes(filter.toLowerCase()) || filter.toLowerCase() === k;
    const users = want('user') && ids('user').length
      ? (await this.db.selectFrom('users').select(['user_id', 'name', 'path', 'name_lc']).where('user_id', 'in', ids('user')).orderBy('name_lc').execute())
          .filter((r) => r.path.startsWith(pathPrefix)).map((r) => ({ kind: 'user' as const, id: r.user_id, name: r.name }))
      : [];
    const groups = want('group') && ids('group').length
      ? (await this.db.selectFrom('iam_groups').select(['group_id', 'name', 'path', 'name_lc']).where('group_id', 'in', ids('group')).orderBy('name_lc').execute())
          .filter((r) => r.path.startsWith(pathPrefix)).map((r) => ({ kind: 'group' as const, id: r.group_id, name: r.name }))
      : [];
    const roles = want('role') && ids('role').length
      ? (await this.db.selectFrom('iam_roles').select(['role_id', 'name', 'path', 'name_lc']).where('role_id', 'in', ids('role')).orderBy('name_lc').execute())
          .filter((r) => r.path.startsWith(pathPrefix)).map((r) => ({ kind: 'role' as const, id: r.role_id, name: r.name }))
      : [];
    return { users, groups, roles };
  }

  // ---- roles --------------------------------------------------------------------------------------------------

  async createRole(accountId: string, name: string, trustPolicy: string, opts: { path?: string; description?: string; maxSessionDuration?: number } = {}): Promise<Role> {
    validateName('roleName', name, 64);
    const path = validatePath(opts.path);
    checkDocument(trustPolicy, 'trust');
    const max = opts.maxSessionDuration ?? DEFAULT_ROLE_SESSION;
    if (!Number.isInteger(max) || max < 3600 || max > 43200) {
      throw iamError('ValidationError', `1 validation error detected: Value '${max}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200`);
    }
    if (await this.findRole(accountId, name)) throw exists(`Role with name ${name} already exists.`);
    const row = {
      role_id: iamUniqueId('AROA'), account_id: accountId, name, name_lc: name.toLowerCase(), path, trust_policy: trustPolicy,
      description: opts.description ?? null, max_session_duration: max, created_at: Date.now(),
    };
    try {
      await this.db.insertInto('iam_roles').values(row).execute();
    } catch (e) {
      if (await this.findRole(accountId, name)) throw exists(`Role with name ${name} already exists.`);
      throw e;
    }
    return this.toRole(row);
  }

  async findRole(accountId: string, name: string): Promise<Role | undefined> {
    const r = await this.db.selectFrom('iam_roles').selectAll().where('account_id', '=', accountId).where('name_lc', '=', String(name).toLowerCase()).executeTakeFirst();
    return r ? this.toRole(r) : undefined;
  }

  async getRole(accountId: string, name: string): Promise<Role> {
    const r = await this.findRole(accountId, name);
    if (!r) throw noSuch(`The role with name ${name} cannot be found.`);
    return r;
  }

  async getRoleById(roleId: string): Promise<Role | undefined> {
    const r = await this.db.selectFrom('iam_roles').selectAll().where('role_id', '=', roleId).executeTakeFirst();
    return r ? this.toRole(r) : undefined;
  }

  /** A role by ARN, in any account (AssumeRole). */
  async getRoleByArn(arn: string): Promise<Role | undefined> {
    const m = /^arn:aws:iam::(\d{12}):role(\/(?:[\x21-\x7e]*\/)?)([\w+=,.@-]+)$/.exec(String(arn));
    if (!m) return undefined;
    const r = await this.findRole(m[1]!, m[3]!);
    return r && r.path === m[2] ? r : undefined;
  }

  async listRoles(accountId: string, pathPrefix = '/'): Promise<Role[]> {
    const rows = await this.db.selectFrom('iam_roles').selectAll().where('account_id', '=', accountId).orderBy('name_lc').execute();
    return rows.map((r) => this.toRole(r)).filter((r) => r.path.startsWith(pathPrefix));
  }

  async updateAssumeRolePolicy(accountId: string, name: string, trustPolicy: string): Promise<void> {
    const r = await this.getRole(accountId, name);
    checkDocument(trustPolicy, 'trust');
    await this.db.updateTable('iam_roles').set({ trust_policy: trustPolicy }).where('role_id', '=', r.roleId).execute();
    this.changed(accountId);
  }

  async updateRole(accountId: string, name: string, opts: { description?: string; maxSessionDuration?: number }): Promise<void> {
    const r = await this.getRole(accountId, name);
    const patch: { description?: string; max_session_duration?: number } = {};
    if (opts.description !== undefined) patch.description = opts.description;
    if (opts.maxSessionDuration !== undefined) {
      if (!Number.isInteger(opts.maxSessionDuration) || opts.maxSessionDuration < 3600 || opts.maxSessionDuration > 43200) {
        throw iamError('ValidationError', `1 validation error detected: Value '${opts.maxSessionDuration}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200`);
      }
      patch.max_session_duration = opts.maxSessionDuration;
    }
    if (Object.keys(patch).length) await this.db.updateTable('iam_roles').set(patch).where('role_id', '=', r.roleId).execute();
  }

  /** AWS refuses while the role has policies or is in an instance profile. */
  async deleteRole(accountId: string, name: string): Promise<void> {
    const r = await this.getRole(accountId, name);
    await this.assertNoPolicies('role', r.roleId);
    if (await this.db.selectFrom('iam_instance_profile_roles').select('profile_id').where('role_id', '=', r.roleId).executeTakeFirst()) {
      throw conflict('Cannot delete entity, must remove roles from instance profile first.');
    }
    await this.db.deleteFrom('iam_tags').where('entity_kind', '=', 'role').where('entity_id', '=', r.roleId).execute();
    await this.db.deleteFrom('iam_roles').where('role_id', '=', r.roleId).execute();
    this.changed(accountId);
  }

  // ---- instance profiles --------------------------------------------------------------------------------------

  private async toProfile(r: IamPolicyTables['iam_instance_profiles']): Promise<InstanceProfile> {
    const roles = await this.db.selectFrom('iam_instance_profile_roles').innerJoin('iam_roles', 'iam_roles.role_id', 'iam_instance_profile_roles.role_id')
      .selectAll('iam_roles').where('iam_instance_profile_roles.profile_id', '=', r.profile_id).execute();
    return {
      profileId: r.profile_id, accountId: r.account_id, name: r.name, path: r.path, arn: `arn:aws:iam::${r.account_id}:instance-profile${r.path}${r.name}`,
      createdAt: new Date(Number(r.created_at)), roles: roles.map((x) => this.toRole(x)),
    };
  }

  async createInstanceProfile(accountId: string, name: string, path?: string): Promise<InstanceProfile> {
    validateName('instanceProfileName', name, 128);
    const p = validatePath(path);
    const dup = () => this.db.selectFrom('iam_instance_profiles').select('profile_id').where('account_id', '=', accountId).where('name_lc', '=', name.toLowerCase()).executeTakeFirst();
    if (await dup()) throw exists(`Instance Profile ${name} already exists.`);
    const row = { profile_id: iamUniqueId('AIPA'), account_id: accountId, name, name_lc: name.toLowerCase(), path: p, created_at: Date.now() };
    try {
      await this.db.insertInto('iam_instance_profiles').values(row).execute();
    } catch (e) {
      if (await dup()) throw exists(`Instance Profile ${name} already exists.`);
      throw e;
    }
    return this.toProfile(row);
  }

  private async profileRow(accountId: string, name: string): Promise<IamPolicyTables['iam_instance_profiles']> {
    const r = await this.db.selectFrom('iam_instance_profiles').selectAll().where('account_id', '=', accountId).where('name_lc', '=', String(name).toLowerCase()).executeTakeFirst();
    if (!r) throw noSuch(`Instance Profile ${name} cannot be found.`);
    return r;
  }

  async getInstanceProfile(accountId: string, name: string): Promise<InstanceProfile> {
    return this.toProfile(await this.profileRow(accountId, name));
  }

  async listInstanceProfiles(accountId: string, pathPrefix = '/'): Promise<InstanceProfile[]> {
    const rows = await this.db.selectFrom('iam_instance_profiles').selectAll().where('account_id', '=', accountId).orderBy('name_lc').execute();
    return Promise.all(rows.filter((r) => r.path.startsWith(pathPrefix)).map((r) => this.toProfile(r)));
  }

  async listInstanceProfilesForRole(accountId: string, roleName: string): Promise<InstanceProfile[]> {
    const role = await this.getRole(accountId, roleName);
    const rows = await this.db.selectFrom('iam_instance_profile_roles').innerJoin('iam_instance_profiles', 'iam_instance_profiles.profile_id', 'iam_instance_profile_roles.profile_id')
      .selectAll('iam_instance_profiles').where('iam_instance_profile_roles.role_id', '=', role.roleId).orderBy('iam_instance_profiles.name_lc').execute();
    return Promise.all(rows.map((r) => this.toProfile(r)));
  }

  async addRoleToInstanceProfile(accountId: string, profileName: string, roleName: string): Promise<void> {
    const p = await this.profileRow(accountId, profileName);
    const role = await this.getRole(accountId, roleName);
    const roles = await this.db.selectFrom('iam_instance_profile_roles').select('role_id').where('profile_id', '=', p.profile_id).execute();
    if (roles.some((r) => r.role_id === role.roleId)) throw exists(`Role ${role.name} is already associated with instance profile ${p.name}.`);
    if (roles.length >= IAM_LIMITS.RolesPerInstanceProfile) throw limit(`Cannot exceed quota for InstanceSessionsPerInstanceProfile: ${IAM_LIMITS.RolesPerInstanceProfile}`);
    await this.db.insertInto('iam_instance_profile_roles').values({ profile_id: p.profile_id, role_id: role.roleId }).execute();
  }

  async removeRoleFromInstanceProfile(accountId: string, profileName: string, roleName: string): Promise<void> {
    const p = await this.profileRow(accountId, profileName);
    const role = await this.getRole(accountId, roleName);
    const d = await this.db.deleteFrom('iam_instance_profile_roles').where('profile_id', '=', p.profile_id).where('role_id', '=', role.roleId).executeTakeFirst();
    if (Number(d.numDeletedRows) === 0) throw noSuch(`Role ${role.name} in instance profile ${p.name} cannot be found.`);
  }

  async deleteInstanceProfile(accountId: string, name: string): Promise<void> {
    const p = await this.profileRow(accountId, name);
    if (await this.db.selectFrom('iam_instance_profile_roles').select('role_id').where('profile_id', '=', p.profile_id).executeTakeFirst()) {
      throw conflict('Cannot delete entity, must remove roles from instance profile first.');
    }
    await this.db.deleteFrom('iam_instance_profiles').where('profile_id', '=', p.profile_id).execute();
  }

  // ---- login profiles -----------------------------------------------------------------------------------------

  async createLoginProfile(accountId: string, userName: string, password: string, resetRequired = false): Promise<LoginProfile> {
    const u = await this.user(accountId, userName);
    checkPassword(password);
    if (await this.db.selectFrom('iam_login_profiles').select('user_id').where('user_id', '=', u.user_id).executeTakeFirst()) {
      throw exists(`Login Profile for user ${u.name} already exists.`);
    }
    const now = Date.now();
    await this.db.insertInto('iam_login_profiles').values({ user_id: u.user_id, account_id: accountId, password_hash: await hashPassword(password), password_reset_required: resetRequired ? 1 : 0, created_at: now }).execute();
    return { userName: u.name, createdAt: new Date(now), passwordResetRequired: resetRequired };
  }

  async getLoginProfile(accountId: string, userName: string): Promise<LoginProfile> {
    const u = await this.user(accountId, userName);
    const r = await this.db.selectFrom('iam_login_profiles').selectAll().where('user_id', '=', u.user_id).executeTakeFirst();
    if (!r) throw noSuch(`Login Profile for User ${u.name} cannot be found.`);
    return { userName: u.name, createdAt: new Date(Number(r.created_at)), passwordResetRequired: Number(r.password_reset_required) === 1 };
  }

  async updateLoginProfile(accountId: string, userName: string, password?: string, resetRequired?: boolean): Promise<void> {
    const u = await this.user(accountId, userName);
    await this.getLoginProfile(accountId, userName);
    const patch: { password_hash?: string; password_reset_required?: number } = {};
    if (password !== undefined) patch.password_hash = await hashPassword(checkPassword(password));
    if (resetRequired !== undefined) patch.password_reset_required = resetRequired ? 1 : 0;
    if (Object.keys(patch).length) await this.db.updateTable('iam_login_profiles').set(patch).where('user_id', '=', u.user_id).execute();
  }

  async deleteLoginProfile(accountId: string, userName: string): Promise<void> {
    const u = await this.user(accountId, userName);
    const d = await this.db.deleteFrom('iam_login_profiles').where('user_id', '=', u.user_id).executeTakeFirst();
    if (Number(d.numDeletedRows) === 0) throw noSuch(`Login Profile for User ${u.name} cannot be found.`);
  }

  /** Checks a user's console password (Eucalyptus console / ChangePassword). */
  async checkLoginPassword(accountId: string, userName: string, password: string): Promise<boolean> {
    const u = await this.user(accountId, userName);
    const r = await this.db.selectFrom('iam_login_profiles').select('password_hash').where('user_id', '=', u.user_id).executeTakeFirst();
    return r ? verifyPassword(password, r.password_hash) : false;
  }

  // ---- tags ---------------------------------------------------------------------------------------------------

  private async tagTarget(accountId: string, kind: TaggedKind, name: string): Promise<string> {
    switch (kind) {
      case 'user':
        return (await this.user(accountId, name)).user_id;
      case 'role':
        return (await this.getRole(accountId, name)).roleId;
      case 'policy':
        return (await this.policyRow(accountId, name)).policy_id;
      case 'instance-profile':
        return (await this.profileRow(accountId, name)).profile_id;
    }
  }

  async tag(accountId: string, kind: TaggedKind, name: string, tags: readonly Tag[]): Promise<void> {
    const id = await this.tagTarget(accountId, kind, name);
    for (const t of tags) {
      if (typeof t.Key !== 'string' || t.Key.length < 1 || t.Key.length > 128 || /^aws:/i.test(t.Key)) throw iamError('InvalidInput', `Invalid tag key ${String(t.Key)}.`);
      if (typeof t.Value !== 'string' || t.Value.length > 256) throw iamError('InvalidInput', `Invalid tag value for key ${t.Key}.`);
    }
    const existing = await this.db.selectFrom('iam_tags').select('tag_key_lc').where('entity_kind', '=', kind).where('entity_id', '=', id).execute();
    const keys = new Set(existing.map((e) => e.tag_key_lc));
    for (const t of tags) keys.add(t.Key.toLowerCase());
    if (keys.size > IAM_LIMITS.TagsPerEntity) throw limit(`Cannot exceed quota for TagsPer${kind === 'user' ? 'User' : kind === 'role' ? 'Role' : 'Resource'}: ${IAM_LIMITS.TagsPerEntity}`);
    for (const t of tags) {
      await this.db.insertInto('iam_tags').values({ account_id: accountId, entity_kind: kind, entity_id: id, tag_key: t.Key, tag_key_lc: t.Key.toLowerCase(), tag_value: t.Value })
        .onConflict((oc) => oc.columns(['entity_kind', 'entity_id', 'tag_key_lc']).doUpdateSet({ tag_key: t.Key, tag_value: t.Value })).execute();
    }
    this.changed(accountId);
  }

  async untag(accountId: string, kind: TaggedKind, name: string, keys: readonly string[]): Promise<void> {
    const id = await this.tagTarget(accountId, kind, name);
    if (keys.length) await this.db.deleteFrom('iam_tags').where('entity_kind', '=', kind).where('entity_id', '=', id).where('tag_key_lc', 'in', keys.map((k) => k.toLowerCase())).execute();
    this.changed(accountId);
  }

  async listTags(accountId: string, kind: TaggedKind, name: string): Promise<Tag[]> {
    const id = await this.tagTarget(accountId, kind, name);
    return this.tagsById(kind, id);
  }

  async tagsById(kind: TaggedKind, id: string): Promise<Tag[]> {
    const rows = await this.db.selectFrom('iam_tags').select(['tag_key', 'tag_value']).where('entity_kind', '=', kind).where('entity_id', '=', id).orderBy('tag_key_lc').execute();
    return rows.map((r) => ({ Key: r.tag_key, Value: r.tag_value }));
  }

  // ---- account alias and summary ------------------------------------------------------------------------------

  /** The account alias is the Eucalyptus account name; an account without an alias has its id as name. */
  async listAccountAliases(accountId: string): Promise<string[]> {
    const a = await this.db.selectFrom('accounts').select('name').where('account_id', '=', accountId).executeTakeFirst();
    return a && a.name !== accountId ? [a.name] : [];
  }

  async createAccountAlias(accountId: string, alias: string): Promise<void> {
    if (typeof alias !== 'string' || alias.length < 3 || alias.length > 63 || !/^[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$/.test(alias) || /^\d{12}$/.test(alias)) {
      throw iamError('ValidationError', `1 validation error detected: Value '${String(alias)}' at 'accountAlias' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$`);
    }
    const current = await this.db.selectFrom('accounts').select('name').where('account_id', '=', accountId).executeTakeFirstOrThrow();
    if (current.name === CLOUD_ADMIN_ACCOUNT) throw iamError('InvalidInput', 'The eucalyptus account alias cannot be changed.');
    if (current.name === alias) return;
    const taken = await this.db.selectFrom('accounts').select('account_id').where('name', '=', alias).executeTakeFirst();
    if (taken) throw exists(`The account alias ${alias} already exists.`);
    await this.db.updateTable('accounts').set({ name: alias }).where('account_id', '=', accountId).execute();
    this.changed(accountId);
  }

  async deleteAccountAlias(accountId: string, alias: string): Promise<void> {
    const current = await this.db.selectFrom('accounts').select('name').where('account_id', '=', accountId).executeTakeFirstOrThrow();
    if (current.name !== alias || current.name === accountId) throw noSuch(`The account alias ${alias} cannot be found.`);
    if (current.name === CLOUD_ADMIN_ACCOUNT) throw iamError('InvalidInput', 'The eucalyptus account alias cannot be deleted.');
    await this.db.updateTable('accounts').set({ name: accountId }).where('account_id', '=', accountId).execute();
    this.changed(accountId);
  }

  async accountSummary(accountId: string): Promise<Record<string, number>> {
    const c = await this.counts(accountId);
    const versions = await this.db.selectFrom('iam_policy_versions').innerJoin('iam_managed_policies', 'iam_managed_policies.policy_id', 'iam_policy_versions.policy_id')
      .select((eb) => eb.fn.countAll().as('n')).where('iam_managed_policies.account_id', '=', accountId).executeTakeFirstOrThrow();
    return {
      Users: c.users, UsersQuota: IAM_LIMITS.Users, Groups: c.groups, GroupsQuota: IAM_LIMITS.Groups, Roles: c.roles, RolesQuota: IAM_LIMITS.Roles,
      Policies: c.policies, PoliciesQuota: IAM_LIMITS.Policies, InstanceProfiles: c.instanceProfiles, InstanceProfilesQuota: IAM_LIMITS.InstanceProfiles,
      PolicyVersionsInUse: Number(versions.n), PolicyVersionsInUseQuota: 10000, VersionsPerPolicyQuota: IAM_LIMITS.VersionsPerPolicy,
      GroupsPerUserQuota: IAM_LIMITS.GroupsPerUser, AttachedPoliciesPerUserQuota: IAM_LIMITS.AttachedPoliciesPerUser,
      AttachedPoliciesPerGroupQuota: IAM_LIMITS.AttachedPoliciesPerGroup, AttachedPoliciesPerRoleQuota: IAM_LIMITS.AttachedPoliciesPerRole,
      PolicySizeQuota: IAM_LIMITS.PolicySize, UserPolicySizeQuota: IAM_LIMITS.UserPolicySize, GroupPolicySizeQuota: IAM_LIMITS.GroupPolicySize,
      RolePolicySizeQuota: IAM_LIMITS.RolePolicySize, AccessKeysPerUserQuota: IAM_LIMITS.AccessKeysPerUser, ServerCertificates: 0, ServerCertificatesQuota: 20,
      SigningCertificatesPerUserQuota: 2, MFADevices: 0, MFADevicesInUse: 0, AccountMFAEnabled: 0, AccountAccessKeysPresent: 0,
      AccountSigningCertificatesPresent: 0, GlobalEndpointTokenVersion: 1, AssumeRolePolicySizeQuota: 2048,
    };
  }

  // ---- what the authorizer needs -------------------------------------------------------------------------------

  /** Documents of a user's identity policies: inline + attached (default versions) + each group's inline + attached. */
  async userPolicyDocuments(userId: string): Promise<Array<{ name: string; document: string }>> {
    const groups = await this.db.selectFrom('iam_group_members').select('group_id').where('user_id', '=', userId).execute();
    const groupIds = groups.map((g) => g.group_id);
    const owners: Array<[PolicyOwnerKind, string]> = [['user', userId], ...groupIds.map((g) => ['group', g] as [PolicyOwnerKind, string])];
    return this.policyDocuments(owners);
  }

  async groupPolicyDocuments(groupId: string): Promise<Array<{ name: string; document: string }>> {
    return this.policyDocuments([['group', groupId]]);
  }

  async rolePolicyDocuments(roleId: string): Promise<Array<{ name: string; document: string }>> {
    return this.policyDocuments([['role', roleId]]);
  }

  /** The Eucalyptus account policies (quotas set by the cloud admin). */
  async accountPolicyDocuments(accountId: string): Promise<Array<{ name: string; document: string }>> {
    const rows = await this.db.selectFrom('iam_inline_policies').select(['name', 'document']).where('owner_kind', '=', 'account').where('owner_id', '=', accountId).orderBy('name').execute();
    return rows.map((r) => ({ name: `account/${r.name}`, document: r.document }));
  }

  private async policyDocuments(owners: Array<[PolicyOwnerKind, string]>): Promise<Array<{ name: string; document: string }>> {
    const out: Array<{ name: string; document: string }> = [];
    for (const [kind, id] of owners) {
      const inline = await this.db.selectFrom('iam_inline_policies').select(['name', 'document']).where('owner_kind', '=', kind).where('owner_id', '=', id).orderBy('name').execute();
      for (const r of inline) out.push({ name: `${kind}:${id}/inline/${r.name}`, document: r.document });
      if (kind === 'account') continue;
      const attached = await this.db.selectFrom('iam_policy_attachments')
        .innerJoin('iam_managed_policies', 'iam_managed_policies.policy_id', 'iam_policy_attachments.policy_id')
        .innerJoin('iam_policy_versions', (j) => j.onRef('iam_policy_versions.policy_id', '=', 'iam_managed_policies.policy_id').onRef('iam_policy_versions.version_id', '=', 'iam_managed_policies.default_version'))
        .select(['iam_managed_policies.name', 'iam_managed_policies.path', 'iam_managed_policies.account_id', 'iam_policy_versions.document'])
        .where('iam_policy_attachments.entity_kind', '=', kind as EntityKind).where('iam_policy_attachments.entity_id', '=', id).execute();
      for (const r of attached) out.push({ name: `arn:aws:iam::${r.account_id}:policy${r.path}${r.name}`, document: r.document });
      const aws = await this.db.selectFrom('iam_aws_policy_attachments').select('policy_name').where('entity_kind', '=', kind as EntityKind).where('entity_id', '=', id).execute();
      for (const a of aws) {
        const p = AWS_MANAGED_POLICIES.get(a.policy_name.toLowerCase());
        if (p) out.push({ name: p.arn, document: p.document });
      }
    }
    return out;
  }

  /** Is this the account's admin user (Eucalyptus: allowed everything in its account)? */
  static isAdminName(name: string): boolean {
    return name === ADMIN_USER;
  }
}
