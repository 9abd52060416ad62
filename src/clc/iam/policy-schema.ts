/**
 * @module clc/iam/policy-schema
 * Tables for groups, policies (inline, managed with versions, attachments, Eucalyptus account policies), roles,
 * instance profiles, login profiles, tags and STS sessions; migrations `iam-002…`. Rows reference accounts and users
 * with ON DELETE CASCADE so that deleting an account removes everything in it.
 */
import type { NamedMigration } from '../../db/index.js';

export type PolicyOwnerKind = 'user' | 'group' | 'role' | 'account';
export type EntityKind = 'user' | 'group' | 'role';
export type TaggedKind = 'user' | 'role' | 'policy' | 'instance-profile';

export interface GroupsTable {
  group_id: string;
  account_id: string;
  name: string;
  name_lc: string;
  path: string;
  created_at: number;
}

export interface GroupMembersTable {
  group_id: string;
  user_id: string;
  account_id: string;
  added_at: number;
}

export interface InlinePoliciesTable {
  account_id: string;
  owner_kind: PolicyOwnerKind;
  /** user_id, group_id, role_id, or the account id for account policies. */
  owner_id: string;
  name: string;
  document: string;
  created_at: number;
}

export interface ManagedPoliciesTable {
  policy_id: string;
  account_id: string;
  name: string;
  name_lc: string;
  path: string;
  description: string | null;
  default_version: string;
  next_version: number;
  created_at: number;
  updated_at: number;
}

export interface PolicyVersionsTable {
  policy_id: string;
  version_id: string;
  document: string;
  created_at: number;
}

export interface PolicyAttachmentsTable {
  policy_id: string;
  account_id: string;
  entity_kind: EntityKind;
  entity_id: string;
  attached_at: number;
}

export interface RolesTable {
  role_id: string;
  account_id: string;
  name: string;
  name_lc: string;
  path: string;
  trust_policy: string;
  description: string | null;
  max_session_duration: number;
  created_at: number;
}

export interface InstanceProfilesTable {
  profile_id: string;
  account_id: string;
  name: string;
  name_lc: string;
  path: string;
  created_at: number;
}

export interface InstanceProfileRolesTable {
  profile_id: string;
  role_id: string;
}

export interface LoginProfilesTable {
  user_id: string;
  account_id: string;
  password_hash: string;
  password_reset_required: number;
  created_at: number;
}

export interface TagsTable {
  account_id: string;
  entity_kind: TaggedKind;
  entity_id: string;
  tag_key: string;
  tag_key_lc: string;
  tag_value: string;
}

export interface StsSessionsTable {
  access_key_id: string;
  secret_access_key: string;
  session_token: string;
  account_id: string;
  kind: 'session' | 'role';
  /** The user behind a GetSessionToken session, or who assumed the role. */
  user_id: string | null;
  role_id: string | null;
  role_session_name: string | null;
  session_policy: string | null;
  /** The caller's ARN (SourceIdentity for audits). */
  source_arn: string;
  created_at: number;
  expires_at: number;
}

export interface AwsPolicyAttachmentsTable {
  policy_name: string;
  account_id: string;
  entity_kind: EntityKind;
  entity_id: string;
  attached_at: number;
}

export interface IamPolicyTables {
  iam_aws_policy_attachments: AwsPolicyAttachmentsTable;
  iam_groups: GroupsTable;
  iam_group_members: GroupMembersTable;
  iam_inline_policies: InlinePoliciesTable;
  iam_managed_policies: ManagedPoliciesTable;
  iam_policy_versions: PolicyVersionsTable;
  iam_policy_attachments: PolicyAttachmentsTable;
  iam_roles: RolesTable;
  iam_instance_profiles: InstanceProfilesTable;
  iam_instance_profile_roles: InstanceProfileRolesTable;
  iam_login_profiles: LoginProfilesTable;
  iam_tags: TagsTable;
  sts_sessions: StsSessionsTable;
}

const acct = (c: any) => c.notNull().references('accounts.account_id').onDelete('cascade');

