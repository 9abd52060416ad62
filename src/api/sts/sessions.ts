/**
 * @module api/sts/sessions
 * STS: GetSessionToken, AssumeRole (trust policy checked, session policies — inline and managed — intersected with the
 * role's, duration limits), DecodeAuthorizationMessage for EC2's encoded denials.
 */
import { AwsError } from '../../shared/index.js';
import { decodeAuthorizationMessage } from '../../auth/policy/index.js';
import type { IamAuthorizer, IamDirectory, StsStore, TemporaryCredentials } from '../../clc/index.js';
import type { HandlerTable } from '../gateway/index.js';

export interface StsSessionHandlerDeps {
  sts: StsStore;
  directory: IamDirectory;
  authorizer: IamAuthorizer;
}

const credsOut = (c: TemporaryCredentials) => ({ AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, SessionToken: c.sessionToken, Expiration: c.expiration });

/** Inline and managed session policies as one document (several session policies allow what any of them allows). */
async function sessionPolicy(dir: IamDirectory, accountId: string, inline: string | undefined, arns: Array<{ arn?: string }> | undefined): Promise<string | undefined> {
  if (!arns || arns.length === 0) return inline;
  if (arns.length > 10) throw new AwsError('ValidationError', "1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10");
  const statements: unknown[] = [];
  const add = (doc: string): void => {
    const parsed = JSON.parse(doc) as { Statement: unknown };
    const list = Array.isArray(parsed.Statement) ? parsed.Statement : [parsed.Statement];
    for (const s of list as Array<Record<string, unknown>>) {
      const { Sid: _sid, ...rest } = s;
      statements.push(rest);
    }
  };
  if (inline !== undefined) {
    try {
      add(inline);
    } catch {
      throw new AwsError('MalformedPolicyDocument', 'Syntax errors in policy.');
    }
  }
  for (const a of arns) {
    const arn = String(a.arn ?? '');
    const m = /^arn:aws:iam::(\d{12}|aws):policy\//.exec(arn);
    if (!m) throw new AwsError('InvalidParameterValue', `${arn} is not a valid policy ARN.`);
    const owner = m[1] === 'aws' ? accountId : m[1]!;
    const p = await dir.getPolicy(owner, arn).catch(() => undefined);
    if (!p) throw new AwsError('InvalidParameterValue', `Policy ${arn} does not exist or is not attachable.`);
    add((await dir.getPolicyVersion(owner, arn, p.defaultVersionId)).document);
  }
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

export function createStsSessionHandlers(deps: StsSessionHandlerDeps): HandlerTable {
  const { sts, directory, authorizer } = deps;
  return {
    // AWS: no permissions are required; only long-term user credentials may call it
    GetSessionToken: {
      authz: () => [],
      handle: async (i: { DurationSeconds?: number }, ctx) => ({ Credentials: credsOut(await sts.getSessionToken(ctx.principal, i.DurationSeconds)) }),
    },
    // the trust policy decides (with the caller's own policies for sts:AssumeRole), so the gateway asks nothing first
    AssumeRole: {
      authz: () => [],
      handle: async (i: { RoleArn: string; RoleSessionName: string; DurationSeconds?: number; Policy?: string; PolicyArns?: Array<{ arn?: string }> }, ctx) => {
        const role = await directory.getRoleByArn(i.RoleArn);
        if (!role) {
          // AWS does not reveal whether the role exists
          throw new AwsError('AccessDenied', `User: ${ctx.principal.arn} is not authorized to perform: sts:AssumeRole on resource: ${i.RoleArn}`, { status: 403 });
        }
        await authorizer.authorizeAssumeRole(ctx, role);
        const policy = await sessionPolicy(directory, role.accountId, i.Policy, i.PolicyArns);
        const r = await sts.assumeRole(ctx.principal, role, i.RoleSessionName, {
          ...(i.DurationSeconds !== undefined ? { durationSeconds: Number(i.DurationSeconds) } : {}),
          ...(policy !== undefined ? { policy } : {}),
        });
        return {
          Credentials: credsOut(r.credentials),
          AssumedRoleUser: { AssumedRoleId: r.assumedRoleId, Arn: r.arn },
          ...(r.packedPolicySize !== undefined ? { PackedPolicySize: r.packedPolicySize } : {}),
        };
      },
    },
    DecodeAuthorizationMessage: {
      authz: (_i, ctx) => [{ action: 'sts:DecodeAuthorizationMessage', resources: ['*'], resourceAccount: ctx.principal.accountId }],
      handle: async (i: { EncodedMessage: string }) => {
        const decoded = decodeAuthorizationMessage(String(i.EncodedMessage ?? ''));
        if (decoded === undefined) throw new AwsError('InvalidAuthorizationMessageException', 'The encoded message is not valid.', { status: 400 });
        return { DecodedMessage: JSON.stringify(decoded) };
      },
    },
  };
}
