/**
 * @module api/iam/simulate
 * The IAM policy simulator on the policy engine: SimulateCustomPolicy (policy documents given in the call) and
 * SimulatePrincipalPolicy (the policies of a user — with its groups' — a group or a role, plus optional extra
 * documents). Context entries supply condition keys, including the global ones (aws:SourceIp, aws:CurrentTime,
 * aws:SecureTransport, aws:username …). Each action × resource gets allowed / explicitDeny / implicitDeny, the deciding
 * statement, and the condition keys the applicable statements needed but the context lacked.
 */
import { AwsError, type Principal, type AuthzRequest } from '../../shared/index.js';
import {
  authorize, parsePolicy, PolicySet, actionMatches, ConditionContext,
  type CompiledPolicy, type RequestEnvironment, type AuthzResult,
} from '../../auth/policy/index.js';
import type { IamDirectory, IamStore } from '../../clc/index.js';
import type { HandlerTable, RequestContext } from '../gateway/index.js';
import { pageItems } from './users.js';

export interface SimulateDeps { iam: IamStore; directory: IamDirectory }

interface SimInput {
  ActionNames: string[];
  ResourceArns?: string[];
  ContextEntries?: Array<{ ContextKeyName?: string; ContextKeyValues?: string[]; ContextKeyType?: string }>;
  PolicyInputList?: string[];
  ResourcePolicy?: string;
  ResourceOwner?: string;
  CallerArn?: string;
  Marker?: string;
  MaxItems?: number;
}

const DECISION = { Allow: 'allowed', ExplicitDeny: 'explicitDeny', ImplicitDeny: 'implicitDeny' } as const;

function policySourceType(label: string): { id: string; type: string } {
  if (label.startsWith('arn:')) return { id: label.slice(label.lastIndexOf('/') + 1), type: 'user-managed' };
  const m = /^(user|group|role):[^/]+\/inline\/(.+)$/.exec(label);
  if (m) return { id: m[2]!, type: m[1]! };
  if (label === 'resource policy') return { id: 'ResourcePolicy', type: 'resource' };
  return { id: label, type: 'none' };
}

function compileInputs(docs: readonly string[] | undefined, prefix: string): CompiledPolicy[] {
  return (docs ?? []).map((d, i) => {
    try {
      return parsePolicy(d, { name: `${prefix}.${i + 1}` });
    } catch (e) {
      throw new AwsError('InvalidInput', `${prefix}.${i + 1}: ${(e as Error).message}`);
    }
  });
}

function simulate(principal: Principal, policies: CompiledPolicy[], input: SimInput, ctx: RequestContext): object[] {
  const entries = new Map<string, string[]>();
  for (const e of input.ContextEntries ?? []) {
    if (e.ContextKeyName) entries.set(e.ContextKeyName.toLowerCase(), e.ContextKeyValues ?? []);
  }
  const first = (k: string): string | undefined => entries.get(k)?.[0];
  const env: RequestEnvironment = {
    sourceIp: first('aws:sourceip') ?? ctx.sourceIp,
    now: first('aws:currenttime') ? new Date(first('aws:currenttime')!) : ctx.now,
    secure: first('aws:securetransport') !== undefined ? first('aws:securetransport') === 'true' : ctx.secure,
    region: first('aws:requestedregion') ?? ctx.region,
  };
  if (Number.isNaN(env.now.getTime())) throw new AwsError('InvalidInput', 'aws:CurrentTime must be an ISO 8601 date.');
  const p: Principal = {
    ...principal,
    ...(first('aws:username') ? { userName: first('aws:username')! } : {}),
    ...(first('aws:userid') ? { userId: first('aws:userid')! } : {}),
    isCloudAdmin: false,
    isAccountAdmin: false,
  };
  const conditions: Record<string, string[]> = {};
  for (const [k, v] of entries) conditions[k] = v;
  const set = new PolicySet(policies);
  const resourcePolicy = input.ResourcePolicy ? (() => {
    try {
      return parsePolicy(input.ResourcePolicy!, { kind: 'resource', name: 'resource policy' });
    } catch (e) {
      throw new AwsError('InvalidInput', `ResourcePolicy: ${(e as Error).message}`);
    }
  })() : null;
  const resources = input.ResourceArns?.length ? input.ResourceArns : ['*'];
  const out: object[] = [];
  for (const action of input.ActionNames ?? []) {
    for (const resource of resources) {
      const request: AuthzRequest = { action, resources: [resource], conditions, ...(input.ResourceOwner ? { resourceAccount: /(\d{12})/.exec(input.ResourceOwner)?.[1] ?? principal.accountId } : {}) };
      const r: AuthzResult = authorize({ principal: p, identityPolicies: set, ...(resourcePolicy ? { resourcePolicy } : {}), request, env });
      // condition keys the applicable statements asked for and the context did not have
      const cc = new ConditionContext(p, env, request);
      const missing = new Set<string>();
      for (const pol of policies) {
        for (const st of pol.statements) {
          if (actionMatches(st.actions, action.toLowerCase()) === st.notAction) continue;
          for (const c of st.conditions) {
            if (c.op.ifExists || c.op.spec.family === 'Null') continue;
            if (cc.get(c.key) === undefined) missing.add(c.key);
          }
        }
      }
      const matched = r.matchedStatement ? [(() => {
        const src = policySourceType(r.matchedStatement.policy ?? 'policy');
        return { SourcePolicyId: src.id, SourcePolicyType: src.type };
      })()] : [];
      out.push({ EvalActionName: action, EvalResourceName: resource, EvalDecision: DECISION[r.decision], MatchedStatements: matched, MissingContextValues: [...missing] });
    }
  }
  return out;
}

