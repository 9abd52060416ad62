/**
 * @module clc/iam/store
 * Accounts, users and access keys, as in Eucalyptus: an account is a 12-digit id with an alias (its name) and always
 * has a user `admin`; the `eucalyptus` account is the cloud administrator's. Every user belongs to one account; a user
 * has at most two access keys. Also the credential lookup used to verify request signatures.
 */
import type { Kysely } from 'kysely';
import {
  AwsError, accountId as newAccountId, accessKeyId as newAccessKeyId, secretAccessKey as newSecret, iamUniqueId,
  type CredentialStore, type Principal, type SigningIdentity,
} from '../../shared/index.js';
import type { IamCoreTables, UsersTable, AccessKeysTable, AccountsTable } from './schema.js';

export const CLOUD_ADMIN_ACCOUNT = 'eucalyptus';
export const ADMIN_USER = 'admin';
export const MAX_ACCESS_KEYS_PER_USER = 2;

const ACCOUNT_NAME = /^[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$/;
const USER_NAME = /^[\w+=,.@-]+$/;
const PATH = /^\/(?:[\x21-\x7e]*\/)?$/;

export interface Account { accountId: string; name: string; createdAt: Date }
export interface User { userId: string; accountId: string; name: string; path: string; arn: string; createdAt: Date }
export interface AccessKey { accessKeyId: string; secretAccessKey: string; userName: string; status: 'Active' | 'Inactive'; createdAt: Date }

export function iamError(code: string, message: string, status = 400): AwsError {
  return new AwsError(code, message, { status });
}
const noSuchEntity = (what: string) => iamError('NoSuchEntity', what, 404);

function toAccount(r: AccountsTable): Account {
  return { accountId: r.account_id, name: r.name, createdAt: new Date(Number(r.created_at)) };
}
function toUser(r: UsersTable): User {
  return {
    userId: r.user_id, accountId: r.account_id, name: r.name, path: r.path,
    arn: `arn:aws:iam::${r.account_id}:user${r.path}${r.name}`, createdAt: new Date(Number(r.created_at)),
  };
}

/** The principal a user's long-term credentials authenticate. */
export function userPrincipal(user: User, account: Account, accessKeyId?: string): Principal {
  return {
    kind: 'user', accountId: account.accountId, accountAlias: account.name, userId: user.userId, userName: user.name,
    path: user.path, arn: user.arn, isCloudAdmin: account.name === CLOUD_ADMIN_ACCOUNT && user.name === ADMIN_USER,
    isAccountAdmin: user.name === ADMIN_USER, ...(accessKeyId ? { accessKeyId } : {}),
  };
}

export function validateUserName(name: unknown): string {
  if (typeof name !== 'string' || name.length < 1 || name.length > 64 || !USER_NAME.test(name)) {
    throw iamError('ValidationError', `1 validation error detected: Value '${String(name)}' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+`);
  }
  return name;
}

export function validatePath(path: unknown): string {
  if (path === undefined) return '/';
  if (typeof path !== 'string' || path.length > 512 || !PATH.test(path)) {
    throw iamError('ValidationError', `1 validation error detected: Value '${String(path)}' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)`);
  }
  return path;
}

export class IamStore implements CredentialStore {
  private readonly keyCache = new Map<string, SigningIdentity | null>();
  /** Listeners told when credentials or identities change (e.g. policy-evaluation caches). */
  private readonly listeners = new Set<() => void>();

  constructor(private readonly db: Kysely<IamCoreTables>) {}

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  protected changed(): void {
    this.keyCache.clear();
    for (const fn of this.listeners) fn();
  }

  // ---- accounts

  async createAccount(name: string): Promise<{ account: Account; admin: User }> {
    if (typeof name !== 'string' || name.length < 3 || name.length > 63 || !ACCOUNT_NAME.test(name)) {
      throw iamError('ValidationError', `Invalid account name '${String(name)}': 3 to 63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit.`);
    }
    if (await this.findAccount(name)) throw iamError('EntityAlreadyExists', `Account ${name} already exists.`, 409);
    const now = Date.now();
    let id = newAccountId();
    while (await this.db.selectFrom('accounts').select('account_id').where('account_id', '=', id).executeTakeFirst()) id = newAccountId();
    const userId = iamUniqueId('AIDA');
    try {
      await this.db.transaction().execute(async (tx) => {
        await tx.insertInto('accounts').values({ account_id: id, name, created_at: now }).execute();
        await tx.insertInto('users').values({ user_id: userId, account_id: id, name: ADMIN_USER, name_lc: ADMIN_USER, path: '/', created_at: now }).execute();
      });
    } catch (e) {
      if (await this.findAccount(name)) throw iamError('EntityAlreadyExists', `Account ${name} already exists.`, 409);
      throw e;
    }
    this.changed();
    const account = { accountId: id, name, createdAt: new Date(now) };
    return { account, admin: toUser({ user_id: userId, account_id: id, name: ADMIN_USER, name_lc: ADMIN_USER, path: '/', created_at: now }) };
  }

  /** By account name (alias) or 12-digit id. */
  async findAccount(nameOrId: string): Promise<Account | undefined> {
    const r = await this.db.selectFrom('accounts').selectAll()
      .where((eb) => eb.or([eb('name', '=', nameOrId), eb('account_id', '=', nameOrId)])).executeTakeFirst();
    return r ? toAccount(r) : undefined;
  }

  async getAccount(nameOrId: string): Promise<Account> {
    const a = await this.findAccount(nameOrId);
    if (!a) throw noSuchEntity(`The account ${nameOrId} cannot be found.`);
    return a;
  }

  async listAccounts(): Promise<Account[]> {
    return (await this.db.selectFrom('accounts').selectAll().orderBy('name').execute()).map(toAccount);
  }

  /** Deletes an account; without `recursive`, only when it has no users but `admin`. The cloud admin's account stays. */
  async deleteAccount(nameOrId: string, recursive = false): Promise<void> {
    const a = await this.getAccount(nameOrId);
    if (a.name === CLOUD_ADMIN_ACCOUNT) throw iamError('DeleteConflict', 'The eucalyptus account cannot be deleted.', 409);
    if (!recursive) {
      const others = await this.db.selectFrom('users').select('user_id').where('account_id', '=', a.accountId)
        .where('name', '!=', ADMIN_USER).limit(1).execute();
      if (others.length) throw iamError('DeleteConflict', `Account ${a.name} still has users; delete them first or pass Recursive.`, 409);
    }
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('access_keys').where('account_id', '=', a.accountId).execute();
      await tx.deleteFrom('users').where('account_id', '=', a.accountId).execute();
      await tx.deleteFrom('accounts').where('account_id', '=', a.accountId).execute();
    });
    this.changed();
  }

  // ---- users

  async createUser(accountId: string, name: string, path?: string): Promise<User> {
    validateUserName(name);
    const p = validatePath(path);
    const now = Date.now();
    const row: UsersTable = { user_id: iamUniqueId('AIDA'), account_id: accountId, name, name_lc: name.toLowerCase(), path: p, created_at: now };
    const exists = await this.db.selectFrom('users').select('user_id').where('account_id', '=', accountId).where('name_lc', '=', row.name_lc).executeTakeFirst();
    if (exists) throw iamError('EntityAlreadyExists', `User with name ${name} already exists.`, 409);
    try {
      await this.db.insertInto('users').values(row).execute();
    } catch (e) {
      const again = await this.db.selectFrom('users').select('user_id').where('account_id', '=', accountId).where('name_lc', '=', row.name_lc).executeTakeFirst();
      if (again) throw iamError('EntityAlreadyExists', `User with name ${name} already exists.`, 409);
      throw e;
    }
    this.changed();
    return toUser(row);
  }

  async findUser(accountId: string, name: string): Promise<User | undefined> {
    const r = await this.db.selectFrom('users').selectAll().where('account_id', '=', accountId).where('name_lc', '=', String(name).toLowerCase()).executeTakeFirst();
    return r ? toUser(r) : undefined;
  }

  async getUser(accountId: string, name: string): Promise<User> {
    const u = await this.findUser(accountId, name);
    if (!u) throw noSuchEntity(`The user with name ${name} cannot be found.`);
    return u;
  }

  async getUserById(userId: string): Promise<User | undefined> {
    const r = await this.db.selectFrom('users').selectAll().where('user_id', '=', userId).executeTakeFirst();
    return r ? toUser(r) : undefined;
  }

  /** Users of one account whose path starts with `pathPrefix`, ordered by name. */
  async listUsers(accountId: string, pathPrefix = '/'): Promise<User[]> {
    const rows = await this.db.selectFrom('users').selectAll().where('account_id', '=', accountId).orderBy('name_lc').execute();
    return rows.map(toUser).filter((u) => u.path.startsWith(pathPrefix));
  }

  async updateUser(accountId: string, name: string, newName?: string, newPath?: string): Promise<User> {
    const u = await this.getUser(accountId, name);
    if (u.name === ADMIN_USER && newName && newName !== ADMIN_USER) throw iamError('DeleteConflict', 'The admin user cannot be renamed.', 409);
    const patch: Partial<UsersTable> = {};
    if (newName !== undefined) {
      validateUserName(newName);
      if (newName.toLowerCase() !== u.name.toLowerCase() && await this.findUser(accountId, newName)) {
        throw iamError('EntityAlreadyExists', `User with name ${newName} already exists.`, 409);
      }
      patch.name = newName;
      patch.name_lc = newName.toLowerCase();
    }
    if (newPath !== undefined) patch.path = validatePath(newPath);
    if (Object.keys(patch).length) await this.db.updateTable('users').set(patch).where('user_id', '=', u.userId).execute();
    this.changed();
    return (await this.getUserById(u.userId))!;
  }

  /** AWS refuses to delete a user that still has access keys (DeleteConflict); `admin` is never deleted. */
  async deleteUser(accountId: string, name: string): Promise<void> {
    const u = await this.getUser(accountId, name);
    if (u.name === ADMIN_USER) throw iamError('DeleteConflict', 'Cannot delete the account administrator (admin).', 409);
    const keys = await this.db.selectFrom('access_keys').select('access_key_id').where('user_id', '=', u.userId).limit(1).execute();
    if (keys.length) throw iamError('DeleteConflict', 'Cannot delete entity, must delete access keys first.', 409);
    await this.db.deleteFrom('users').where('user_id', '=', u.userId).execute();
    this.changed();
  }

  // ---- access keys

  async createAccessKey(accountId: string, userName: string): Promise<AccessKey> {
    const u = await this.getUser(accountId, userName);
    const n = await this.db.selectFrom('access_keys').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', u.userId).executeTakeFirstOrThrow();
    if (Number(n.n) >= MAX_ACCESS_KEYS_PER_USER) {
      throw iamError('LimitExceeded', `Cannot exceed quota for AccessKeysPerUser: ${MAX_ACCESS_KEYS_PER_USER}`, 409);
    }
    const row: AccessKeysTable = {
      access_key_id: newAccessKeyId(), secret_access_key: newSecret(), user_id: u.userId, account_id: accountId,
      status: 'Active', created_at: Date.now(), last_used_at: null,
    };
    await this.db.insertInto('access_keys').values(row).execute();
    this.changed();
    return { accessKeyId: row.access_key_id, secretAccessKey: row.secret_access_key, userName: u.name, status: 'Active', createdAt: new Date(row.created_at) };
  }

  async listAccessKeys(accountId: string, userName: string): Promise<AccessKey[]> {
    const u = await this.getUser(accountId, userName);
    const rows = await this.db.selectFrom('access_keys').selectAll().where('user_id', '=', u.userId).orderBy('created_at').execute();
    return rows.map((r) => ({ accessKeyId: r.access_key_id, secretAccessKey: r.secret_access_key, userName: u.name, status: r.status, createdAt: new Date(Number(r.created_at)) }));
  }

  private async keyOf(accountId: string, userName: string, keyId: string): Promise<AccessKeysTable> {
    const u = await this.getUser(accountId, userName);
    const r = await this.db.selectFrom('access_keys').selectAll().where('access_key_id', '=', keyId).where('user_id', '=', u.userId).executeTakeFirst();
    if (!r) throw noSuchEntity(`The Access Key with id ${keyId} cannot be found.`);
    return r;
  }

  async updateAccessKey(accountId: string, userName: string, keyId: string, status: string): Promise<void> {
    if (status !== 'Active' && status !== 'Inactive') {
      throw iamError('ValidationError', `1 validation error detected: Value '${status}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]`);
    }
    await this.keyOf(accountId, userName, keyId);
    await this.db.updateTable('access_keys').set({ status }).where('access_key_id', '=', keyId).execute();
    this.changed();
  }

  async deleteAccessKey(accountId: string, userName: string, keyId: string): Promise<void> {
    await this.keyOf(accountId, userName, keyId);
    await this.db.deleteFrom('access_keys').where('access_key_id', '=', keyId).execute();
    this.changed();
  }

  /** The user owning an access key, whatever its status (IAM's default user for key operations). */
  async userOfKey(keyId: string): Promise<User | undefined> {
    const r = await this.db.selectFrom('access_keys').select('user_id').where('access_key_id', '=', keyId).executeTakeFirst();
    return r ? this.getUserById(r.user_id) : undefined;
  }

  /** CredentialStore: an Active key → its secret and principal; Inactive or unknown → null. Cached until a change. */
  async lookup(keyId: string): Promise<SigningIdentity | null> {
    if (this.keyCache.has(keyId)) return this.keyCache.get(keyId)!;
    const r = await this.db.selectFrom('access_keys')
      .innerJoin('users', 'users.user_id', 'access_keys.user_id')
      .innerJoin('accounts', 'accounts.account_id', 'users.account_id')
      .select(['access_keys.access_key_id', 'access_keys.secret_access_key', 'access_keys.status',
        'users.user_id', 'users.name', 'users.name_lc', 'users.path', 'users.created_at', 'users.account_id',
        'accounts.name as account_name', 'accounts.created_at as account_created_at'])
      .where('access_keys.access_key_id', '=', keyId).executeTakeFirst();
    let out: SigningIdentity | null = null;
    if (r && r.status === 'Active') {
      const user = toUser({ user_id: r.user_id, account_id: r.account_id, name: r.name, name_lc: r.name_lc, path: r.path, created_at: r.created_at });
      const account = toAccount({ account_id: r.account_id, name: r.account_name, created_at: r.account_created_at });
      out = { accessKeyId: r.access_key_id, secretAccessKey: r.secret_access_key, principal: userPrincipal(user, account, r.access_key_id) };
    }
    if (this.keyCache.size > 10_000) this.keyCache.clear();
    this.keyCache.set(keyId, out);
    return out;
  }

  /** Creates the cloud admin account (`eucalyptus`) with its admin user and one access key, once. */
  async bootstrap(): Promise<{ account: Account; admin: User; key: AccessKey; created: boolean }> {
    let account = await this.findAccount(CLOUD_ADMIN_ACCOUNT);
    let created = false;
    if (!account) {
      account = (await this.createAccount(CLOUD_ADMIN_ACCOUNT)).account;
      created = true;
    }
    const admin = await this.getUser(account.accountId, ADMIN_USER);
    const keys = await this.listAccessKeys(account.accountId, ADMIN_USER);
    const key = keys.find((k) => k.status === 'Active') ?? await this.createAccessKey(account.accountId, ADMIN_USER);
    return { account, admin, key, created };
  }
}
