/**
 * @module api/iam/authorization-details
 * GetAccountAuthorizationDetails: every user, group, role and managed policy of the account with their inline
 * policies, attachments, memberships, instance profiles and policy versions (the IAM audit snapshot), filtered by
 * entity type and paged with Marker/MaxItems across the combined list, as AWS does.
 */
import type { IamDirectory, IamStore } from '../../clc/index.js';
import type { HandlerTable } from '../gateway/index.js';
import { pageItems } from './users.js';

export interface AuthorizationDetailsDeps { iam: IamStore; directory: IamDirectory }

type Item = { kind: 'user' | 'group' | 'role' | 'policy'; sort: string; build: () => Promise<object> };

export function createIamAuthorizationDetailsHandlers(deps: AuthorizationDetailsDeps): HandlerTable {
  const { iam, directory: dir } = deps;
  return {
    GetAccountAuthorizationDetails: {
      authz: (_i, ctx) => [{ action: 'iam:GetAccountAuthorizationDetails', resources: ['*'], resourceAccount: ctx.principal.accountId }],
      handle: async (i: { Filter?: string[]; Marker?: string; MaxItems?: number }, ctx) => {
        const acct = ctx.principal.accountId;
        const want = (t: string): boolean => !i.Filter?.length || i.Filter.includes(t);
        const inline = async (kind: 'user' | 'group' | 'role', name: string) =>
          Promise.all((await dir.listInlinePolicies(acct, kind, name)).map(async (n) => ({ PolicyName: n, PolicyDocument: (await dir.getInlinePolicy(acct, kind, name, n)).document })));
        const attached = async (kind: 'user' | 'group' | 'role', name: string) =>
          (await dir.listAttachedPolicies(acct, kind, name)).map((p) => ({ PolicyName: p.name, PolicyArn: p.arn }));
        const items: Item[] = [];
        if (want('User')) {
          for (const u of await iam.listUsers(acct)) {
            items.push({ kind: 'user', sort: `1:${u.name.toLowerCase()}`, build: async () => {
              const tags = await dir.tagsById('user', u.userId);
              return {
                Path: u.path, UserName: u.name, UserId: u.userId, Arn: u.arn, CreateDate: u.createdAt,
                UserPolicyList: await inline('user', u.name), GroupList: (await dir.groupsForUser(acct, u.name)).map((g) => g.name),
                AttachedManagedPolicies: await attached('user', u.name), ...(tags.length ? { Tags: tags } : {}),
              };
            } });
          }
        }
        if (want('Group')) {
          for (const g of await dir.listGroups(acct)) {
            items.push({ kind: 'group', sort: `2:${g.name.toLowerCase()}`, build: async () => ({
              Path: g.path, GroupName: g.name, GroupId: g.groupId, Arn: g.arn, CreateDate: g.createdAt,
              GroupPolicyList: await inline('group', g.name), AttachedManagedPolicies: await attached('group', g.name),
            }) });
          }
        }
        if (want('Role')) {
          for (const r of await dir.listRoles(acct)) {
            items.push({ kind: 'role', sort: `3:${r.name.toLowerCase()}`, build: async () => {
              const tags = await dir.tagsById('role', r.roleId);
              return {
                Path: r.path, RoleName: r.name, RoleId: r.roleId, Arn: r.arn, CreateDate: r.createdAt, AssumeRolePolicyDocument: r.trustPolicy,
                InstanceProfileList: (await dir.listInstanceProfilesForRole(acct, r.name)).map((p) => ({
                  Path: p.path, InstanceProfileName: p.name, InstanceProfileId: p.profileId, Arn: p.arn, CreateDate: p.createdAt,
                  Roles: p.roles.map((x) => ({ Path: x.path, RoleName: x.name, RoleId: x.roleId, Arn: x.arn, CreateDate: x.createdAt, AssumeRolePolicyDocument: x.trustPolicy })),
                })),
                RolePolicyList: await inline('role', r.name), AttachedManagedPolicies: await attached('role', r.name), ...(tags.length ? { Tags: tags } : {}),
              };
            } });
          }
        }
        const local = want('LocalManagedPolicy');
        const aws = want('AWSManagedPolicy');
        if (local || aws) {
          const scope = local && aws ? 'All' : local ? 'Local' : 'AWS';
          // AWS lists AWS managed policies here only when attached
          for (const p of await dir.listPolicies(acct, { scope })) {
            if (p.accountId === 'aws' && p.attachmentCount === 0) continue;
            items.push({ kind: 'policy', sort: `4:${p.accountId === 'aws' ? '0' : '1'}:${p.name.toLowerCase()}`, build: async () => ({
              PolicyName: p.name, PolicyId: p.policyId, Arn: p.arn, Path: p.path, DefaultVersionId: p.defaultVersionId, AttachmentCount: p.attachmentCount,
              PermissionsBoundaryUsageCount: 0, IsAttachable: true, CreateDate: p.createdAt, UpdateDate: p.updatedAt,
              ...(p.description !== undefined ? { Description: p.description } : {}),
              PolicyVersionList: (await dir.listPolicyVersions(acct, p.arn)).map((v) => ({ Document: v.document, VersionId: v.versionId, IsDefaultVersion: v.isDefault, CreateDate: v.createdAt })),
            }) });
          }
        }
        const { page, ...rest } = pageItems(items, i, (x) => x.sort);
        const built = await Promise.all(page.map(async (x) => ({ kind: x.kind, v: await x.build() })));
        const of = (k: Item['kind']) => built.filter((b) => b.kind === k).map((b) => b.v);
        return { UserDetailList: of('user'), GroupDetailList: of('group'), RoleDetailList: of('role'), Policies: of('policy'), ...rest };
      },
    },
  };
}
