/**
 * @module api/iam/directory
 * IAM handlers beyond users and access keys: groups and membership, inline policies (users, groups, roles), customer
 * managed policies with versions and attachments, roles, instance profiles, login profiles, user/role/policy tags,
 * account aliases, GetAccountSummary, ListEntitiesForPolicy. Policy documents are returned URL-encoded, as AWS does.
 * Creating users, groups, roles, policies and instance profiles honours Eucalyptus `Limit` quotas
 * (`iam:quota-usernumber` …).
 */
import { AwsError, type Principal } from '../../shared/index.js';
import type { IamAuthorizer, IamDirectory, IamStore, Group, ManagedPolicy, Role, InstanceProfile, Tag, EntityKind } from '../../clc/index.js';
import type { AuthzRequest, HandlerTable, OperationHandler, RequestContext } from '../gateway/index.js';
import { createIamUserHandlers, pageItems, targetUserName } from './users.js';

export interface IamDirectoryHandlerDeps {
  iam: IamStore;
  directory: IamDirectory;
  authorizer: IamAuthorizer;
}

const arn = (acct: string, kind: string, path: string, name: string): string => `arn:aws:iam::${acct}:${kind}${path}${name}`;
/** Documents go out as stored: the serializer URL-encodes `policyDocumentType` as IAM does. */
const enc = (doc: string): string => doc;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

const groupOut = (g: Group) => ({ Path: g.path, GroupName: g.name, GroupId: g.groupId, Arn: g.arn, CreateDate: g.createdAt });
const roleOut = (r: Role, tags?: Tag[]) => ({
  Path: r.path, RoleName: r.name, RoleId: r.roleId, Arn: r.arn, CreateDate: r.createdAt, AssumeRolePolicyDocument: enc(r.trustPolicy),
  MaxSessionDuration: r.maxSessionDuration, ...(r.description !== undefined ? { Description: r.description } : {}), ...(tags && tags.length ? { Tags: tags } : {}),
});
const policyOut = (p: ManagedPolicy, tags?: Tag[]) => ({
  PolicyName: p.name, PolicyId: p.policyId, Arn: p.arn, Path: p.path, DefaultVersionId: p.defaultVersionId, AttachmentCount: p.attachmentCount,
  PermissionsBoundaryUsageCount: 0, IsAttachable: true, CreateDate: p.createdAt, UpdateDate: p.updatedAt,
  ...(p.description !== undefined ? { Description: p.description } : {}), ...(tags && tags.length ? { Tags: tags } : {}),
});
const profileOut = (p: InstanceProfile) => ({
  Path: p.path, InstanceProfileName: p.name, InstanceProfileId: p.profileId, Arn: p.arn, CreateDate: p.createdAt, Roles: p.roles.map((r) => roleOut(r)),
});

/** A handler asking for one action on one resource of the caller's account. */
function one<I>(action: string, resource: (i: NoInfer<I>, ctx: RequestContext) => string | Promise<string>, handle: (i: I, ctx: RequestContext) => Promise<object>): OperationHandler<I> {
  return {
    authz: async (i, ctx): Promise<AuthzRequest[]> => [{ action, resources: [await resource(i, ctx)], resourceAccount: ctx.principal.accountId }],
    handle,
  };
}

function tags(v: unknown): Tag[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new AwsError('ValidationError', 'Tags must be a list.');
  return v.map((t: { Key?: unknown; Value?: unknown }) => ({ Key: str(t.Key), Value: str(t.Value) }));
}

