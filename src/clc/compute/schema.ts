/**
 * @module clc/compute/schema
 * Tables of the compute domain and their migrations (`compute-0NN-…`). Portable: text ids, epoch-ms bigints,
 * 0/1 integers, JSON as text.
 */
import { sql } from 'kysely';
import type { NamedMigration } from '../../db/index.js';

export interface InstancesTable {
  instance_id: string;
  account_id: string;
  reservation_id: string;
  /** The IAM user (or role) that launched it. */
  requester_id: string;
  image_id: string;
  kernel_id: string | null;
  ramdisk_id: string | null;
  instance_type: string;
  /** The state the CLC holds (AWS name). */
  state: string;
  state_reason_code: string | null;
  state_reason_message: string | null;
  state_transition_reason: string;
  key_name: string | null;
  zone: string;
  node_id: string | null;
  private_ip: string | null;
  mac: string | null;
  public_ip: string | null;
  launch_index: number;
  /** base64, as given to RunInstances. */
  user_data: string | null;
  client_token: string | null;
  launch_time: number;
  state_changed_at: number;
  /** When it reached `terminated` (kept visible for cloud.vmstate.terminated_time). */
  terminated_at: number | null;
  /** recorded → dispatched (the CC accepted it): a recorded instance after a CLC crash is re-dispatched. */
  launch_status: string;
  /** What the node reported last, and when (desired vs actual). */
  reported_state: string | null;
  reported_at: number | null;
  /** JSON: the launch specification needed to (re)send the instance to its node. */
  launch_spec: string;
  /** JSON: mutable attributes (disableApiTermination, instanceInitiatedShutdownBehavior, …). */
  attributes: string;
  /** From the image (compute-002), so Describe never parses launch_spec. */
  root_device_name: string;
  virtualization_type: string;
}

export interface ReservationsTable {
  reservation_id: string;
  account_id: string;
  requester_id: string;
  client_token: string | null;
  /** JSON of the request parameters that make a ClientToken match (IdempotentParameterMismatch otherwise). */
  request_hash: string | null;
  created_at: number;
}

export interface KeyPairsTable {
  key_pair_id: string;
  account_id: string;
  name: string;
  key_type: string;
  fingerprint: string;
  public_key: string;
  created_at: number;
}

export interface ImagesTable {
  image_id: string;
  /** Owner account. */
  account_id: string;
  name: string;
  description: string | null;
  /** machine | kernel | ramdisk */
  image_type: string;
  architecture: string;
  /** available | deregistered | failed */
  state: string;
  /** `bucket/key` of the object it was registered from (or a local path for built-in images). */
  location: string;
  /** JSON: the artifact source (`{bucket,key}` or `{path}`) with size, format and sha256. */
  source: string;
  kernel_id: string | null;
  ramdisk_id: string | null;
  root_device_type: string;
  root_device_name: string;
  virtualization_type: string;
  is_public: number;
  size_bytes: number;
  created_at: number;
}

export interface ImageLaunchPermissionsTable {
  image_id: string;
  /** The account the image is shared with. */
  account_id: string;
}

export interface TagsTable {
  account_id: string;
  resource_id: string;
  resource_type: string;
  key: string;
  value: string;
}

export interface ComputeTables {
  instances: InstancesTable;
  reservations: ReservationsTable;
  key_pairs: KeyPairsTable;
  images: ImagesTable;
  image_launch_permissions: ImageLaunchPermissionsTable;
  tags: TagsTable;
}