export const iamPolicyMigrations: NamedMigration[] = [
  {
    name: 'iam-002-groups-policies-roles',
    up: async (db) => {
      await db.schema.createTable('iam_groups')
        .addColumn('group_id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', acct)
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_lc', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('iam_groups_account_name', ['account_id', 'name_lc'])
        .execute();
      await db.schema.createTable('iam_group_members')
        .addColumn('group_id', 'text', (c) => c.notNull().references('iam_groups.group_id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.user_id').onDelete('cascade'))
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('added_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('iam_group_members_pk', ['group_id', 'user_id'])
        .execute();
      await db.schema.createIndex('iam_group_members_user').on('iam_group_members').column('user_id').execute();
      await db.schema.createTable('iam_inline_policies')
        .addColumn('account_id', 'text', acct)
        .addColumn('owner_kind', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('document', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('iam_inline_policies_pk', ['owner_kind', 'owner_id', 'name'])
        .execute();
      await db.schema.createTable('iam_managed_policies')
        .addColumn('policy_id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', acct)
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_lc', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('default_version', 'text', (c) => c.notNull())
        .addColumn('next_version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('iam_managed_policies_account_name', ['account_id', 'name_lc'])
        .execute();
      await db.schema.createTable('iam_policy_versions')
        .addColumn('policy_id', 'text', (c) => c.notNull().references('iam_managed_policies.policy_id').onDelete('cascade'))
        .addColumn('version_id', 'text', (c) => c.notNull())
        .addColumn('document', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('iam_policy_versions_pk', ['policy_id', 'version_id'])
        .execute();
      await db.schema.createTable('iam_policy_attachments')
        .addColumn('policy_id', 'text', (c) => c.notNull().references('iam_managed_policies.policy_id').onDelete('cascade'))
        .addColumn('account_id', 'text', acct)
        .addColumn('entity_kind', 'text', (c) => c.notNull())
        .addColumn('entity_id', 'text', (c) => c.notNull())
        .addColumn('attached_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('iam_policy_attachments_pk', ['policy_id', 'entity_kind', 'entity_id'])
        .execute();
      await db.schema.createIndex('iam_policy_attachments_entity').on('iam_policy_attachments').columns(['entity_kind', 'entity_id']).execute();
      await db.schema.createTable('iam_roles')
        .addColumn('role_id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', acct)
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_lc', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('trust_policy', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('max_session_duration', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('iam_roles_account_name', ['account_id', 'name_lc'])
        .execute();
      await db.schema.createTable('iam_instance_profiles')
        .addColumn('profile_id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', acct)
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_lc', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('iam_instance_profiles_account_name', ['account_id', 'name_lc'])
        .execute();
      await db.schema.createTable('iam_instance_profile_roles')
        .addColumn('profile_id', 'text', (c) => c.notNull().references('iam_instance_profiles.profile_id').onDelete('cascade'))
        .addColumn('role_id', 'text', (c) => c.notNull().references('iam_roles.role_id').onDelete('cascade'))
        .addPrimaryKeyConstraint('iam_instance_profile_roles_pk', ['profile_id', 'role_id'])
        .execute();
      await db.schema.createTable('iam_login_profiles')
        .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.user_id').onDelete('cascade'))
        .addColumn('account_id', 'text', acct)
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('password_reset_required', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createTable('iam_tags')
        .addColumn('account_id', 'text', acct)
        .addColumn('entity_kind', 'text', (c) => c.notNull())
        .addColumn('entity_id', 'text', (c) => c.notNull())
        .addColumn('tag_key', 'text', (c) => c.notNull())
        .addColumn('tag_key_lc', 'text', (c) => c.notNull())
        .addColumn('tag_value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('iam_tags_pk', ['entity_kind', 'entity_id', 'tag_key_lc'])
        .execute();
      await db.schema.createTable('sts_sessions')
        .addColumn('access_key_id', 'text', (c) => c.primaryKey())
        .addColumn('secret_access_key', 'text', (c) => c.notNull())
        .addColumn('session_token', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', acct)
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('role_id', 'text')
        .addColumn('role_session_name', 'text')
        .addColumn('session_policy', 'text')
        .addColumn('source_arn', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sts_sessions_expires').on('sts_sessions').column('expires_at').execute();
    },
  },
  {
    name: 'iam-003-aws-managed-policy-attachments',
    up: async (db) => {
      await db.schema.createTable('iam_aws_policy_attachments')
        .addColumn('policy_name', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', acct)
        .addColumn('entity_kind', 'text', (c) => c.notNull())
        .addColumn('entity_id', 'text', (c) => c.notNull())
        .addColumn('attached_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('iam_aws_policy_attachments_pk', ['policy_name', 'entity_kind', 'entity_id'])
        .execute();
      await db.schema.createIndex('iam_aws_policy_attachments_entity').on('iam_aws_policy_attachments').columns(['entity_kind', 'entity_id']).execute();
    },
  },
];
