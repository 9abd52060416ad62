/**
 * @module api/iam/accounts
 * Eucalyptus's account actions on the IAM endpoint (CreateAccount, ListAccounts, DeleteAccount): the cloud admin's
 * only. Modelled in models/extensions/iam.json. Anyone else gets AccessDenied.
 */
import type { HandlerTable, RequestContext } from '../gateway/index.js';
import type { IamHandlerDeps } from './users.js';

const acctArn = (ctx: RequestContext, name = '*') => [`arn:aws:iam::${ctx.principal.accountId}:account/${name}`];

export function createIamAccountHandlers(deps: IamHandlerDeps): HandlerTable {
  const { iam } = deps;
  return {
    CreateAccount: {
      authz: (i: { AccountName: string }, ctx) => [{ action: 'iam:CreateAccount', resources: acctArn(ctx, i.AccountName), resourceAccount: 'cloud' }],
      handle: async (i: { AccountName: string }) => {
        const { account } = await iam.createAccount(i.AccountName);
        return { Account: { AccountName: account.name, AccountId: account.accountId } };
      },
    },
    ListAccounts: {
      authz: (_i, ctx) => [{ action: 'iam:ListAccounts', resources: acctArn(ctx), resourceAccount: 'cloud' }],
      handle: async () => ({ Accounts: (await iam.listAccounts()).map((a) => ({ AccountName: a.name, AccountId: a.accountId })) }),
    },
    DeleteAccount: {
      authz: (i: { AccountName: string }, ctx) => [{ action: 'iam:DeleteAccount', resources: acctArn(ctx, i.AccountName), resourceAccount: 'cloud' }],
      handle: async (i: { AccountName: string; Recursive?: boolean }) => {
        await iam.deleteAccount(i.AccountName, i.Recursive ?? false);
        return {};
      },
    },
  };
}