export const computeMigrations: NamedMigration[] = [
  {
    name: 'compute-001-instances-images-keys-tags',
    up: async (db) => {
      await db.schema.createTable('reservations')
        .addColumn('reservation_id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('requester_id', 'text', (c) => c.notNull())
        .addColumn('client_token', 'text')
        .addColumn('request_hash', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('reservations_token').unique().on('reservations').columns(['account_id', 'client_token']).execute();
      await db.schema.createTable('instances')
        .addColumn('instance_id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('reservation_id', 'text', (c) => c.notNull())
        .addColumn('requester_id', 'text', (c) => c.notNull())
        .addColumn('image_id', 'text', (c) => c.notNull())
        .addColumn('kernel_id', 'text')
        .addColumn('ramdisk_id', 'text')
        .addColumn('instance_type', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('state_reason_code', 'text')
        .addColumn('state_reason_message', 'text')
        .addColumn('state_transition_reason', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('key_name', 'text')
        .addColumn('zone', 'text', (c) => c.notNull())
        .addColumn('node_id', 'text')
        .addColumn('private_ip', 'text')
        .addColumn('mac', 'text')
        .addColumn('public_ip', 'text')
        .addColumn('launch_index', 'integer', (c) => c.notNull())
        .addColumn('user_data', 'text')
        .addColumn('client_token', 'text')
        .addColumn('launch_time', 'bigint', (c) => c.notNull())
        .addColumn('state_changed_at', 'bigint', (c) => c.notNull())
        .addColumn('terminated_at', 'bigint')
        .addColumn('launch_status', 'text', (c) => c.notNull())
        .addColumn('reported_state', 'text')
        .addColumn('reported_at', 'bigint')
        .addColumn('launch_spec', 'text', (c) => c.notNull())
        .addColumn('attributes', 'text', (c) => c.notNull().defaultTo('{}'))
        .execute();
      await db.schema.createIndex('instances_account_state').on('instances').columns(['account_id', 'state']).execute();
      await db.schema.createIndex('instances_reservation').on('instances').columns(['reservation_id']).execute();
      await db.schema.createIndex('instances_state').on('instances').columns(['state']).execute();
      await db.schema.createTable('key_pairs')
        .addColumn('key_pair_id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('key_type', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('key_pairs_account_name', ['account_id', 'name'])
        .execute();
      await db.schema.createTable('images')
        .addColumn('image_id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('image_type', 'text', (c) => c.notNull())
        .addColumn('architecture', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('kernel_id', 'text')
        .addColumn('ramdisk_id', 'text')
        .addColumn('root_device_type', 'text', (c) => c.notNull())
        .addColumn('root_device_name', 'text', (c) => c.notNull())
        .addColumn('virtualization_type', 'text', (c) => c.notNull())
        .addColumn('is_public', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('size_bytes', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('images_account').on('images').columns(['account_id']).execute();
      await db.schema.createTable('image_launch_permissions')
        .addColumn('image_id', 'text', (c) => c.notNull().references('images.image_id').onDelete('cascade'))
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('image_launch_permissions_pk', ['image_id', 'account_id'])
        .execute();
      await db.schema.createTable('tags')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('resource_id', 'text', (c) => c.notNull())
        .addColumn('resource_type', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('tags_pk', ['account_id', 'resource_id', 'key'])
        .execute();
      await db.schema.createIndex('tags_key').on('tags').columns(['account_id', 'key']).execute();
      void sql;
    },
  },
  {
    name: 'compute-002-instance-root-device',
    up: async (db) => {
      await db.schema.alterTable('instances').addColumn('root_device_name', 'text', (c) => c.notNull().defaultTo('/dev/sda1')).execute();
      await db.schema.alterTable('instances').addColumn('virtualization_type', 'text', (c) => c.notNull().defaultTo('hvm')).execute();
      await db.schema.createIndex('tags_resource').on('tags').columns(['account_id', 'key', 'value']).execute();
    },
  },
  {
    // DescribeInstances pages walk an account's instances in id order and stop after a page (keyset pagination);
    // without it SQLite read every instance of the account through (account_id, state) and sorted them per page.
    name: 'compute-003-instances-account-id',
    up: async (db) => {
      await db.schema.createIndex('instances_account_id').on('instances').columns(['account_id', 'instance_id']).execute();
    },
  },
];
