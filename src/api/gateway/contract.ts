/**
 * @module api/gateway/contract
 * What a service handler sees and declares. Handlers are thin: they read a typed input (parsed by the protocol layer
 * from the AWS model), call the component's domain, and return a plain object keyed by the output shape's member
 * names; only the serializer knows wire names. They throw `AwsError` for AWS errors.
 */
import type { Logger, Principal, AuthzRequest } from '../../shared/index.js';

export type { Principal, AuthzRequest };

export type ServiceName = 'ec2' | 'iam' | 'sts' | 's3';

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
