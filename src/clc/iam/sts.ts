/**
 * @module clc/iam/sts
 * Temporary credentials: GetSessionToken sessions of a user and AssumeRole sessions of a role, as `ASIA…` access keys
 * with a session token and an expiry. The credential lookup returns expired sessions too (with `expiresAt`), so that
 * the signature verifier answers `ExpiredToken` rather than an unknown key. Trust-policy checks are the caller's
 * (IamAuthorizer.authorizeAssumeRole); this module enforces durations, session names and session-policy size.
 */
import { randomBytes } from 'node:crypto';
import {
  AwsError, accessKeyId as newAccessKeyId, secretAccessKey as newSecret,
  type CredentialStore, type Principal, type SigningIdentity,
} from '../../shared/index.js';
import { parsePolicy } from '../../auth/policy/index.js';
import type { IamDb, IamDirectory, Role } from './directory.js';
import { userPrincipal, type IamStore } from './store.js';
import type { StsSessionsTable } from './policy-schema.js';

export interface TemporaryCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export interface AssumedRoleResult {
  credentials: TemporaryCredentials;
  assumedRoleId: string;
  arn: string;
  packedPolicySize?: number;
}

export const STS_LIMITS = {
  sessionTokenDefault: 43_200, sessionTokenMin: 900, sessionTokenMax: 129_600, sessionTokenMaxAdmin: 3_600,
  assumeRoleDefault: 3_600, assumeRoleMin: 900, roleChainingMax: 3_600, sessionPolicyMaxChars: 2_048,
} as const;

const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

const validation = (msg: string): AwsError => new AwsError('ValidationError', msg, { status: 400 });

function duration(value: number | undefined, dflt: number, min: number, max: number, field = 'durationSeconds'): number {
  const d = value ?? dflt;
  if (!Number.isInteger(d) || d < min) {
    throw validation(`1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: Member must have value greater than or equal to ${min}`);
  }
  if (d > max) return -d;
  return d;
}

export class StsStore implements CredentialStore {
  private readonly cache = new Map<string, SigningIdentity | null>();

  constructor(
    private readonly db: IamDb,
    private readonly iam: IamStore,
    private readonly directory: IamDirectory,
    private readonly now: () => number = Date.now,
  ) {
    // a deleted user or account must not keep a cached session principal
    iam.onChange(() => this.cache.clear());
    directory.onChange(() => this.cache.clear());
  }

  private async issue(row: Omit<StsSessionsTable, 'access_key_id' | 'secret_access_key' | 'session_token' | 'created_at' | 'expires_at'>, seconds: number): Promise<TemporaryCredentials> {
    const now = this.now();
    const creds = {
      access_key_id: newAccessKeyId(true),
      secret_access_key: newSecret(),
      session_token: randomBytes(96).toString('base64'),
      created_at: now,
      expires_at: now + seconds * 1000,
    };
    await this.db.insertInto('sts_sessions').values({ ...row, ...creds }).execute();
    return { accessKeyId: creds.access_key_id, secretAccessKey: creds.secret_access_key, sessionToken: creds.session_token, expiration: new Date(creds.expires_at) };
  }

  /** GetSessionToken: long-term credentials of a user only; 900 s to 36 h (1 h for the cloud admin), 12 h default. */
  async getSessionToken(principal: Principal, durationSeconds?: number): Promise<TemporaryCredentials> {
    if (principal.kind !== 'user' || principal.sessionToken !== undefined) {
      throw new AwsError('AccessDenied', 'Cannot call GetSessionToken with session credentials', { status: 403 });
    }
    const max = principal.isCloudAdmin ? STS_LIMITS.sessionTokenMaxAdmin : STS_LIMITS.sessionTokenMax;
    let d = duration(durationSeconds, Math.min(STS_LIMITS.sessionTokenDefault, max), STS_LIMITS.sessionTokenMin, max);
    if (d < 0) {
      if (durationSeconds !== undefined && durationSeconds > STS_LIMITS.sessionTokenMax) {
        throw validation(`1 validation error detected: Value '${durationSeconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to ${STS_LIMITS.sessionTokenMax}`);
      }
      d = max; // AWS caps the cloud admin's (root) sessions silently
    }
    return this.issue({ account_id: principal.accountId, kind: 'session', user_id: principal.userId, role_id: null, role_session_name: null, session_policy: null, source_arn: principal.arn }, d);
  }

