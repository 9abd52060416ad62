/**
 * @module clc/compute/tags
 * Tags on every resource of an account (CreateTags, DeleteTags, DescribeTags, TagSpecifications). Resource types are
 * known by id prefix; each domain registers how to check that an id exists in an account.
 */
import type { Kysely } from 'kysely';
import { ec2Errors } from './errors.js';
import type { ComputeTables } from './schema.js';

export interface Tag {
  key: string;
  value: string;
}

export type ResourceExists = (accountId: string, id: string) => Promise<boolean>;

export const MAX_TAGS_PER_RESOURCE = 50;

/** Id prefix → EC2 resource type name (as DescribeTags reports it). */
export const RESOURCE_TYPES: Readonly<Record<string, string>> = {
  i: 'instance',
  emi: 'image',
  eki: 'image',
  eri: 'image',
  ami: 'image',
  key: 'key-pair',
  vol: 'volume',
  snap: 'snapshot',
  sg: 'security-group',
  eipalloc: 'elastic-ip',
  r: 'reservation',
};

export function resourceTypeOf(id: string): string | undefined {
  const m = /^([a-z]+)-[0-9a-f]+$/.exec(id);
  return m ? RESOURCE_TYPES[m[1]!] : undefined;
}

export function validateTag(t: { Key?: string; Value?: string } | Tag): Tag {
  const key = 'Key' in t ? t.Key : (t as Tag).key;
  const value = ('Value' in t ? t.Value : (t as Tag).value) ?? '';
  if (key === undefined || key === '') throw ec2Errors.param('Tag key must not be empty');
  if (key.length > 128) throw ec2Errors.param(`Tag key exceeds the maximum length of 128 characters`);
  if (value.length > 256) throw ec2Errors.param(`Tag value exceeds the maximum length of 256 characters`);
  if (key.toLowerCase().startsWith('aws:')) throw ec2Errors.param(`Tag keys starting with 'aws:' are reserved for internal use`);
  return { key, value };
}

export class TagStore {
  private readonly exists = new Map<string, ResourceExists>();

  constructor(private readonly db: Kysely<ComputeTables>) {}

  /** Declares how to check that resources of a type exist (domains call this at start-up). */
  registerResourceType(type: string, exists: ResourceExists): void {
    this.exists.set(type, exists);
  }

  async checkResources(accountId: string, ids: string[]): Promise<Array<{ id: string; type: string }>> {
    const out: Array<{ id: string; type: string }> = [];
    for (const id of ids) {
      const type = resourceTypeOf(id);
      const check = type ? this.exists.get(type) : undefined;
      if (!type || !check) throw ec2Errors.resourceNotFound(id);
      if (!(await check(accountId, id))) {
        throw type === 'instance' ? ec2Errors.instanceNotFound(id) : type === 'image' ? ec2Errors.amiNotFound(id) : ec2Errors.resourceNotFound(id);
      }
      out.push({ id, type });
    }
    return out;
  }

  /** Sets tags (overwriting values of existing keys). Checks the 50-tags-per-resource limit. */
  async create(accountId: string, ids: string[], tags: Tag[], db: Kysely<ComputeTables> = this.db): Promise<void> {
    const resources = await this.checkResources(accountId, ids);
    await this.put(accountId, resources, tags, db);
  }

  /**
   * Tags resources created in the same transaction (they have no tags yet): no per-resource look-up, rows inserted
   * many at a time. A key given twice keeps its last value, as CreateTags does.
   */
  async putNew(accountId: string, resources: Array<{ id: string; type: string }>, tags: Tag[], db: Kysely<ComputeTables>): Promise<void> {
    const byKey = new Map(tags.map((t) => [t.key, t.value]));
    if (byKey.size > MAX_TAGS_PER_RESOURCE) throw ec2Errors.tagLimit(`The maximum number of tags (${MAX_TAGS_PER_RESOURCE}) for resource ${resources[0]?.id ?? ''} has been reached.`);
    const rows = resources.flatMap((r) => [...byKey].map(([key, value]) => ({ account_id: accountId, resource_id: r.id, resource_type: r.type, key, value })));
    for (let i = 0; i < rows.length; i += 100) await db.insertInto('tags').values(rows.slice(i, i + 100)).execute();
  }

  /** Like create, for resources the caller has just made (no existence check). */
  async put(accountId: string, resources: Array<{ id: string; type: string }>, tags: Tag[], db: Kysely<ComputeTables> = this.db): Promise<void> {
    if (tags.length === 0 || resources.length === 0) return;
    for (const r of resources) {
      const existing = await db.selectFrom('tags').select('key').where('account_id', '=', accountId).where('resource_id', '=', r.id).execute();
      const keys = new Set(existing.map((e) => e.key));
      for (const t of tags) keys.add(t.key);
      if (keys.size > MAX_TAGS_PER_RESOURCE) throw ec2Errors.tagLimit(`The maximum number of tags (${MAX_TAGS_PER_RESOURCE}) for resource ${r.id} has been reached.`);
    }
    for (const r of resources) {
      for (const t of tags) {
        await db.insertInto('tags')
          .values({ account_id: accountId, resource_id: r.id, resource_type: r.type, key: t.key, value: t.value })
          .onConflict((oc) => oc.columns(['account_id', 'resource_id', 'key']).doUpdateSet({ value: t.value }))
          .execute();
      }
    }
  }

  /** Deletes tags: all of them (no tags given), by key, or by key and value (`value` undefined = any value). */
  async delete(accountId: string, ids: string[], tags?: Array<{ key: string; value?: string }>): Promise<void> {
    await this.checkResources(accountId, ids);
    if (!tags || tags.length === 0) {
      await this.db.deleteFrom('tags').where('account_id', '=', accountId).where('resource_id', 'in', ids).execute();
      return;
    }
    for (const t of tags) {
      let q = this.db.deleteFrom('tags').where('account_id', '=', accountId).where('resource_id', 'in', ids).where('key', '=', t.key);
      if (t.value !== undefined) q = q.where('value', '=', t.value);
      await q.execute();
    }
  }

  async list(accountId: string): Promise<Array<{ resourceId: string; resourceType: string; key: string; value: string }>> {
    const rows = await this.db.selectFrom('tags').selectAll().where('account_id', '=', accountId).orderBy('resource_id').orderBy('key').execute();
    return rows.map((r) => ({ resourceId: r.resource_id, resourceType: r.resource_type, key: r.key, value: r.value }));
  }

  /** Tags of many resources at once: id → tags. */
  async forResources(accountId: string, ids: string[]): Promise<Map<string, Tag[]>> {
    const out = new Map<string, Tag[]>();
    if (ids.length === 0) return out;
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = await this.db.selectFrom('tags').select(['resource_id', 'key', 'value'])
        .where('account_id', '=', accountId).where('resource_id', 'in', chunk).orderBy('key').execute();
      for (const r of rows) {
        const list = out.get(r.resource_id) ?? [];
        list.push({ key: r.key, value: r.value });
        out.set(r.resource_id, list);
      }
    }
    return out;
  }

  async deleteAllFor(accountId: string, id: string): Promise<void> {
    await this.db.deleteFrom('tags').where('account_id', '=', accountId).where('resource_id', '=', id).execute();
  }
}
