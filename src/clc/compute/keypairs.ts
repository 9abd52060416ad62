/**
 * @module clc/compute/keypairs
 * Key pairs of an account: create (RSA/ED25519, PEM/PPK), import, delete, describe. Private keys are never stored.
 */
import type { Kysely } from 'kysely';
import { AwsError, hexId } from '../../shared/index.js';
import { createKeyPair, importPublicKey, KeyFormatError, type KeyFormat, type KeyType } from './keys.js';
import { ec2Errors } from './errors.js';
import type { ComputeTables, KeyPairsTable } from './schema.js';
import type { Tag, TagStore } from './tags.js';

export interface KeyPair {
  keyPairId: string;
  name: string;
  keyType: KeyType;
  fingerprint: string;
  publicKey: string;
  createdAt: Date;
}

const toKeyPair = (r: KeyPairsTable): KeyPair => ({
  keyPairId: r.key_pair_id,
  name: r.name,
  keyType: r.key_type as KeyType,
  fingerprint: r.fingerprint,
  publicKey: r.public_key,
  createdAt: new Date(Number(r.created_at)),
});

function validateName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw ec2Errors.missing('KeyName');
  if (name.length > 255 || !/^[\x20-\x7e]+$/.test(name)) throw ec2Errors.param(`Invalid key pair name '${name}': up to 255 ASCII characters`);
  return name;
}

export class KeyPairStore {
  constructor(private readonly db: Kysely<ComputeTables>, private readonly tags: TagStore) {
    tags.registerResourceType('key-pair', async (acct, id) => !!(await this.db.selectFrom('key_pairs').select('key_pair_id').where('account_id', '=', acct).where('key_pair_id', '=', id).executeTakeFirst()));
  }

  private async insert(accountId: string, kp: Omit<KeyPairsTable, 'account_id' | 'key_pair_id' | 'created_at'>, tags: Tag[]): Promise<KeyPair> {
    const row: KeyPairsTable = { ...kp, account_id: accountId, key_pair_id: hexId('key'), created_at: Date.now() };
    try {
      await this.db.transaction().execute(async (tx) => {
        await tx.insertInto('key_pairs').values(row).execute();
        await this.tags.put(accountId, [{ id: row.key_pair_id, type: 'key-pair' }], tags, tx);
      });
    } catch (e) {
      if (await this.find(accountId, kp.name)) throw ec2Errors.keyDuplicate(kp.name);
      throw e;
    }
    return toKeyPair(row);
  }

  async create(accountId: string, name: unknown, keyType: KeyType = 'rsa', format: KeyFormat = 'pem', tags: Tag[] = []) {
    const n = validateName(name);
    if (await this.find(accountId, n)) throw ec2Errors.keyDuplicate(n);
    const created = createKeyPair(keyType, format, n);
    const kp = await this.insert(accountId, { name: n, key_type: keyType, fingerprint: created.fingerprint, public_key: created.publicKey }, tags);
    return { ...kp, keyMaterial: created.keyMaterial };
  }

  async import(accountId: string, name: unknown, material: Buffer | string | undefined, tags: Tag[] = []): Promise<KeyPair> {
    const n = validateName(name);
    if (material === undefined || material.length === 0) throw ec2Errors.missing('PublicKeyMaterial');
    let parsed;
    try {
      parsed = importPublicKey(material, n);
    } catch (e) {
      if (e instanceof KeyFormatError) throw ec2Errors.keyFormat(e.message);
      throw e;
    }
    if (await this.find(accountId, n)) throw ec2Errors.keyDuplicate(n);
    return this.insert(accountId, { name: n, key_type: parsed.keyType, fingerprint: parsed.fingerprint, public_key: parsed.publicKey }, tags);
  }

  async find(accountId: string, name: string): Promise<KeyPair | undefined> {
    const r = await this.db.selectFrom('key_pairs').selectAll().where('account_id', '=', accountId).where('name', '=', name).executeTakeFirst();
    return r ? toKeyPair(r) : undefined;
  }

  /** DeleteKeyPair: by name (absent names succeed, as on AWS) or by id (absent ids fail). */
  async delete(accountId: string, ref: { name?: string; id?: string }): Promise<KeyPair | undefined> {
    let row: KeyPairsTable | undefined;
    if (ref.id) {
      row = await this.db.selectFrom('key_pairs').selectAll().where('account_id', '=', accountId).where('key_pair_id', '=', ref.id).executeTakeFirst();
      if (!row) throw new AwsError('InvalidKeyPair.NotFound', `The key pair ID '${ref.id}' does not exist`);
    } else if (ref.name) {
      row = await this.db.selectFrom('key_pairs').selectAll().where('account_id', '=', accountId).where('name', '=', ref.name).executeTakeFirst();
    } else {
      throw ec2Errors.missing('KeyName');
    }
    if (!row) return undefined;
    await this.db.deleteFrom('key_pairs').where('key_pair_id', '=', row.key_pair_id).execute();
    await this.tags.deleteAllFor(accountId, row.key_pair_id);
    return toKeyPair(row);
  }

  /** DescribeKeyPairs: every key of the account, or exactly those named (an unknown name fails the call). */
  async describe(accountId: string, names: string[] = [], ids: string[] = []): Promise<KeyPair[]> {
    const rows = (await this.db.selectFrom('key_pairs').selectAll().where('account_id', '=', accountId).orderBy('name').execute()).map(toKeyPair);
    for (const n of names) if (!rows.some((r) => r.name === n)) throw ec2Errors.keyNotFound(n);
    for (const i of ids) {
      if (!rows.some((r) => r.keyPairId === i)) {
        throw new AwsError('InvalidKeyPair.NotFound', `The key pair ID '${i}' does not exist`);
      }
    }
    return rows.filter((r) => (names.length === 0 && ids.length === 0) || names.includes(r.name) || ids.includes(r.keyPairId));
  }
}
