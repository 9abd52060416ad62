/**
 * @module clc/properties
 * The cloud's typed, runtime-configurable properties (Eucalyptus's `euctl` / `euca-modify-property`), stored in the
 * database. Every property is declared here with its type, default and description; unknown names and values of the
 * wrong type are refused.
 */
import type { Kysely } from 'kysely';
import { AwsError } from '../../shared/index.js';
import type { NamedMigration } from '../../db/index.js';

export type PropertyType = 'integer' | 'boolean' | 'string';

export interface PropertyDefinition {
  name: string;
  type: PropertyType;
  default: string;
  description: string;
  /** For integers: inclusive bounds. */
  min?: number;
  max?: number;
}

export const PROPERTY_DEFINITIONS: PropertyDefinition[] = [
  { name: 'cloud.vmstate.pending_time', type: 'integer', default: '60', min: 1, max: 100_000, description: 'Minutes an instance may stay pending before it is terminated with a state reason.' },
  { name: 'cloud.vmstate.terminated_time', type: 'integer', default: '60', min: 0, max: 100_000, description: 'Minutes a terminated instance stays visible in DescribeInstances.' },
  { name: 'cloud.vmstate.user_data_max_size_kb', type: 'integer', default: '16', min: 1, max: 64, description: 'Largest user-data accepted by RunInstances, in KiB.' },
  { name: 'cloud.vmstate.instance_subdomain', type: 'string', default: '.eucalyptus.internal', description: 'Suffix of instance host names.' },
  { name: 'cloud.vmtypes.default_type_name', type: 'string', default: 'm1.small', description: 'Instance type used when RunInstances names none.' },
  { name: 'cloud.images.defaultvisibility', type: 'boolean', default: 'false', description: 'Whether newly registered images are public.' },
  { name: 'authentication.access_keys_limit', type: 'integer', default: '2', min: 1, max: 2, description: 'Access keys a user may have.' },
  { name: 'cloud.euca_log_level', type: 'string', default: 'info', description: 'Log level of the cloud services (trace, debug, info, warn, error).' },
  { name: 'region.region_name', type: 'string', default: 'eucalyptus', description: 'The name of this cloud\'s region (informational; set at euca init).' },
];

export interface PropertiesTable { name: string; value: string; updated_at: number }

export const propertiesMigrations: NamedMigration[] = [
  {
    name: 'properties-001-table',
    up: async (db) => {
      await db.schema.createTable('properties').addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull()).addColumn('updated_at', 'bigint', (c) => c.notNull()).execute();
    },
  },
];

export interface Property extends PropertyDefinition { value: string }

function definition(name: string, defs: PropertyDefinition[]): PropertyDefinition {
  const d = defs.find((p) => p.name === name);
  if (!d) throw new AwsError('InvalidParameterValue', `Unknown property ${name}. See 'euca properties get' for the list.`);
  return d;
}

/** Checks and normalises a value for a property's type. */
export function normalizeValue(def: PropertyDefinition, value: string): string {
  if (def.type === 'integer') {
    if (!/^-?\d+$/.test(value.trim())) throw new AwsError('InvalidParameterValue', `Property ${def.name} takes an integer, not '${value}'.`);
    const n = Number(value.trim());
    if ((def.min !== undefined && n < def.min) || (def.max !== undefined && n > def.max)) {
      throw new AwsError('InvalidParameterValue', `Property ${def.name} must be between ${def.min ?? '-∞'} and ${def.max ?? '∞'}.`);
    }
    return String(n);
  }
  if (def.type === 'boolean') {
    const v = value.trim().toLowerCase();
    if (v !== 'true' && v !== 'false') throw new AwsError('InvalidParameterValue', `Property ${def.name} takes true or false, not '${value}'.`);
    return v;
  }
  return value;
}

export class PropertyStore {
  constructor(private readonly db: Kysely<{ properties: PropertiesTable }>, private readonly defs: PropertyDefinition[] = PROPERTY_DEFINITIONS) {}

  async list(prefix = ''): Promise<Property[]> {
    const rows = await this.db.selectFrom('properties').selectAll().execute();
    const set = new Map(rows.map((r) => [r.name, r.value]));
    return this.defs.filter((d) => d.name.startsWith(prefix)).sort((a, b) => a.name.localeCompare(b.name))
      .map((d) => ({ ...d, value: set.get(d.name) ?? d.default }));
  }

  async get(name: string): Promise<string> {
    const def = definition(name, this.defs);
    const row = await this.db.selectFrom('properties').select('value').where('name', '=', name).executeTakeFirst();
    return row?.value ?? def.default;
  }

  async getInt(name: string): Promise<number> {
    return Number(await this.get(name));
  }

  async getBool(name: string): Promise<boolean> {
    return (await this.get(name)) === 'true';
  }

  /** Sets a property; returns the previous value. */
  async set(name: string, value: string): Promise<{ old: string; value: string }> {
    const def = definition(name, this.defs);
    const v = normalizeValue(def, value);
    const old = await this.get(name);
    await this.db.insertInto('properties').values({ name, value: v, updated_at: Date.now() })
      .onConflict((oc) => oc.column('name').doUpdateSet({ value: v, updated_at: Date.now() })).execute();
    return { old, value: v };
  }
}
