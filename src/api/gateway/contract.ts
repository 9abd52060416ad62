/**
 * @module api/gateway/contract
 * What a service handler sees and declares. Handlers are thin: they read a typed input (parsed by the protocol layer
 * from the AWS model), call the component's domain, and return a plain object keyed by the output shape's member
 * names; only the serializer knows wire names. They throw `AwsError` for AWS errors.
 */
import type { Logger } from '../../shared/index.js';

export type ServiceName = 'ec2' | 'iam' | 'sts' | 's3';

/** Who is calling, resolved from the request's credentials. */
export interface Principal {
  kind: 'user' | 'assumed-role' | 'federated' | 'anonymous';
  accountId: string;
  accountAlias?: string;
  /** `AIDA…` for users, `AROA…:<session>` for role sessions. */
  userId: string;
  /** The user name, or the role name for a role session. */
  userName: string;
  /** `arn:aws:iam::<acct>:user/<path><name>` or `arn:aws:sts::<acct>:assumed-role/<role>/<session>`. */
  arn: string;
  /** The `eucalyptus` account's principals: allowed everything, everywhere. */
  isCloudAdmin: boolean;
  /** The `admin` user of its account: allowed everything in its account. */
  isAccountAdmin: boolean;
  accessKeyId?: string;
  /** For role sessions and GetSessionToken sessions: id of the session credential. */
  sessionToken?: string;
  /** Role sessions: the role's id (`AROA…`) and name, and the session policy document if one was passed. */
  role?: { roleId: string; roleName: string; arn: string; sessionName: string; sessionPolicy?: string };
}

/** One authorization question: may the principal do `action` on `resource`? */
export interface AuthzRequest {
  /** `ec2:RunInstances`, `s3:GetObject`, `iam:CreateUser` … */
  action: string;
  /** ARN(s); `*` when the action has no resource. */
  resources: string[];
  /** Service-specific condition keys (`s3:prefix`, `ec2:InstanceType` …). */
  conditions?: Record<string, string | string[]>;
  /** The account that owns the resource, when known (cross-account checks). */
  resourceAccount?: string;
}

export interface RequestContext {
  requestId: string;
  service: ServiceName;
  operation: string;
  region: string;
  principal: Principal;
  sourceIp: string;
  /** The request came over TLS (`aws:SecureTransport`). */
  secure: boolean;
  /** When the request arrived (`aws:CurrentTime`). */
  now: Date;
  /** The user agent, for logs. */
  userAgent?: string;
  log: Logger;
}

export interface OperationHandler<I = any, O = any> {
  /**
   * The IAM action(s) and resources this call needs, evaluated before `handle`. When absent the gateway asks for
   * `<service>:<Operation>` on `*`.
   */
  authz?: (input: I, ctx: RequestContext) => AuthzRequest[] | Promise<AuthzRequest[]>;
  handle(input: I, ctx: RequestContext): Promise<O>;
}

/** Operation name (as in the AWS model) → handler. Operations absent here answer the service's unsupported error. */
export type HandlerTable = Record<string, OperationHandler>;
