/**
 * @module auth/policy/testing
 * Principals and environments for tests of the policy engine (and of services that use it).
 */
import type { Principal } from '../../shared/index.js';
import type { RequestEnvironment } from './context.js';

export const ACCOUNT = '123456789012';
export const OTHER_ACCOUNT = '210987654321';

export function userPrincipal(name: string, opts: Partial<Principal> & { accountId?: string; path?: string } = {}): Principal {
  const accountId = opts.accountId ?? ACCOUNT;
  const path = opts.path ?? '/';
  return {
    kind: 'user',
    accountId,
    userId: `AIDA${name.toUpperCase().padEnd(17, 'X').slice(0, 17)}`,
    userName: name,
    path,
    arn: `arn:aws:iam::${accountId}:user${path}${name}`,
    isCloudAdmin: false,
    isAccountAdmin: name === 'admin',
    ...opts,
  };
}

export function roleSession(role: string, session: string, opts: { accountId?: string; sessionPolicy?: string } = {}): Principal {
  const accountId = opts.accountId ?? ACCOUNT;
  const roleId = `AROA${role.toUpperCase().padEnd(17, 'X').slice(0, 17)}`;
  return {
    kind: 'assumed-role',
    accountId,
    userId: `${roleId}:${session}`,
    userName: role,
    arn: `arn:aws:sts::${accountId}:assumed-role/${role}/${session}`,
    isCloudAdmin: false,
    isAccountAdmin: false,
    role: {
      roleId,
      roleName: role,
      arn: `arn:aws:iam::${accountId}:role/${role}`,
      sessionName: session,
      ...(opts.sessionPolicy !== undefined ? { sessionPolicy: opts.sessionPolicy } : {}),
    },
  };
}

export function anonymousPrincipal(): Principal {
  return { kind: 'anonymous', accountId: '', userId: 'anonymous', userName: 'anonymous', arn: '*', isCloudAdmin: false, isAccountAdmin: false };
}

export function env(overrides: Partial<RequestEnvironment> = {}): RequestEnvironment {
  return { sourceIp: '127.0.0.1', now: new Date('2026-06-15T12:00:00Z'), secure: false, region: 'eucalyptus', ...overrides };
}