export function createIamDirectoryHandlers(deps: IamDirectoryHandlerDeps): HandlerTable {
  const { iam, directory: dir, authorizer } = deps;
  const acct = (ctx: RequestContext): string => ctx.principal.accountId;

  // resource ARNs of existing entities (their path), or of the would-be entity
  const userRes = async (name: string, ctx: RequestContext): Promise<string> => {
    const u = await iam.findUser(acct(ctx), name);
    return arn(acct(ctx), 'user', u?.path ?? '/', u?.name ?? name);
  };
  const groupRes = async (name: unknown, ctx: RequestContext): Promise<string> => {
    const g = await dir.findGroup(acct(ctx), str(name));
    return arn(acct(ctx), 'group', g?.path ?? '/', g?.name ?? str(name));
  };
  const roleRes = async (name: unknown, ctx: RequestContext): Promise<string> => {
    const r = await dir.findRole(acct(ctx), str(name));
    return arn(acct(ctx), 'role', r?.path ?? '/', r?.name ?? str(name));
  };
  const profileRes = (name: unknown, ctx: RequestContext): string => arn(acct(ctx), 'instance-profile', '/', str(name));
  const self = (i: { UserName?: unknown }, p: Principal): string => targetUserName(i, p);

  /** Quota check before creating one more of something. */
  async function quota(ctx: RequestContext, action: string, key: string, count: (c: Awaited<ReturnType<IamDirectory['counts']>>) => number): Promise<void> {
    const c = await dir.counts(acct(ctx));
    await authorizer.enforceQuota(ctx, action, { [key]: count(c) + 1 });
  }

  const entityPolicyHandlers = (kind: EntityKind, Kind: 'User' | 'Group' | 'Role', res: (name: string, ctx: RequestContext) => Promise<string>): HandlerTable => {
    const nameOf = (i: Record<string, unknown>, p: Principal): string => (kind === 'user' ? self(i as { UserName?: unknown }, p) : str(i[`${Kind}Name`]));
    const h: HandlerTable = {};
    h[`Put${Kind}Policy`] = one(`iam:Put${Kind}Policy`, (i: Record<string, unknown>, ctx) => res(nameOf(i, ctx.principal), ctx), async (i: Record<string, unknown>, ctx) => {
      await dir.putInlinePolicy(acct(ctx), kind, nameOf(i, ctx.principal), str(i.PolicyName), str(i.PolicyDocument));
      return {};
    });
    h[`Get${Kind}Policy`] = one(`iam:Get${Kind}Policy`, (i: Record<string, unknown>, ctx) => res(nameOf(i, ctx.principal), ctx), async (i: Record<string, unknown>, ctx) => {
      const name = nameOf(i, ctx.principal);
      const p = await dir.getInlinePolicy(acct(ctx), kind, name, str(i.PolicyName));
      return { [`${Kind}Name`]: name, PolicyName: p.name, PolicyDocument: enc(p.document) };
    });
    h[`Delete${Kind}Policy`] = one(`iam:Delete${Kind}Policy`, (i: Record<string, unknown>, ctx) => res(nameOf(i, ctx.principal), ctx), async (i: Record<string, unknown>, ctx) => {
      await dir.deleteInlinePolicy(acct(ctx), kind, nameOf(i, ctx.principal), str(i.PolicyName));
      return {};
    });
    h[`List${Kind}Policies`] = one(`iam:List${Kind}Policies`, (i: Record<string, unknown>, ctx) => res(nameOf(i, ctx.principal), ctx), async (i: Record<string, unknown>, ctx) => {
      const names = await dir.listInlinePolicies(acct(ctx), kind, nameOf(i, ctx.principal));
      const { page, ...rest } = pageItems(names, i, (n) => n);
      return { PolicyNames: page, ...rest };
    });
    h[`Attach${Kind}Policy`] = one(`iam:Attach${Kind}Policy`, (i: Record<string, unknown>, ctx) => res(nameOf(i, ctx.principal), ctx), async (i: Record<string, unknown>, ctx) => {
      await dir.attachPolicy(acct(ctx), kind, nameOf(i, ctx.principal), str(i.PolicyArn));
      return {};
    });
    h[`Detach${Kind}Policy`] = one(`iam:Detach${Kind}Policy`, (i: Record<string, unknown>, ctx) => res(nameOf(i, ctx.principal), ctx), async (i: Record<string, unknown>, ctx) => {
      await dir.detachPolicy(acct(ctx), kind, nameOf(i, ctx.principal), str(i.PolicyArn));
      return {};
    });
    h[`ListAttached${Kind}Policies`] = one(`iam:ListAttached${Kind}Policies`, (i: Record<string, unknown>, ctx) => res(nameOf(i, ctx.principal), ctx), async (i: Record<string, unknown>, ctx) => {
      const list = await dir.listAttachedPolicies(acct(ctx), kind, nameOf(i, ctx.principal), typeof i.PathPrefix === 'string' ? i.PathPrefix : '/');
      const { page, ...rest } = pageItems(list, i, (p) => p.name.toLowerCase());
      return { AttachedPolicies: page.map((p) => ({ PolicyName: p.name, PolicyArn: p.arn })), ...rest };
    });
    return h;
  };

  const base = createIamUserHandlers({ iam });
  const baseCreateUser = base.CreateUser!;
  const baseDeleteUser = base.DeleteUser!;

  return {
    // ---- users: quotas, tags, and AWS's delete preconditions on top of the user handlers
    CreateUser: {
      ...(baseCreateUser.authz ? { authz: baseCreateUser.authz } : {}),
      handle: async (i: { UserName: string; Path?: string; Tags?: unknown }, ctx) => {
        const t = tags(i.Tags);
        await quota(ctx, 'iam:CreateUser', 'iam:quota-usernumber', (c) => c.users);
        const out = (await baseCreateUser.handle(i, ctx)) as { User: Record<string, unknown> };
        if (t.length) {
          await dir.tag(acct(ctx), 'user', i.UserName, t);
          out.User.Tags = t;
        }
        return out;
      },
    },
    DeleteUser: {
      ...(baseDeleteUser.authz ? { authz: baseDeleteUser.authz } : {}),
      handle: async (i: { UserName: string }, ctx) => {
        const u = await iam.getUser(acct(ctx), i.UserName);
        await dir.assertUserDeletable(acct(ctx), i.UserName);
        const out = await baseDeleteUser.handle(i, ctx);
        await dir.userDeleted(acct(ctx), u.userId);
        return out;
      },
    },
    TagUser: one('iam:TagUser', (i: { UserName: string }, ctx) => userRes(i.UserName, ctx), async (i: { UserName: string; Tags: unknown }, ctx) => {
      await dir.tag(acct(ctx), 'user', i.UserName, tags(i.Tags));
      return {};
    }),
    UntagUser: one('iam:UntagUser', (i: { UserName: string }, ctx) => userRes(i.UserName, ctx), async (i: { UserName: string; TagKeys: string[] }, ctx) => {
      await dir.untag(acct(ctx), 'user', i.UserName, i.TagKeys ?? []);
      return {};
    }),
    ListUserTags: one('iam:ListUserTags', (i: { UserName: string }, ctx) => userRes(i.UserName, ctx), async (i: { UserName: string; Marker?: string; MaxItems?: number }, ctx) => {
      const { page, ...rest } = pageItems(await dir.listTags(acct(ctx), 'user', i.UserName), i, (t) => t.Key.toLowerCase());
      return { Tags: page, ...rest };
    }),

    // ---- groups
    CreateGroup: one('iam:CreateGroup', (i: { GroupName: string; Path?: string }, ctx) => arn(acct(ctx), 'group', i.Path ?? '/', i.GroupName), async (i: { GroupName: string; Path?: string }, ctx) => {
      await quota(ctx, 'iam:CreateGroup', 'iam:quota-groupnumber', (c) => c.groups);
      return { Group: groupOut(await dir.createGroup(acct(ctx), i.GroupName, i.Path)) };
    }),
    GetGroup: one('iam:GetGroup', (i: { GroupName: string }, ctx) => groupRes(i.GroupName, ctx), async (i: { GroupName: string; Marker?: string; MaxItems?: number }, ctx) => {
      const { group, users } = await dir.groupMembers(acct(ctx), i.GroupName);
      const { page, ...rest } = pageItems(users, i, (u) => u.name.toLowerCase());
      return {
        Group: groupOut(group),
        Users: page.map((u) => ({ Path: u.path, UserName: u.name, UserId: u.userId, Arn: arn(acct(ctx), 'user', u.path, u.name), CreateDate: u.createdAt })),
        ...rest,
      };
    }),
    ListGroups: one('iam:ListGroups', (_i, ctx) => arn(acct(ctx), 'group', '/', '*'), async (i: { PathPrefix?: string; Marker?: string; MaxItems?: number }, ctx) => {
      const { page, ...rest } = pageItems(await dir.listGroups(acct(ctx), i.PathPrefix ?? '/'), i, (g) => g.name.toLowerCase());
      return { Groups: page.map(groupOut), ...rest };
    }),
    UpdateGroup: one('iam:UpdateGroup', (i: { GroupName: string }, ctx) => groupRes(i.GroupName, ctx), async (i: { GroupName: string; NewGroupName?: string; NewPath?: string }, ctx) => {
      await dir.updateGroup(acct(ctx), i.GroupName, i.NewGroupName, i.NewPath);
      return {};
    }),
    DeleteGroup: one('iam:DeleteGroup', (i: { GroupName: string }, ctx) => groupRes(i.GroupName, ctx), async (i: { GroupName: string }, ctx) => {
      await dir.deleteGroup(acct(ctx), i.GroupName);
      return {};
    }),
    AddUserToGroup: one('iam:AddUserToGroup', (i: { GroupName: string }, ctx) => groupRes(i.GroupName, ctx), async (i: { GroupName: string; UserName: string }, ctx) => {
      await dir.addUserToGroup(acct(ctx), i.GroupName, i.UserName);
      return {};
    }),
    RemoveUserFromGroup: one('iam:RemoveUserFromGroup', (i: { GroupName: string }, ctx) => groupRes(i.GroupName, ctx), async (i: { GroupName: string; UserName: string }, ctx) => {
      await dir.removeUserFromGroup(acct(ctx), i.GroupName, i.UserName);
      return {};
    }),
    ListGroupsForUser: one('iam:ListGroupsForUser', (i: { UserName: string }, ctx) => userRes(i.UserName, ctx), async (i: { UserName: string; Marker?: string; MaxItems?: number }, ctx) => {
      const { page, ...rest } = pageItems(await dir.groupsForUser(acct(ctx), i.UserName), i, (g) => g.name.toLowerCase());
      return { Groups: page.map(groupOut), ...rest };
    }),

    // ---- inline and attached policies of users, groups and roles
    ...entityPolicyHandlers('user', 'User', (n, ctx) => userRes(n, ctx)),
    ...entityPolicyHandlers('group', 'Group', (n, ctx) => groupRes(n, ctx)),
    ...entityPolicyHandlers('role', 'Role', (n, ctx) => roleRes(n, ctx)),

    // ---- managed policies
    CreatePolicy: one('iam:CreatePolicy', (i: { PolicyName: string; Path?: string }, ctx) => arn(acct(ctx), 'policy', i.Path ?? '/', i.PolicyName),
      async (i: { PolicyName: string; Path?: string; PolicyDocument: string; Description?: string; Tags?: unknown }, ctx) => {
        const t = tags(i.Tags);
        await quota(ctx, 'iam:CreatePolicy', 'iam:quota-policynumber', (c) => c.policies);
        const p = await dir.createPolicy(acct(ctx), i.PolicyName, i.PolicyDocument, { ...(i.Path !== undefined ? { path: i.Path } : {}), ...(i.Description !== undefined ? { description: i.Description } : {}) });
        if (t.length) await dir.tag(acct(ctx), 'policy', p.arn, t);
        return { Policy: policyOut(p, t) };
      }),
    GetPolicy: one('iam:GetPolicy', (i: { PolicyArn: string }) => i.PolicyArn, async (i: { PolicyArn: string }, ctx) => {
      const p = await dir.getPolicy(acct(ctx), i.PolicyArn);
      return { Policy: policyOut(p, await dir.tagsById('policy', p.policyId)) };
    }),
    ListPolicies: one('iam:ListPolicies', (_i, ctx) => arn(acct(ctx), 'policy', '/', '*'),
      async (i: { Scope?: string; OnlyAttached?: boolean; PathPrefix?: string; Marker?: string; MaxItems?: number }, ctx) => {
        const scope = i.Scope === 'AWS' || i.Scope === 'Local' ? i.Scope : 'All';
        const list = await dir.listPolicies(acct(ctx), { pathPrefix: i.PathPrefix ?? '/', onlyAttached: i.OnlyAttached === true, scope });
        const { page, ...rest } = pageItems(list, i, (p) => `${p.accountId === 'aws' ? '0' : '1'}:${p.name.toLowerCase()}`);
        return { Policies: page.map((p) => policyOut(p)), ...rest };
      }),
    DeletePolicy: one('iam:DeletePolicy', (i: { PolicyArn: string }) => i.PolicyArn, async (i: { PolicyArn: string }, ctx) => {
      await dir.deletePolicy(acct(ctx), i.PolicyArn);
      return {};
    }),
    CreatePolicyVersion: one('iam:CreatePolicyVersion', (i: { PolicyArn: string }) => i.PolicyArn, async (i: { PolicyArn: string; PolicyDocument: string; SetAsDefault?: boolean }, ctx) => {
      const v = await dir.createPolicyVersion(acct(ctx), i.PolicyArn, i.PolicyDocument, i.SetAsDefault === true);
      return { PolicyVersion: { VersionId: v.versionId, IsDefaultVersion: v.isDefault, CreateDate: v.createdAt } };
    }),
    GetPolicyVersion: one('iam:GetPolicyVersion', (i: { PolicyArn: string }) => i.PolicyArn, async (i: { PolicyArn: string; VersionId: string }, ctx) => {
      const v = await dir.getPolicyVersion(acct(ctx), i.PolicyArn, i.VersionId);
      return { PolicyVersion: { Document: enc(v.document), VersionId: v.versionId, IsDefaultVersion: v.isDefault, CreateDate: v.createdAt } };
    }),
    ListPolicyVersions: one('iam:ListPolicyVersions', (i: { PolicyArn: string }) => i.PolicyArn, async (i: { PolicyArn: string; Marker?: string; MaxItems?: number }, ctx) => {
      const versions = await dir.listPolicyVersions(acct(ctx), i.PolicyArn);
      const { page, ...rest } = pageItems(versions, i, (v) => String(1e9 - Number(v.versionId.slice(1))).padStart(10, '0'));
      return { Versions: page.map((v) => ({ VersionId: v.versionId, IsDefaultVersion: v.isDefault, CreateDate: v.createdAt })), ...rest };
    }),
    DeletePolicyVersion: one('iam:DeletePolicyVersion', (i: { PolicyArn: string }) => i.PolicyArn, async (i: { PolicyArn: string; VersionId: string }, ctx) => {
      await dir.deletePolicyVersion(acct(ctx), i.PolicyArn, i.VersionId);
      return {};
    }),
    SetDefaultPolicyVersion: one('iam:SetDefaultPolicyVersion', (i: { PolicyArn: string }) => i.PolicyArn, async (i: { PolicyArn: string; VersionId: string }, ctx) => {
      await dir.setDefaultPolicyVersion(acct(ctx), i.PolicyArn, i.VersionId);
      return {};
    }),
    ListEntitiesForPolicy: one('iam:ListEntitiesForPolicy', (i: { PolicyArn: string }) => i.PolicyArn,
      async (i: { PolicyArn: string; EntityFilter?: string; PathPrefix?: string; Marker?: string; MaxItems?: number }, ctx) => {
        const e = await dir.listEntitiesForPolicy(acct(ctx), i.PolicyArn, i.EntityFilter, i.PathPrefix ?? '/');
        const all = [...e.groups, ...e.users, ...e.roles];
        const { page, ...rest } = pageItems(all, i, (x) => `${x.kind}:${x.name.toLowerCase()}`);
        return {
          PolicyGroups: page.filter((x) => x.kind === 'group').map((x) => ({ GroupName: x.name, GroupId: x.id })),
          PolicyUsers: page.filter((x) => x.kind === 'user').map((x) => ({ UserName: x.name, UserId: x.id })),
          PolicyRoles: page.filter((x) => x.kind === 'role').map((x) => ({ RoleName: x.name, RoleId: x.id })),
          ...rest,
        };
      }),
    TagPolicy: one('iam:TagPolicy', (i: { PolicyArn: string }) => i.PolicyArn, async (i: { PolicyArn: string; Tags: unknown }, ctx) => {
      await dir.tag(acct(ctx), 'policy', i.PolicyArn, tags(i.Tags));
      return {};
    }),
    UntagPolicy: one('iam:UntagPolicy', (i: { PolicyArn: string }) => i.PolicyArn, async (i: { PolicyArn: string; TagKeys: string[] }, ctx) => {
      await dir.untag(acct(ctx), 'policy', i.PolicyArn, i.TagKeys ?? []);
      return {};
    }),
    ListPolicyTags: one('iam:ListPolicyTags', (i: { PolicyArn: string }) => i.PolicyArn, async (i: { PolicyArn: string; Marker?: string; MaxItems?: number }, ctx) => {
      const { page, ...rest } = pageItems(await dir.listTags(acct(ctx), 'policy', i.PolicyArn), i, (t) => t.Key.toLowerCase());
      return { Tags: page, ...rest };
    }),

    // ---- roles
    CreateRole: one('iam:CreateRole', (i: { RoleName: string; Path?: string }, ctx) => arn(acct(ctx), 'role', i.Path ?? '/', i.RoleName),
      async (i: { RoleName: string; Path?: string; AssumeRolePolicyDocument: string; Description?: string; MaxSessionDuration?: number; Tags?: unknown }, ctx) => {
        const t = tags(i.Tags);
        await quota(ctx, 'iam:CreateRole', 'iam:quota-rolenumber', (c) => c.roles);
        const r = await dir.createRole(acct(ctx), i.RoleName, i.AssumeRolePolicyDocument, {
          ...(i.Path !== undefined ? { path: i.Path } : {}), ...(i.Description !== undefined ? { description: i.Description } : {}),
          ...(i.MaxSessionDuration !== undefined ? { maxSessionDuration: Number(i.MaxSessionDuration) } : {}),
        });
        if (t.length) await dir.tag(acct(ctx), 'role', r.name, t);
        return { Role: roleOut(r, t) };
      }),
    GetRole: one('iam:GetRole', (i: { RoleName: string }, ctx) => roleRes(i.RoleName, ctx), async (i: { RoleName: string }, ctx) => {
      const r = await dir.getRole(acct(ctx), i.RoleName);
      return { Role: roleOut(r, await dir.tagsById('role', r.roleId)) };
    }),
    ListRoles: one('iam:ListRoles', (_i, ctx) => arn(acct(ctx), 'role', '/', '*'), async (i: { PathPrefix?: string; Marker?: string; MaxItems?: number }, ctx) => {
      const { page, ...rest } = pageItems(await dir.listRoles(acct(ctx), i.PathPrefix ?? '/'), i, (r) => r.name.toLowerCase());
      return { Roles: page.map((r) => roleOut(r)), ...rest };
    }),
    UpdateRole: one('iam:UpdateRole', (i: { RoleName: string }, ctx) => roleRes(i.RoleName, ctx), async (i: { RoleName: string; Description?: string; MaxSessionDuration?: number }, ctx) => {
      await dir.updateRole(acct(ctx), i.RoleName, { ...(i.Description !== undefined ? { description: i.Description } : {}), ...(i.MaxSessionDuration !== undefined ? { maxSessionDuration: Number(i.MaxSessionDuration) } : {}) });
      return {};
    }),
    UpdateRoleDescription: one('iam:UpdateRoleDescription', (i: { RoleName: string }, ctx) => roleRes(i.RoleName, ctx), async (i: { RoleName: string; Description: string }, ctx) => {
      await dir.updateRole(acct(ctx), i.RoleName, { description: i.Description });
      return { Role: roleOut(await dir.getRole(acct(ctx), i.RoleName)) };
    }),
    UpdateAssumeRolePolicy: one('iam:UpdateAssumeRolePolicy', (i: { RoleName: string }, ctx) => roleRes(i.RoleName, ctx), async (i: { RoleName: string; PolicyDocument: string }, ctx) => {
      await dir.updateAssumeRolePolicy(acct(ctx), i.RoleName, i.PolicyDocument);
      return {};
    }),
    DeleteRole: one('iam:DeleteRole', (i: { RoleName: string }, ctx) => roleRes(i.RoleName, ctx), async (i: { RoleName: string }, ctx) => {
      await dir.deleteRole(acct(ctx), i.RoleName);
      return {};
    }),
    TagRole: one('iam:TagRole', (i: { RoleName: string }, ctx) => roleRes(i.RoleName, ctx), async (i: { RoleName: string; Tags: unknown }, ctx) => {
      await dir.tag(acct(ctx), 'role', i.RoleName, tags(i.Tags));
      return {};
    }),
    UntagRole: one('iam:UntagRole', (i: { RoleName: string }, ctx) => roleRes(i.RoleName, ctx), async (i: { RoleName: string; TagKeys: string[] }, ctx) => {
      await dir.untag(acct(ctx), 'role', i.RoleName, i.TagKeys ?? []);
      return {};
    }),
    ListRoleTags: one('iam:ListRoleTags', (i: { RoleName: string }, ctx) => roleRes(i.RoleName, ctx), async (i: { RoleName: string; Marker?: string; MaxItems?: number }, ctx) => {
      const { page, ...rest } = pageItems(await dir.listTags(acct(ctx), 'role', i.RoleName), i, (t) => t.Key.toLowerCase());
      return { Tags: page, ...rest };
    }),

    // ---- instance profiles
    CreateInstanceProfile: one('iam:CreateInstanceProfile', (i: { InstanceProfileName: string; Path?: string }, ctx) => arn(acct(ctx), 'instance-profile', i.Path ?? '/', i.InstanceProfileName),
      async (i: { InstanceProfileName: string; Path?: string; Tags?: unknown }, ctx) => {
        const t = tags(i.Tags);
        await quota(ctx, 'iam:CreateInstanceProfile', 'iam:quota-instanceprofilenumber', (c) => c.instanceProfiles);
        const p = await dir.createInstanceProfile(acct(ctx), i.InstanceProfileName, i.Path);
        if (t.length) await dir.tag(acct(ctx), 'instance-profile', p.name, t);
        return { InstanceProfile: { ...profileOut(p), ...(t.length ? { Tags: t } : {}) } };
      }),
    GetInstanceProfile: one('iam:GetInstanceProfile', (i: { InstanceProfileName: string }, ctx) => profileRes(i.InstanceProfileName, ctx), async (i: { InstanceProfileName: string }, ctx) => ({
      InstanceProfile: profileOut(await dir.getInstanceProfile(acct(ctx), i.InstanceProfileName)),
    })),
    ListInstanceProfiles: one('iam:ListInstanceProfiles', (_i, ctx) => arn(acct(ctx), 'instance-profile', '/', '*'), async (i: { PathPrefix?: string; Marker?: string; MaxItems?: number }, ctx) => {
      const { page, ...rest } = pageItems(await dir.listInstanceProfiles(acct(ctx), i.PathPrefix ?? '/'), i, (p) => p.name.toLowerCase());
      return { InstanceProfiles: page.map(profileOut), ...rest };
    }),
    ListInstanceProfilesForRole: one('iam:ListInstanceProfilesForRole', (i: { RoleName: string }, ctx) => roleRes(i.RoleName, ctx), async (i: { RoleName: string; Marker?: string; MaxItems?: number }, ctx) => {
      const { page, ...rest } = pageItems(await dir.listInstanceProfilesForRole(acct(ctx), i.RoleName), i, (p) => p.name.toLowerCase());
      return { InstanceProfiles: page.map(profileOut), ...rest };
    }),
    AddRoleToInstanceProfile: one('iam:AddRoleToInstanceProfile', (i: { InstanceProfileName: string }, ctx) => profileRes(i.InstanceProfileName, ctx), async (i: { InstanceProfileName: string; RoleName: string }, ctx) => {
      await dir.addRoleToInstanceProfile(acct(ctx), i.InstanceProfileName, i.RoleName);
      return {};
    }),
    RemoveRoleFromInstanceProfile: one('iam:RemoveRoleFromInstanceProfile', (i: { InstanceProfileName: string }, ctx) => profileRes(i.InstanceProfileName, ctx), async (i: { InstanceProfileName: string; RoleName: string }, ctx) => {
      await dir.removeRoleFromInstanceProfile(acct(ctx), i.InstanceProfileName, i.RoleName);
      return {};
    }),
    DeleteInstanceProfile: one('iam:DeleteInstanceProfile', (i: { InstanceProfileName: string }, ctx) => profileRes(i.InstanceProfileName, ctx), async (i: { InstanceProfileName: string }, ctx) => {
      await dir.deleteInstanceProfile(acct(ctx), i.InstanceProfileName);
      return {};
    }),

    // ---- login profiles
    CreateLoginProfile: one('iam:CreateLoginProfile', (i: { UserName?: string }, ctx) => userRes(self(i, ctx.principal), ctx), async (i: { UserName?: string; Password: string; PasswordResetRequired?: boolean }, ctx) => {
      const lp = await dir.createLoginProfile(acct(ctx), self(i, ctx.principal), i.Password, i.PasswordResetRequired === true);
      return { LoginProfile: { UserName: lp.userName, CreateDate: lp.createdAt, PasswordResetRequired: lp.passwordResetRequired } };
    }),
    GetLoginProfile: one('iam:GetLoginProfile', (i: { UserName?: string }, ctx) => userRes(self(i, ctx.principal), ctx), async (i: { UserName?: string }, ctx) => {
      const lp = await dir.getLoginProfile(acct(ctx), self(i, ctx.principal));
      return { LoginProfile: { UserName: lp.userName, CreateDate: lp.createdAt, PasswordResetRequired: lp.passwordResetRequired } };
    }),
    UpdateLoginProfile: one('iam:UpdateLoginProfile', (i: { UserName: string }, ctx) => userRes(i.UserName, ctx), async (i: { UserName: string; Password?: string; PasswordResetRequired?: boolean }, ctx) => {
      await dir.updateLoginProfile(acct(ctx), i.UserName, i.Password, i.PasswordResetRequired);
      return {};
    }),
    DeleteLoginProfile: one('iam:DeleteLoginProfile', (i: { UserName?: string }, ctx) => userRes(self(i, ctx.principal), ctx), async (i: { UserName?: string }, ctx) => {
      await dir.deleteLoginProfile(acct(ctx), self(i, ctx.principal));
      return {};
    }),
    ChangePassword: one('iam:ChangePassword', (_i, ctx) => userRes(ctx.principal.userName, ctx), async (i: { OldPassword: string; NewPassword: string }, ctx) => {
      if (ctx.principal.kind !== 'user') throw new AwsError('AccessDenied', 'Only IAM users can change their own password.', { status: 403 });
      if (!(await dir.checkLoginPassword(acct(ctx), ctx.principal.userName, i.OldPassword))) {
        throw new AwsError('InvalidUserType', 'The old password is incorrect.', { status: 400 });
      }
      await dir.updateLoginProfile(acct(ctx), ctx.principal.userName, i.NewPassword, false);
      return {};
    }),

    // ---- account
    CreateAccountAlias: one('iam:CreateAccountAlias', () => '*', async (i: { AccountAlias: string }, ctx) => {
      await dir.createAccountAlias(acct(ctx), i.AccountAlias);
      return {};
    }),
    DeleteAccountAlias: one('iam:DeleteAccountAlias', () => '*', async (i: { AccountAlias: string }, ctx) => {
      await dir.deleteAccountAlias(acct(ctx), i.AccountAlias);
      return {};
    }),
    ListAccountAliases: one('iam:ListAccountAliases', () => '*', async (_i, ctx) => ({ AccountAliases: await dir.listAccountAliases(acct(ctx)), IsTruncated: false })),
    GetAccountSummary: one('iam:GetAccountSummary', () => '*', async (_i, ctx) => ({ SummaryMap: await dir.accountSummary(acct(ctx)) })),
  };
}
