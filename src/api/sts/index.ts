/**
 * @module api/sts
 * STS (Tokens) handlers.
 */
import type { HandlerTable } from '../gateway/index.js';
export * from './sessions.js';

export function createStsHandlers(): HandlerTable {
  return {
    // GetCallerIdentity needs no permission (AWS: "No permissions are required to perform this operation").
    GetCallerIdentity: {
      authz: () => [],
      handle: async (_i, ctx) => ({ UserId: ctx.principal.userId, Account: ctx.principal.accountId, Arn: ctx.principal.arn }),
    },
  };
}