export function createIamSimulateHandlers(deps: SimulateDeps): HandlerTable {
  const { iam, directory: dir } = deps;
  return {
    SimulateCustomPolicy: {
      authz: (_i, ctx) => [{ action: 'iam:SimulateCustomPolicy', resources: ['*'], resourceAccount: ctx.principal.accountId }],
      handle: async (i: SimInput, ctx) => {
        const policies = compileInputs(i.PolicyInputList, 'PolicyInputList');
        const acct = ctx.principal.accountId;
        const principal: Principal = {
          kind: 'user', accountId: acct, userId: 'AIDASIMULATEDUSER0000', userName: 'simulated-user',
          arn: i.CallerArn ?? `arn:aws:iam::${acct}:user/simulated-user`, isCloudAdmin: false, isAccountAdmin: false,
        };
        const { page, ...rest } = pageItems(simulate(principal, policies, i, ctx), i, (x) => JSON.stringify([(x as { EvalActionName: string }).EvalActionName, (x as { EvalResourceName: string }).EvalResourceName]));
        return { EvaluationResults: page, ...rest };
      },
    },
    SimulatePrincipalPolicy: {
      authz: (i: { PolicySourceArn: string }, ctx) => [{ action: 'iam:SimulatePrincipalPolicy', resources: [String(i.PolicySourceArn)], resourceAccount: ctx.principal.accountId }],
      handle: async (i: SimInput & { PolicySourceArn: string }, ctx) => {
        const acct = ctx.principal.accountId;
        const m = /^arn:aws:iam::(\d{12}):(user|group|role)(\/(?:.*\/)?)([\w+=,.@-]+)$/.exec(String(i.PolicySourceArn));
        if (!m || m[1] !== acct) throw new AwsError('InvalidInput', `Invalid PolicySourceArn ${String(i.PolicySourceArn)}: a user, group or role of this account.`);
        const [, , kind, , name] = m as unknown as [string, string, 'user' | 'group' | 'role', string, string];
        let docs: Array<{ name: string; document: string }>;
        let principal: Principal;
        if (kind === 'user') {
          const u = await iam.getUser(acct, name);
          docs = await dir.userPolicyDocuments(u.userId);
          principal = { kind: 'user', accountId: acct, userId: u.userId, userName: u.name, path: u.path, arn: u.arn, isCloudAdmin: false, isAccountAdmin: false };
        } else if (kind === 'group') {
          const g = await dir.getGroup(acct, name);
          docs = await dir.groupPolicyDocuments(g.groupId);
          principal = { kind: 'user', accountId: acct, userId: 'AIDASIMULATEDUSER0000', userName: 'simulated-user', arn: `arn:aws:iam::${acct}:user/simulated-user`, isCloudAdmin: false, isAccountAdmin: false };
        } else {
          const r = await dir.getRole(acct, name);
          docs = await dir.rolePolicyDocuments(r.roleId);
          principal = {
            kind: 'assumed-role', accountId: acct, userId: `${r.roleId}:simulated`, userName: r.name, arn: `arn:aws:sts::${acct}:assumed-role/${r.name}/simulated`,
            isCloudAdmin: false, isAccountAdmin: false, role: { roleId: r.roleId, roleName: r.name, arn: r.arn, sessionName: 'simulated' },
          };
        }
        const policies = [
          ...docs.flatMap((d) => {
            try {
              return [parsePolicy(d.document, { name: d.name })];
            } catch {
              return [];
            }
          }),
          ...compileInputs(i.PolicyInputList, 'PolicyInputList'),
        ];
        const { page, ...rest } = pageItems(simulate(principal, policies, i, ctx), i, (x) => JSON.stringify([(x as { EvalActionName: string }).EvalActionName, (x as { EvalResourceName: string }).EvalResourceName]));
        return { EvaluationResults: page, ...rest };
      },
    },
  };
}