  /** AssumeRole once the trust policy allowed it: durations, session name, session policy. */
  async assumeRole(principal: Principal, role: Role, sessionName: string, opts: { durationSeconds?: number; policy?: string } = {}): Promise<AssumedRoleResult> {
    if (typeof sessionName !== 'string' || !SESSION_NAME.test(sessionName)) {
      throw validation(`1 validation error detected: Value '${String(sessionName)}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`);
    }
    const chaining = principal.kind === 'assumed-role';
    const max = chaining ? Math.min(STS_LIMITS.roleChainingMax, role.maxSessionDuration) : role.maxSessionDuration;
    const d = duration(opts.durationSeconds, Math.min(STS_LIMITS.assumeRoleDefault, max), STS_LIMITS.assumeRoleMin, max);
    if (d < 0) {
      throw validation(chaining
        ? 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.'
        : 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
    }
    let packedPolicySize: number | undefined;
    if (opts.policy !== undefined) {
      parsePolicy(opts.policy, { kind: 'session' });
      const size = opts.policy.replace(/\s/g, '').length;
      packedPolicySize = Math.ceil((size / STS_LIMITS.sessionPolicyMaxChars) * 100);
      if (size > STS_LIMITS.sessionPolicyMaxChars) {
        throw new AwsError('PackedPolicyTooLarge', `Packed size of the policy exceeds 100% of the allowed value (${packedPolicySize}%).`, { status: 400 });
      }
    }
    const credentials = await this.issue({
      account_id: role.accountId, kind: 'role', user_id: principal.kind === 'user' ? principal.userId : null, role_id: role.roleId,
      role_session_name: sessionName, session_policy: opts.policy ?? null, source_arn: principal.arn,
    }, d);
    return {
      credentials,
      assumedRoleId: `${role.roleId}:${sessionName}`,
      arn: `arn:aws:sts::${role.accountId}:assumed-role/${role.name}/${sessionName}`,
      ...(packedPolicySize !== undefined ? { packedPolicySize } : {}),
    };
  }

  /** CredentialStore for `ASIA…` keys (expired sessions included, with `expiresAt`). */
  async lookup(accessKeyId: string): Promise<SigningIdentity | null> {
    if (!accessKeyId.startsWith('ASIA')) return null;
    if (this.cache.has(accessKeyId)) return this.cache.get(accessKeyId)!;
    const r = await this.db.selectFrom('sts_sessions').selectAll().where('access_key_id', '=', accessKeyId).executeTakeFirst();
    let out: SigningIdentity | null = null;
    if (r) {
      const expiresAt = new Date(Number(r.expires_at));
      let principal: Principal | undefined;
      if (r.kind === 'session' && r.user_id) {
        const user = await this.iam.getUserById(r.user_id);
        const account = user ? await this.iam.findAccount(user.accountId) : undefined;
        if (user && account) principal = userPrincipal(user, account, r.access_key_id);
      } else if (r.kind === 'role' && r.role_id) {
        const role = await this.directory.getRoleById(r.role_id);
        const account = role ? await this.iam.findAccount(role.accountId) : undefined;
        if (role && account) principal = roleSessionPrincipal(role, r.role_session_name ?? 'session', account.name, r.access_key_id, r.session_policy ?? undefined);
      }
      if (principal) {
        principal.sessionToken = r.session_token;
        principal.sessionExpiry = expiresAt;
        out = { accessKeyId: r.access_key_id, secretAccessKey: r.secret_access_key, principal, sessionToken: r.session_token, expiresAt };
      }
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(accessKeyId, out);
    return out;
  }

  /** Removes sessions expired for longer than `graceMs` (they then answer InvalidClientTokenId). */
  async purgeExpired(graceMs = 24 * 3600 * 1000): Promise<number> {
    const r = await this.db.deleteFrom('sts_sessions').where('expires_at', '<', this.now() - graceMs).executeTakeFirst();
    this.cache.clear();
    return Number(r.numDeletedRows);
  }
}

export function roleSessionPrincipal(role: Role, sessionName: string, accountAlias: string, accessKeyId?: string, sessionPolicy?: string): Principal {
  return {
    kind: 'assumed-role',
    accountId: role.accountId,
    accountAlias,
    userId: `${role.roleId}:${sessionName}`,
    userName: role.name,
    path: role.path,
    arn: `arn:aws:sts::${role.accountId}:assumed-role/${role.name}/${sessionName}`,
    isCloudAdmin: false,
    isAccountAdmin: false,
    ...(accessKeyId ? { accessKeyId } : {}),
    role: { roleId: role.roleId, roleName: role.name, arn: role.arn, sessionName, ...(sessionPolicy !== undefined ? { sessionPolicy } : {}) },
  };
}

/** Long-term keys from the IAM store, `ASIA…` keys from STS. */
export class CombinedCredentialStore implements CredentialStore {
  constructor(private readonly longTerm: CredentialStore, private readonly sts: StsStore) {}
  lookup(accessKeyId: string): Promise<SigningIdentity | null> {
    return accessKeyId.startsWith('ASIA') ? this.sts.lookup(accessKeyId) : this.longTerm.lookup(accessKeyId);
  }
}
