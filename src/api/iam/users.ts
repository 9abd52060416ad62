/**
 * @module api/iam/users
 * IAM handlers for users and access keys (and the caller's own keys when UserName is absent, as AWS does).
 */
import { AwsError, type Principal } from '../../shared/index.js';
import type { IamStore, User, AccessKey } from '../../clc/index.js';
import type { HandlerTable, RequestContext, AuthzRequest } from '../gateway/index.js';

export interface IamHandlerDeps { iam: IamStore }

const userArn = (account: string, name: string, path = '/') => `arn:aws:iam::${account}:user${path}${name}`;

function userOut(u: User) {
  return { Path: u.path, UserName: u.name, UserId: u.userId, Arn: u.arn, CreateDate: u.createdAt };
}
function keyMeta(k: AccessKey) {
  return { UserName: k.userName, AccessKeyId: k.accessKeyId, Status: k.status, CreateDate: k.createdAt };
}

/** The user a call is about: the named one, or the caller itself when UserName is absent. */
export function targetUserName(input: { UserName?: unknown }, p: Principal): string {
  if (typeof input.UserName === 'string' && input.UserName.length > 0) return input.UserName;
  if (p.kind !== 'user') throw new AwsError('ValidationError', 'Must specify userName when calling with non-User credentials');
  return p.userName;
}

/** Marker/MaxItems pagination as IAM does it: an opaque marker, IsTruncated, 100 items by default (1..1000). */
export function pageItems<T>(items: T[], input: { Marker?: unknown; MaxItems?: unknown }, keyOf: (t: T) => string): { page: T[]; IsTruncated: boolean; Marker?: string } {
  const max = input.MaxItems === undefined ? 100 : Number(input.MaxItems);
  if (!Number.isInteger(max) || max < 1 || max > 1000) {
    throw new AwsError('ValidationError', `1 validation error detected: Value '${String(input.MaxItems)}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000`);
  }
  let start = 0;
  if (typeof input.Marker === 'string' && input.Marker.length) {
    let after: string;
    try {
      after = Buffer.from(input.Marker, 'base64url').toString('utf8');
    } catch {
      throw new AwsError('ValidationError', 'Invalid Marker.');
    }
    start = items.findIndex((t) => keyOf(t) > after);
    if (start < 0) start = items.length;
  }
  const page = items.slice(start, start + max);
  const more = start + max < items.length;
  return { page, IsTruncated: more, ...(more ? { Marker: Buffer.from(keyOf(page[page.length - 1]!)).toString('base64url') } : {}) };
}

async function userAuthz(deps: IamHandlerDeps, action: string, input: { UserName?: unknown }, ctx: RequestContext): Promise<AuthzRequest[]> {
  const acct = ctx.principal.accountId;
  const name = typeof input.UserName === 'string' && input.UserName ? input.UserName : ctx.principal.userName;
  const u = await deps.iam.findUser(acct, name);
  return [{ action, resources: [userArn(acct, u?.name ?? name, u?.path ?? '/')], resourceAccount: acct }];
}

export function createIamUserHandlers(deps: IamHandlerDeps): HandlerTable {
  const { iam } = deps;
  return {
    CreateUser: {
      authz: (i: { UserName: string; Path?: string }, ctx) => [{ action: 'iam:CreateUser', resources: [userArn(ctx.principal.accountId, i.UserName, i.Path ?? '/')], resourceAccount: ctx.principal.accountId }],
      handle: async (i: { UserName: string; Path?: string }, ctx) => ({ User: userOut(await iam.createUser(ctx.principal.accountId, i.UserName, i.Path)) }),
    },
    GetUser: {
      authz: (i, ctx) => userAuthz(deps, 'iam:GetUser', i, ctx),
      handle: async (i: { UserName?: string }, ctx) => ({ User: userOut(await iam.getUser(ctx.principal.accountId, targetUserName(i, ctx.principal))) }),
    },
    ListUsers: {
      authz: (_i, ctx) => [{ action: 'iam:ListUsers', resources: [`arn:aws:iam::${ctx.principal.accountId}:user/*`], resourceAccount: ctx.principal.accountId }],
      handle: async (i: { PathPrefix?: string; Marker?: string; MaxItems?: number }, ctx) => {
        const users = await iam.listUsers(ctx.principal.accountId, i.PathPrefix ?? '/');
        const { page, ...rest } = pageItems(users, i, (u) => u.name.toLowerCase());
        return { Users: page.map(userOut), ...rest };
      },
    },
    UpdateUser: {
      authz: (i, ctx) => userAuthz(deps, 'iam:UpdateUser', i, ctx),
      handle: async (i: { UserName: string; NewUserName?: string; NewPath?: string }, ctx) => {
        await iam.updateUser(ctx.principal.accountId, i.UserName, i.NewUserName, i.NewPath);
        return {};
      },
    },
    DeleteUser: {
      authz: (i, ctx) => userAuthz(deps, 'iam:DeleteUser', i, ctx),
      handle: async (i: { UserName: string }, ctx) => {
        await iam.deleteUser(ctx.principal.accountId, i.UserName);
        return {};
      },
    },
    CreateAccessKey: {
      authz: (i, ctx) => userAuthz(deps, 'iam:CreateAccessKey', i, ctx),
      handle: async (i: { UserName?: string }, ctx) => {
        const k = await iam.createAccessKey(ctx.principal.accountId, targetUserName(i, ctx.principal));
        return { AccessKey: { ...keyMeta(k), SecretAccessKey: k.secretAccessKey } };
      },
    },
    ListAccessKeys: {
      authz: (i, ctx) => userAuthz(deps, 'iam:ListAccessKeys', i, ctx),
      handle: async (i: { UserName?: string; Marker?: string; MaxItems?: number }, ctx) => {
        const keys = await iam.listAccessKeys(ctx.principal.accountId, targetUserName(i, ctx.principal));
        const { page, ...rest } = pageItems(keys, i, (k) => k.accessKeyId);
        return { AccessKeyMetadata: page.map(keyMeta), ...rest };
      },
    },
    UpdateAccessKey: {
      authz: (i, ctx) => userAuthz(deps, 'iam:UpdateAccessKey', i, ctx),
      handle: async (i: { UserName?: string; AccessKeyId: string; Status: string }, ctx) => {
        await iam.updateAccessKey(ctx.principal.accountId, targetUserName(i, ctx.principal), i.AccessKeyId, i.Status);
        return {};
      },
    },
    DeleteAccessKey: {
      authz: (i, ctx) => userAuthz(deps, 'iam:DeleteAccessKey', i, ctx),
      handle: async (i: { UserName?: string; AccessKeyId: string }, ctx) => {
        await iam.deleteAccessKey(ctx.principal.accountId, targetUserName(i, ctx.principal), i.AccessKeyId);
        return {};
      },
    },
  };
}
