/**
 * @module clc/compute/instances
 * Instances and reservations. RunInstances records intent before acting (Eucalyptus's pre-allocate → record →
 * actuate): the CC reserves capacity and addresses, the instances are written `pending` with their launch
 * specification (`launch_status = recorded`), then the CC sends them to their nodes (`dispatched`). A failure at any
 * step releases the reservation and ends the instance `terminated` with a state reason. After a CLC crash, `recover`
 * re-sends every recorded-but-not-dispatched instance (node RunInstance is idempotent per instance id), so each
 * instance ends up either running and recorded or never started.
 *
 * Every state change goes through the transition table (states.ts) with an optimistic `WHERE state = <from>`.
 */
import type { Kysely } from 'kysely';
import { createHash } from 'node:crypto';
import { AwsError, hexId, type Logger } from '../../shared/index.js';
import type { CcClient, RunInstanceRequest, InstanceReport, ReportCursor } from '../../rpc/index.js';
import { ec2Errors } from './errors.js';
import { findInstanceType, INSTANCE_TYPES, type InstanceType } from './instance-types.js';
import type { ComputeTables, InstancesTable } from './schema.js';
import { nextState, REASONS, userTransitionText, STATE_CODES, type InstanceEvent, type InstanceStateName, type StateReason } from './states.js';
import type { Tag, TagStore } from './tags.js';
import type { ImageStore, Image } from './images.js';
import type { KeyPairStore } from './keypairs.js';

export interface Settings {
  getInt(name: string): Promise<number>;
  get(name: string): Promise<string>;
}

export interface Instance {
  instanceId: string;
  ownerId: string;
  reservationId: string;
  requesterId: string;
  imageId: string;
  kernelId?: string;
  ramdiskId?: string;
  instanceType: string;
  state: InstanceStateName;
  stateCode: number;
  stateReason?: StateReason;
  stateTransitionReason: string;
  keyName?: string;
  zone: string;
  nodeId?: string;
  privateIp?: string;
  mac?: string;
  publicIp?: string;
  privateDnsName: string;
  publicDnsName: string;
  launchIndex: number;
  userData?: string;
  clientToken?: string;
  launchTime: Date;
  stateChangedAt: Date;
  reportedState?: string;
  reportedAt?: Date;
  rootDeviceType: string;
  rootDeviceName: string;
  virtualizationType: string;
  attributes: InstanceAttributes;
}

export interface InstanceAttributes {
  disableApiTermination?: boolean;
  instanceInitiatedShutdownBehavior?: 'stop' | 'terminate';
}

export interface Reservation {
  reservationId: string;
  ownerId: string;
  requesterId: string;
  instances: Instance[];
}

export interface RunInput {
  imageId?: string;
  instanceType?: string;
  minCount?: number;
  maxCount?: number;
  keyName?: string;
  /** base64 */
  userData?: string;
  zone?: string;
  clientToken?: string;
  kernelId?: string;
  ramdiskId?: string;
  instanceTags?: Tag[];
  disableApiTermination?: boolean;
  instanceInitiatedShutdownBehavior?: string;
}

export interface StateChange {
  instanceId: string;
  previous: InstanceStateName;
  current: InstanceStateName;
}

interface LaunchSpec {
  nodeId: string;
  request: RunInstanceRequest;
  rootDeviceName: string;
  virtualizationType: string;
}

const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

/** What dispatching needs of an instance row. */
type DispatchRow = Pick<InstancesTable, 'instance_id' | 'account_id' | 'zone' | 'launch_spec'>;

/** Instances per CC RunInstances message (each carries its launch specification, user data up to 16 KiB). */
const DISPATCH_CHUNK = 200;

/**
 * Reconciliation reads only the reports that changed since its last pass, and compares every live instance with the
 * full list this often (instances that vanished from their node expire; reported_at is refreshed).
 */
const FULL_RECONCILE_MS = 30_000;

/** Every column but launch_spec (only launching needs it). */
const LIST_COLUMNS = [
  'instance_id', 'account_id', 'reservation_id', 'requester_id', 'image_id', 'kernel_id', 'ramdisk_id', 'instance_type', 'state',
  'state_reason_code', 'state_reason_message', 'state_transition_reason', 'key_name', 'zone', 'node_id', 'private_ip', 'mac',
  'public_ip', 'launch_index', 'user_data', 'client_token', 'launch_time', 'state_changed_at', 'terminated_at', 'launch_status',
  'reported_state', 'reported_at', 'attributes', 'root_device_name', 'virtualization_type',
] as const;

function dnsName(ip: string | null | undefined, suffix: string): string {
  return ip ? `euca-${ip.replace(/\./g, '-')}${suffix.startsWith('.') ? suffix : `.${suffix}`}` : '';
}

export function toInstance(r: Omit<InstancesTable, 'launch_spec'>, dnsSuffix = '.eucalyptus.internal'): Instance {
  const state = r.state as InstanceStateName;
  return {
    instanceId: r.instance_id,
    ownerId: r.account_id,
    reservationId: r.reservation_id,
    requesterId: r.requester_id,
    imageId: r.image_id,
    ...(r.kernel_id ? { kernelId: r.kernel_id } : {}),
    ...(r.ramdisk_id ? { ramdiskId: r.ramdisk_id } : {}),
    instanceType: r.instance_type,
    state,
    stateCode: STATE_CODES[state],
    ...(r.state_reason_code ? { stateReason: { code: r.state_reason_code, message: r.state_reason_message ?? '' } } : {}),
    stateTransitionReason: r.state_transition_reason,
    ...(r.key_name ? { keyName: r.key_name } : {}),
    zone: r.zone,
    ...(r.node_id ? { nodeId: r.node_id } : {}),
    ...(r.private_ip && state !== 'terminated' ? { privateIp: r.private_ip } : {}),
    ...(r.mac ? { mac: r.mac } : {}),
    ...(r.public_ip && state === 'running' ? { publicIp: r.public_ip } : {}),
    privateDnsName: state === 'terminated' ? '' : dnsName(r.private_ip, dnsSuffix),
    publicDnsName: state === 'running' && r.public_ip ? dnsName(r.public_ip, dnsSuffix) : '',
    launchIndex: r.launch_index,
    ...(r.user_data ? { userData: r.user_data } : {}),
    ...(r.client_token ? { clientToken: r.client_token } : {}),
    launchTime: new Date(Number(r.launch_time)),
    stateChangedAt: new Date(Number(r.state_changed_at)),
    ...(r.reported_state ? { reportedState: r.reported_state } : {}),
    ...(r.reported_at ? { reportedAt: new Date(Number(r.reported_at)) } : {}),
    rootDeviceType: 'instance-store',
    rootDeviceName: r.root_device_name,
    virtualizationType: r.virtualization_type,
    attributes: JSON.parse(r.attributes) as InstanceAttributes,
  };
}

function b64Length(b64: string): number {
  const clean = b64.replace(/\s+/g, '');
  return Math.floor((clean.length * 3) / 4) - (clean.endsWith('==') ? 2 : clean.endsWith('=') ? 1 : 0);
}

export interface InstanceStoreDeps {
  db: Kysely<ComputeTables>;
  tags: TagStore;
  images: ImageStore;
  keyPairs: KeyPairStore;
  settings: Settings;
  /** Zone name → its cluster controller. */
  zones: Map<string, CcClient>;
  region: string;
  log: Logger;
  now?: () => number;
}

export class InstanceStore {
  private readonly db: Kysely<ComputeTables>;
  private readonly now: () => number;
  /**
   * Instances this process is launching right now, with the end of their dispatch (recover() leaves them alone;
   * terminating one waits for its dispatch first, so a late dispatch can never start an instance already torn down).
   */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Recorded launches waiting for the dispatcher (see enqueueDispatch). */
  private queue: Array<{ rows: DispatchRow[]; done: () => void }> = [];
  private draining: Promise<void> | undefined;
  /** Per zone: where the CC's change stream was last read, when the last full comparison ran, and which nodes were unreachable. */
  private readonly reportCursors = new Map<string, { cursor: ReportCursor; fullAt: number; unreachable: string }>();

  constructor(private readonly d: InstanceStoreDeps) {
    this.db = d.db;
    this.now = d.now ?? Date.now;
    d.tags.registerResourceType('instance', async (acct, id) => !!(await this.db.selectFrom('instances').select('instance_id').where('account_id', '=', acct).where('instance_id', '=', id).executeTakeFirst()));
    d.tags.registerResourceType('reservation', async (acct, id) => !!(await this.db.selectFrom('reservations').select('reservation_id').where('account_id', '=', acct).where('reservation_id', '=', id).executeTakeFirst()));
  }

  get zoneNames(): string[] {
    return [...this.d.zones.keys()];
  }

  private cc(zone: string): CcClient {
    const c = this.d.zones.get(zone);
    if (!c) throw ec2Errors.zone(zone);
    return c;
  }

  private settingCache = new Map<string, { at: number; value: Promise<string> }>();

  /** A property, cached for a second (read on every Describe). */
  private setting(name: string, fallback: string): Promise<string> {
    const hit = this.settingCache.get(name);
    const t = this.now();
    if (hit && t - hit.at < 1000) return hit.value;
    const value = this.d.settings.get(name).catch(() => fallback);
    this.settingCache.set(name, { at: t, value });
    return value;
  }

  private async dnsSuffix(): Promise<string> {
    return this.setting('cloud.vmstate.instance_subdomain', '.eucalyptus.internal');
  }

  private async terminatedKeepMs(): Promise<number> {
    return Number(await this.setting('cloud.vmstate.terminated_time', '60')) * 60_000;
  }

  // ------------------------------------------------------------------ RunInstances

  async run(accountId: string, requesterId: string, input: RunInput): Promise<Reservation> {
    if (!input.imageId) throw ec2Errors.missing('ImageId');
    const minCount = input.minCount ?? 1;
    const maxCount = input.maxCount ?? minCount;
    if (!Number.isInteger(minCount) || minCount < 1) throw ec2Errors.param(`Value (${minCount}) for parameter minCount is invalid. Expected a positive integer.`);
    if (!Number.isInteger(maxCount) || maxCount < 1) throw ec2Errors.param(`Value (${maxCount}) for parameter maxCount is invalid. Expected a positive integer.`);
    if (minCount > maxCount) throw ec2Errors.param(`Value (${minCount}) for parameter minCount is invalid. minCount must be less than or equal to maxCount (${maxCount}).`);
    if (maxCount > 10_000) throw ec2Errors.param(`Value (${maxCount}) for parameter maxCount is invalid.`);
    const typeName = input.instanceType ?? (await this.setting('cloud.vmtypes.default_type_name', 'm1.small'));
    const type = findInstanceType(typeName);
    if (!type) throw ec2Errors.instanceType(typeName);
    const zone = input.zone || this.zoneNames[0];
    if (!zone || !this.d.zones.has(zone)) throw ec2Errors.zone(input.zone ?? '');
    if (input.instanceInitiatedShutdownBehavior && !['stop', 'terminate'].includes(input.instanceInitiatedShutdownBehavior)) {
      throw ec2Errors.param(`Value (${input.instanceInitiatedShutdownBehavior}) for parameter instanceInitiatedShutdownBehavior is invalid.`);
    }
    if (input.userData !== undefined) {
      if (!/^[A-Za-z0-9+/=\s]*$/.test(input.userData)) throw ec2Errors.param('User data must be base64 encoded');
      const maxKb = Number(await this.setting('cloud.vmstate.user_data_max_size_kb', '16'));
      if (b64Length(input.userData) > maxKb * 1024) throw ec2Errors.param(`User data is limited to ${maxKb * 1024} bytes`);
    }
    if (input.clientToken !== undefined && (input.clientToken.length === 0 || input.clientToken.length > 64)) {
      throw ec2Errors.param('ClientToken must be 1 to 64 ASCII characters');
    }

    const requestHash = createHash('sha256').update(JSON.stringify({
      imageId: input.imageId, type: type.name, minCount, maxCount, keyName: input.keyName ?? null, userData: input.userData ?? null, zone, kernelId: input.kernelId ?? null, ramdiskId: input.ramdiskId ?? null,
    })).digest('hex');
    if (input.clientToken) {
      const prior = await this.byClientToken(accountId, input.clientToken);
      if (prior) {
        if (prior.hash !== requestHash) throw ec2Errors.idempotentMismatch(input.clientToken);
        return prior.reservation;
      }
    }

    const image = await this.d.images.forLaunch(accountId, input.imageId, 'machine');
    const kernelId = input.kernelId ?? image.kernelId;
    const ramdiskId = input.ramdiskId ?? image.ramdiskId;
    const kernel = kernelId ? await this.d.images.forLaunch(accountId, kernelId, 'kernel') : undefined;
    const ramdisk = ramdiskId ? await this.d.images.forLaunch(accountId, ramdiskId, 'ramdisk') : undefined;
    if (image.sizeBytes > type.diskGiB * 1024 ** 3) {
      throw ec2Errors.param(`The image ${image.imageId} (${Math.ceil(image.sizeBytes / 1024 ** 2)} MiB) is too large for instance type ${type.name} (${type.diskGiB} GiB disk)`);
    }
    let publicKey: string | undefined;
    if (input.keyName !== undefined) {
      const kp = await this.d.keyPairs.find(accountId, input.keyName);
      if (!kp) throw ec2Errors.keyNotFound(input.keyName);
      publicKey = kp.publicKey;
    }

    const reservationId = hexId('r');
    const ids = Array.from({ length: maxCount }, () => hexId('i'));
    const cc = this.cc(zone);
    const need = { name: type.name, cores: type.cpu, memoryMiB: type.memoryMiB, diskGiB: type.diskGiB };
    const { placements } = await cc.reserveInstances({ instanceIds: ids, minCount, instanceType: need });
    let dispatched: Promise<void> | undefined;
    let rows: InstancesTable[];
    for (const p of placements) this.inFlight.set(p.instanceId, Promise.resolve());
    try {
      const boot = {
        imageId: image.imageId,
        root: await this.d.images.artifact(image),
        ...(kernel ? { kernel: await this.d.images.artifact(kernel) } : {}),
        ...(ramdisk ? { ramdisk: await this.d.images.artifact(ramdisk) } : {}),
      };
      const suffix = await this.dnsSuffix();
      const t = this.now();
      rows = placements.map((p, launchIndex): InstancesTable => {
        const hostname = dnsName(p.privateIp, suffix);
        const request: RunInstanceRequest = {
          instanceId: p.instanceId,
          reservationId,
          ownerId: accountId,
          instanceType: need,
          boot,
          net: { mac: p.mac, privateIp: p.privateIp, privateDnsName: hostname },
          metadata: {
            amiLaunchIndex: launchIndex,
            availabilityZone: zone,
            region: this.d.region,
            accountId: /^\d{12}$/.test(accountId) ? accountId : undefined,
            ...(input.keyName ? { keyName: input.keyName } : {}),
            ...(publicKey ? { publicKey } : {}),
            ...(input.userData ? { userData: input.userData.replace(/\s+/g, '') } : {}),
            securityGroups: ['default'],
            hostname,
            ...(kernel ? { kernelId: kernel.imageId } : {}),
            ...(ramdisk ? { ramdiskId: ramdisk.imageId } : {}),
            blockDeviceMapping: kernel ? { ami: 'sda1', root: '/dev/sda1', ephemeral0: 'sda2', swap: 'sda3' } : { ami: '/dev/sda', root: '/dev/sda' },
            launchTime: t,
          },
        };
        const spec: LaunchSpec = { nodeId: p.nodeId, request, rootDeviceName: image.rootDeviceName, virtualizationType: image.virtualizationType };
        return {
          instance_id: p.instanceId,
          account_id: accountId,
          reservation_id: reservationId,
          requester_id: requesterId,
          image_id: image.imageId,
          kernel_id: kernel?.imageId ?? null,
          ramdisk_id: ramdisk?.imageId ?? null,
          instance_type: type.name,
          state: 'pending',
          state_reason_code: 'pending',
          state_reason_message: 'pending',
          state_transition_reason: '',
          key_name: input.keyName ?? null,
          zone,
          node_id: p.nodeId,
          private_ip: p.privateIp,
          mac: p.mac,
          public_ip: null,
          launch_index: launchIndex,
          user_data: input.userData ? input.userData.replace(/\s+/g, '') : null,
          client_token: input.clientToken ?? null,
          launch_time: t,
          state_changed_at: t,
          terminated_at: null,
          launch_status: 'recorded',
          reported_state: null,
          reported_at: null,
          launch_spec: JSON.stringify(spec),
          root_device_name: image.rootDeviceName,
          virtualization_type: image.virtualizationType,
          attributes: JSON.stringify({
            ...(input.disableApiTermination ? { disableApiTermination: true } : {}),
            ...(input.instanceInitiatedShutdownBehavior ? { instanceInitiatedShutdownBehavior: input.instanceInitiatedShutdownBehavior } : {}),
          }),
        };
      });
      try {
        await this.db.transaction().execute(async (tx) => {
          await tx.insertInto('reservations').values({
            reservation_id: reservationId, account_id: accountId, requester_id: requesterId, client_token: input.clientToken ?? null, request_hash: requestHash, created_at: t,
          }).execute();
          for (let i = 0; i < rows.length; i += 100) await tx.insertInto('instances').values(rows.slice(i, i + 100)).execute();
          if (input.instanceTags?.length) {
            await this.d.tags.putNew(accountId, rows.map((r) => ({ id: r.instance_id, type: 'instance' })), input.instanceTags, tx);
          }
        });
      } catch (e) {
        await cc.releaseInstances({ instanceIds: placements.map((p) => p.instanceId) }).catch(() => undefined);
        if (input.clientToken) {
          const prior = await this.byClientToken(accountId, input.clientToken);
          if (prior) {
            if (prior.hash !== requestHash) throw ec2Errors.idempotentMismatch(input.clientToken);
            return prior.reservation;
          }
        }
        throw e;
      }
      // Recorded: the launch goes on asynchronously (EC2 answers `pending` at once); a failure ends the instance
      // `terminated` with the reason, a CLC crash before dispatch is repaired by recover().
      dispatched = this.enqueueDispatch(rows);
      for (const p of placements) this.inFlight.set(p.instanceId, dispatched);
    } finally {
      if (dispatched) {
        const settled = dispatched;
        void settled.then(() => {
          for (const p of placements) if (this.inFlight.get(p.instanceId) === settled) this.inFlight.delete(p.instanceId);
        });
      } else {
        for (const p of placements) this.inFlight.delete(p.instanceId);
      }
    }
    const suffix = await this.dnsSuffix();
    return { reservationId, ownerId: accountId, requesterId, instances: rows.map((x) => toInstance(x, suffix)) };
  }

  /**
   * Queues recorded launches for dispatch. One dispatch runs at a time and takes everything queued meanwhile, so
   * concurrent RunInstances calls share CC round trips. Resolves when these rows were dispatched (or failed); never
   * rejects (an unexpected error leaves them recorded, and recover() sends them again).
   */
  private enqueueDispatch(rows: DispatchRow[]): Promise<void> {
    const done = new Promise<void>((resolve) => this.queue.push({ rows, done: resolve }));
    this.draining ??= this.drain();
    return done;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length) {
        await new Promise((r) => setImmediate(r)); // let concurrent launches join this batch
        const batch = this.queue.splice(0);
        try {
          await this.dispatch(batch.flatMap((b) => b.rows));
        } catch (e) {
          this.d.log.warn({ err: (e as Error).message }, 'launch dispatch failed; the instances stay recorded and will be re-sent');
        }
        for (const b of batch) b.done();
      }
    } finally {
      this.draining = undefined;
    }
  }

  /** Resolves when no launch of this process is waiting for dispatch (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Sends recorded instances to their nodes through the CC; failures end `terminated` with the reason. */
  private async dispatch(rows: DispatchRow[]): Promise<void> {
    const byZone = new Map<string, DispatchRow[]>();
    for (const r of rows) {
      const list = byZone.get(r.zone);
      if (list) list.push(r);
      else byZone.set(r.zone, [r]);
    }
    for (const [zone, all] of byZone) {
      for (let i = 0; i < all.length; i += DISPATCH_CHUNK) await this.dispatchZone(zone, all.slice(i, i + DISPATCH_CHUNK));
    }
  }

  private async dispatchZone(zone: string, list: DispatchRow[]): Promise<void> {
    const cc = this.cc(zone);
    const specs = list.map((r) => JSON.parse(r.launch_spec) as LaunchSpec);
    let results;
    try {
      ({ results } = await cc.runInstances({ instances: specs.map((s) => ({ nodeId: s.nodeId, request: s.request })) }));
    } catch (e) {
      const code = e instanceof AwsError ? e.code : '';
      if (code === 'ServiceUnavailable') {
        // No answer (unreachable or timed out): the CC may still have sent them. They stay recorded and
        // recover() re-sends them (idempotent per instance id) until they are confirmed or pending_time passes.
        this.d.log.warn({ zone, err: (e as Error).message }, 'launch dispatch unanswered; will retry');
        return;
      }
      const why = `the cluster controller of ${zone} did not accept the launch: ${(e as Error).message}`;
      this.d.log.warn({ zone, err: (e as Error).message }, 'launch dispatch failed');
      for (const r of list) await this.transition(r.instance_id, 'launch-failed', REASONS.launchFailed(why));
      await cc.releaseInstances({ instanceIds: list.map((r) => r.instance_id) }).catch(() => undefined);
      return;
    }
    const ok = results.filter((x) => x.ok).map((x) => x.instanceId);
    for (let i = 0; i < ok.length; i += 500) {
      await this.db.updateTable('instances').set({ launch_status: 'dispatched' }).where('instance_id', 'in', ok.slice(i, i + 500)).execute();
    }
    for (const res of results.filter((x) => !x.ok)) {
      const reason = res.error?.code === 'InsufficientInstanceCapacity'
        ? REASONS.capacity(res.error.message)
        : REASONS.launchFailed(res.error ? `${res.error.code}: ${res.error.message}` : 'the node refused the instance');
      await this.transition(res.instanceId, 'launch-failed', reason);
    }
  }

  /** After a restart: re-sends instances recorded but never confirmed as dispatched. */
  async recover(): Promise<number> {
    // Ids first: launches this process is still dispatching are skipped without reading their specifications.
    const recorded = await this.db.selectFrom('instances').select(['instance_id', 'launch_time'])
      .where('launch_status', '=', 'recorded').where('state', '=', 'pending').execute();
    const wanted = recorded.filter((r) => !this.inFlight.has(r.instance_id)).map((r) => r.instance_id);
    const rows: Array<Pick<InstancesTable, 'instance_id' | 'account_id' | 'zone' | 'launch_spec' | 'launch_time'>> = [];
    for (let i = 0; i < wanted.length; i += 500) {
      rows.push(...await this.db.selectFrom('instances').select(['instance_id', 'account_id', 'zone', 'launch_spec', 'launch_time'])
        .where('instance_id', 'in', wanted.slice(i, i + 500)).where('launch_status', '=', 'recorded').where('state', '=', 'pending').execute());
    }
    const pendingMs = Number(await this.setting('cloud.vmstate.pending_time', '60')) * 60_000;
    const expired = rows.filter((r) => this.now() - Number(r.launch_time) > pendingMs);
    for (const r of expired) {
      await this.transition(r.instance_id, 'launch-failed', REASONS.launchFailed('the launch was not confirmed by its cluster controller within cloud.vmstate.pending_time'));
      await this.cc(r.zone).releaseInstances({ instanceIds: [r.instance_id] }).catch(() => undefined);
    }
    const gone = new Set(expired);
    const todo = rows.filter((r) => !this.inFlight.has(r.instance_id) && !gone.has(r));
    if (todo.length) {
      this.d.log.info({ count: todo.length }, 're-dispatching instances recorded before a restart');
      await this.dispatch(todo);
    }
    return todo.length;
  }

  private async byClientToken(accountId: string, token: string): Promise<{ hash: string | null; reservation: Reservation } | undefined> {
    const r = await this.db.selectFrom('reservations').select(['reservation_id', 'request_hash']).where('account_id', '=', accountId).where('client_token', '=', token).executeTakeFirst();
    if (!r) return undefined;
    const res = await this.reservation(accountId, r.reservation_id);
    return res ? { hash: r.request_hash, reservation: res } : undefined;
  }

  async reservation(accountId: string, reservationId: string): Promise<Reservation | undefined> {
    const r = await this.db.selectFrom('reservations').selectAll().where('account_id', '=', accountId).where('reservation_id', '=', reservationId).executeTakeFirst();
    if (!r) return undefined;
    const suffix = await this.dnsSuffix();
    const rows = await this.db.selectFrom('instances').select(LIST_COLUMNS).where('reservation_id', '=', reservationId).orderBy('launch_index').execute();
    return { reservationId, ownerId: r.account_id, requesterId: r.requester_id, instances: rows.map((x) => toInstance(x, suffix)) };
  }

  // ------------------------------------------------------------------ transitions

  /**
   * Applies an event to one instance through the transition table. Returns the change, or undefined when the event is
   * not allowed in the current state (or another writer changed the state first).
   */
  async transition(instanceId: string, event: InstanceEvent, reason?: StateReason, extra: Partial<InstancesTable> = {}, known?: InstanceStateName): Promise<StateChange | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      // The caller's just-read state saves a read; the optimistic WHERE below still catches a concurrent change.
      let from = attempt === 0 ? known : undefined;
      if (from === undefined) {
        const row = await this.db.selectFrom('instances').select(['state']).where('instance_id', '=', instanceId).executeTakeFirst();
        if (!row) return undefined;
        from = row.state as InstanceStateName;
      }
      const to = nextState(from, event);
      if (!to) {
        if (attempt === 0 && known !== undefined) continue; // maybe stale: read it
        return undefined;
      }
      const t = this.now();
      const set: Partial<InstancesTable> = { ...extra, state: to };
      if (to !== from) set.state_changed_at = t;
      if (to === 'terminated' && from !== 'terminated') set.terminated_at = t;
      if (reason) {
        set.state_reason_code = reason.code;
        set.state_reason_message = reason.message;
      } else if (to === 'running') {
        set.state_reason_code = null;
        set.state_reason_message = null;
      }
      if (['terminate', 'stop', 'start'].includes(event) && to !== from) set.state_transition_reason = userTransitionText(new Date(t));
      const res = await this.db.updateTable('instances').set(set).where('instance_id', '=', instanceId).where('state', '=', from).executeTakeFirst();
      if (Number(res.numUpdatedRows) === 1) return { instanceId, previous: from, current: to };
    }
    return undefined;
  }

  // ------------------------------------------------------------------ queries

  /** Instances of the account that are still visible (terminated ones for cloud.vmstate.terminated_time). */
  async list(
    accountId: string,
    opts: {
      ids?: string[];
      states?: string[];
      afterId?: string;
      limit?: number;
      where?: Partial<Record<'instance_type' | 'image_id' | 'zone' | 'reservation_id' | 'key_name' | 'private_ip', string[]>>;
      /** Tag conditions answered by the database: a key with one of the values, or just the key. */
      tags?: Array<{ key: string; values?: string[] }>;
    } = {},
  ): Promise<Instance[]> {
    const cutoff = this.now() - (await this.terminatedKeepMs());
    let q = this.db.selectFrom('instances').select(LIST_COLUMNS).where('account_id', '=', accountId)
      .where((eb) => eb.or([eb('terminated_at', 'is', null), eb('terminated_at', '>=', cutoff)]));
    if (opts.ids) {
      if (opts.ids.length === 0) return [];
      q = q.where('instance_id', 'in', opts.ids);
    }
    if (opts.states) q = q.where('state', 'in', opts.states);
    for (const [col, values] of Object.entries(opts.where ?? {})) {
      if (!values) continue;
      if (values.length === 0) return [];
      q = q.where(col as 'instance_type', 'in', values);
    }
    for (const tag of opts.tags ?? []) {
      let sub = this.db.selectFrom('tags').select('resource_id').where('account_id', '=', accountId).where('key', '=', tag.key);
      if (tag.values) {
        if (tag.values.length === 0) return [];
        sub = sub.where('value', 'in', tag.values);
      }
      q = q.where('instance_id', 'in', sub);
    }
    if (opts.afterId) q = q.where('instance_id', '>', opts.afterId);
    q = q.orderBy('instance_id');
    if (opts.limit) q = q.limit(opts.limit);
    const suffix = await this.dnsSuffix();
    return (await q.execute()).map((r) => toInstance(r, suffix));
  }

  /** The named instances; any id missing (or malformed) fails the call with AWS's error. */
  async require(accountId: string, ids: string[]): Promise<Instance[]> {
    for (const id of ids) if (!INSTANCE_ID.test(id)) throw ec2Errors.instanceMalformed(id);
    const found = await this.list(accountId, { ids: [...new Set(ids)] });
    const missing = ids.filter((id) => !found.some((f) => f.instanceId === id));
    if (missing.length) throw ec2Errors.instanceNotFound(missing.length === 1 ? missing[0]! : missing);
    return ids.map((id) => found.find((f) => f.instanceId === id)!);
  }

  // ------------------------------------------------------------------ user actions

  private async relay(
    instances: Instance[],
    call: (cc: CcClient, ids: string[]) => Promise<{ results: Array<{ instanceId: string; ok: boolean; instance?: InstanceReport; error?: { code: string; message: string } }> }>,
  ) {
    const byZone = new Map<string, string[]>();
    for (const i of instances) byZone.set(i.zone, [...(byZone.get(i.zone) ?? []), i.instanceId]);
    const out = new Map<string, { ok: boolean; instance?: InstanceReport; error?: { code: string; message: string } }>();
    for (const [zone, ids] of byZone) {
      try {
        const { results } = await call(this.cc(zone), ids);
        for (const r of results) out.set(r.instanceId, r);
      } catch (e) {
        for (const id of ids) out.set(id, { ok: false, error: { code: 'ServiceUnavailable', message: (e as Error).message } });
      }
    }
    return out;
  }

  async terminate(accountId: string, ids: string[]): Promise<StateChange[]> {
    // A launch of this process still on its way to the node gets there first (then it is torn down like any other).
    await Promise.all(ids.map((id) => this.inFlight.get(id) ?? Promise.resolve()));
    const instances = await this.require(accountId, ids);
    for (const i of instances) {
      if (i.attributes.disableApiTermination && i.state !== 'terminated') {
        throw ec2Errors.notPermitted(`The instance '${i.instanceId}' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.`);
      }
    }
    const changes: StateChange[] = [];
    const toNodes: Instance[] = [];
    for (const i of instances) {
      const ch = await this.transition(i.instanceId, 'terminate', REASONS.userTerminated());
      changes.push(ch ?? { instanceId: i.instanceId, previous: i.state, current: i.state });
      if (ch && ch.current === 'shutting-down') toNodes.push(i);
    }
    if (toNodes.length) {
      const res = await this.relay(toNodes, (cc, list) => cc.terminateInstances({ instanceIds: list }));
      for (const i of toNodes) {
        const r = res.get(i.instanceId);
        // Gone from the node (or never reached it): terminated now.
        if (r?.ok && (!r.instance || r.instance.state === 'terminated')) {
          await this.transition(i.instanceId, 'torn-down');
        } else if (r && !r.ok && r.error?.code === 'InvalidInstanceID.NotFound') {
          await this.transition(i.instanceId, 'torn-down');
        }
      }
    }
    return changes;
  }

  async stop(accountId: string, ids: string[], force = false): Promise<StateChange[]> {
    const instances = await this.require(accountId, ids);
    for (const i of instances) if (!nextState(i.state, 'stop')) throw ec2Errors.incorrectState(i.instanceId, i.state, 'stopped');
    const changes: StateChange[] = [];
    const toNodes: Instance[] = [];
    for (const i of instances) {
      const ch = await this.transition(i.instanceId, 'stop', REASONS.userStopped());
      changes.push(ch ?? { instanceId: i.instanceId, previous: i.state, current: i.state });
      if (ch && ch.previous === 'running') toNodes.push(i);
    }
    if (toNodes.length) {
      const res = await this.relay(toNodes, (cc, list) => cc.stopInstances({ instanceIds: list, ...(force ? { force } : {}) }));
      for (const i of toNodes) {
        const r = res.get(i.instanceId);
        if (r?.ok && r.instance?.state === 'stopped') await this.transition(i.instanceId, 'stopped');
        if (r && !r.ok && r.error?.code === 'UnsupportedOperation') {
          await this.transition(i.instanceId, 'start'); // back to running: stopping is not possible on this node
          throw ec2Errors.unsupported(`The instance '${i.instanceId}' cannot be stopped: ${r.error.message}`);
        }
      }
    }
    return changes;
  }

  async start(accountId: string, ids: string[]): Promise<StateChange[]> {
    const instances = await this.require(accountId, ids);
    for (const i of instances) if (!nextState(i.state, 'start')) throw ec2Errors.incorrectState(i.instanceId, i.state, 'started');
    const changes: StateChange[] = [];
    const toNodes: Instance[] = [];
    for (const i of instances) {
      const ch = await this.transition(i.instanceId, 'start');
      changes.push(ch ?? { instanceId: i.instanceId, previous: i.state, current: i.state });
      if (ch && ch.previous === 'stopped') toNodes.push(i);
    }
    if (toNodes.length) {
      const res = await this.relay(toNodes, (cc, list) => cc.startInstances({ instanceIds: list }));
      for (const i of toNodes) {
        const r = res.get(i.instanceId);
        if (r && !r.ok) {
          await this.db.updateTable('instances').set({ state: 'stopped', state_changed_at: this.now() }).where('instance_id', '=', i.instanceId).where('state', '=', 'pending').execute();
          throw new AwsError(r.error?.code === 'InsufficientInstanceCapacity' ? 'InsufficientInstanceCapacity' : 'InternalError', `Could not start ${i.instanceId}: ${r.error?.message ?? 'unknown error'}`, { status: r.error?.code === 'InsufficientInstanceCapacity' ? 500 : 500 });
        }
        if (r?.instance?.state === 'running') await this.transition(i.instanceId, 'booted');
      }
    }
    return changes;
  }

  async reboot(accountId: string, ids: string[]): Promise<void> {
    const instances = await this.require(accountId, ids);
    for (const i of instances) if (i.state === 'terminated' || i.state === 'shutting-down') throw ec2Errors.incorrectState(i.instanceId, i.state, 'rebooted');
    const running = instances.filter((i) => i.state === 'running');
    if (running.length) await this.relay(running, (cc, list) => cc.rebootInstances({ instanceIds: list }));
  }

  async consoleOutput(accountId: string, id: string): Promise<{ instanceId: string; output?: string; timestamp: Date }> {
    const [i] = await this.require(accountId, [id]);
    if (!i!.nodeId || i!.state === 'terminated') return { instanceId: id, timestamp: new Date(this.now()) };
    try {
      const r = await this.cc(i!.zone).getConsoleOutput({ instanceId: id });
      return { instanceId: id, output: r.output, timestamp: new Date(r.timestamp) };
    } catch {
      return { instanceId: id, timestamp: new Date(this.now()) };
    }
  }

  async modifyAttributes(accountId: string, id: string, change: { instanceType?: string; userData?: string; disableApiTermination?: boolean; instanceInitiatedShutdownBehavior?: string }): Promise<void> {
    const [i] = await this.require(accountId, [id]);
    const set: Partial<InstancesTable> = {};
    if (change.instanceType !== undefined) {
      if (i!.state !== 'stopped') throw ec2Errors.incorrectState(id, i!.state, 'modified (instanceType)');
      if (!findInstanceType(change.instanceType)) throw ec2Errors.instanceType(change.instanceType);
      set.instance_type = change.instanceType;
    }
    if (change.userData !== undefined) {
      if (i!.state !== 'stopped') throw ec2Errors.incorrectState(id, i!.state, 'modified (userData)');
      set.user_data = change.userData;
    }
    const attrs = { ...i!.attributes };
    if (change.disableApiTermination !== undefined) attrs.disableApiTermination = change.disableApiTermination;
    if (change.instanceInitiatedShutdownBehavior !== undefined) {
      if (!['stop', 'terminate'].includes(change.instanceInitiatedShutdownBehavior)) throw ec2Errors.param(`Value (${change.instanceInitiatedShutdownBehavior}) for parameter instanceInitiatedShutdownBehavior is invalid.`);
      attrs.instanceInitiatedShutdownBehavior = change.instanceInitiatedShutdownBehavior as 'stop' | 'terminate';
    }
    set.attributes = JSON.stringify(attrs);
    // A changed type or user data must reach the node on the next start.
    if (set.instance_type || set.user_data !== undefined) {
      const row = await this.db.selectFrom('instances').select('launch_spec').where('instance_id', '=', id).executeTakeFirstOrThrow();
      const spec = JSON.parse(row.launch_spec) as LaunchSpec;
      if (set.instance_type) {
        const t = findInstanceType(set.instance_type)!;
        spec.request.instanceType = { name: t.name, cores: t.cpu, memoryMiB: t.memoryMiB, diskGiB: t.diskGiB };
      }
      if (set.user_data !== undefined) spec.request.metadata.userData = set.user_data ?? undefined;
      set.launch_spec = JSON.stringify(spec);
    }
    await this.db.updateTable('instances').set(set).where('instance_id', '=', id).execute();
  }

  /** Instance types with capacity per zone (for DescribeAvailabilityZones verbose). */
  async capacity(zone: string): Promise<Array<{ type: InstanceType; free: number; max: number }>> {
    const { types } = await this.cc(zone).describeResources({ types: INSTANCE_TYPES.map((t) => ({ name: t.name, cores: t.cpu, memoryMiB: t.memoryMiB, diskGiB: t.diskGiB })) });
    return types.map((t) => ({ type: findInstanceType(t.name)!, free: t.free, max: t.max }));
  }

  // ------------------------------------------------------------------ reconciliation

  /**
   * One reconciliation pass: asks every zone's CC what its nodes run, and moves each instance's recorded state towards
   * what is reported (desired vs actual). Unreported instances on reachable nodes are torn down (shutting-down) or
   * expire (others, after a grace period). Also re-dispatches recorded launches and purges long-terminated rows.
   */
  async reconcile(): Promise<{ changed: number }> {
    let changed = 0;
    await this.recover();
    const now = this.now();
    for (const [zone, cc] of this.d.zones) {
      let answer: Awaited<ReturnType<CcClient['describeInstances']>>;
      const prev = this.reportCursors.get(zone);
      let full = !prev || now - prev.fullAt >= FULL_RECONCILE_MS;
      try {
        answer = await cc.describeInstances(full ? {} : { since: prev!.cursor });
        // A node that stopped or started answering: look at everything again (its changes were held back meanwhile).
        if (answer.full === false && answer.unreachable.join() !== prev!.unreachable) answer = await cc.describeInstances({});
      } catch (e) {
        this.d.log.warn({ zone, err: (e as Error).message }, 'reconcile: cluster controller unreachable');
        continue;
      }
      full = answer.full !== false;
      const { instances: reports, unreachable } = answer;
      if (answer.cursor) this.reportCursors.set(zone, { cursor: answer.cursor, fullAt: full ? now : prev!.fullAt, unreachable: unreachable.join() });
      const byId = new Map(reports.map((r) => [r.report.instanceId, r]));
      const columns = ['instance_id', 'state', 'node_id', 'launch_status', 'reported_state', 'launch_time', 'reported_at', 'attributes', 'state_changed_at'] as const;
      // A full answer is compared with every live row (instances missing from it expire); a partial one only with the
      // rows it reports.
      let rows: Array<Pick<InstancesTable, (typeof columns)[number]>> = [];
      if (full) {
        rows = await this.db.selectFrom('instances').select(columns).where('zone', '=', zone).where('state', '!=', 'terminated').execute();
      } else {
        const ids = [...byId.keys()];
        for (let i = 0; i < ids.length; i += 500) {
          rows.push(...await this.db.selectFrom('instances').select(columns).where('instance_id', 'in', ids.slice(i, i + 500)).where('zone', '=', zone).where('state', '!=', 'terminated').execute());
        }
      }
      const reported = new Map<string, string[]>();
      const noteReport = (state: string, id: string) => {
        const list = reported.get(state);
        if (list) list.push(id);
        else reported.set(state, [id]);
      };
      for (const row of rows) {
        const rep = byId.get(row.instance_id);
        const state = row.state as InstanceStateName;
        if (!rep) {
          if (row.launch_status !== 'dispatched' || (row.node_id && unreachable.includes(row.node_id))) continue;
          const since = Number(row.reported_at ?? row.state_changed_at);
          if (state === 'shutting-down') {
            if (await this.transition(row.instance_id, 'torn-down', undefined, {}, state)) changed++;
          } else if (now - since > 120_000) {
            const ev: InstanceEvent = state === 'pending' ? 'launch-failed' : 'expired';
            if (await this.transition(row.instance_id, ev, REASONS.expired(), {}, state)) changed++;
          }
          continue;
        }
        const r = rep.report;
        if (r.stateChangedAt < Number(row.state_changed_at)) {
          // The node's last change is older than ours (a user action since): this report cannot move us backwards.
          if (row.reported_state !== r.state) noteReport(r.state, row.instance_id);
          continue;
        }
        let ev: InstanceEvent | undefined;
        // EC2 writes state reason messages as "<Code>: <why>".
        let reason: StateReason | undefined = r.stateReason
          ? { code: r.stateReason.code, message: r.stateReason.message.startsWith(`${r.stateReason.code}:`) ? r.stateReason.message : `${r.stateReason.code}: ${r.stateReason.message}` }
          : undefined;
        if (r.state === 'running' && state === 'pending') ev = 'booted';
        else if (r.state === 'terminated') {
          if (state === 'pending') {
            ev = 'launch-failed';
            reason = reason ?? REASONS.launchFailed('the node could not start the instance');
          } else if (state === 'shutting-down') ev = 'torn-down';
          else {
            ev = 'expired';
            reason = reason ?? REASONS.launchFailed('the instance disappeared from its node');
          }
          if (ev === 'expired' && state === 'stopping') ev = undefined;
        } else if (r.state === 'stopped') {
          if (state === 'stopping') ev = 'stopped';
          else if (state === 'running') {
            ev = 'guest-shutdown';
            reason = REASONS.guestShutdown();
          }
        }
        if (ev) {
          const ch = await this.transition(row.instance_id, ev, reason, { reported_state: r.state, reported_at: now }, state);
          if (ch) {
            changed++;
            if (ch.current === 'stopping' && ev === 'guest-shutdown') {
              const attrs = JSON.parse(row.attributes) as InstanceAttributes;
              if (attrs.instanceInitiatedShutdownBehavior === 'terminate') {
                await this.transition(row.instance_id, 'terminate', REASONS.guestShutdown());
                await cc.terminateInstances({ instanceIds: [row.instance_id] }).catch(() => undefined);
              } else {
                await this.transition(row.instance_id, 'stopped');
              }
            }
            continue;
          }
        }
        if (row.reported_state !== r.state || !row.reported_at || now - Number(row.reported_at) > 60_000) {
          noteReport(r.state, row.instance_id);
        }
      }
      // reported_state / reported_at of the rows that changed nothing else: one statement per reported state.
      for (const [state, ids] of reported) {
        for (let i = 0; i < ids.length; i += 500) {
          await this.db.updateTable('instances').set({ reported_state: state, reported_at: now }).where('instance_id', 'in', ids.slice(i, i + 500)).execute();
        }
      }
    }
    const keepMs = (await this.d.settings.getInt('cloud.vmstate.terminated_time').catch(() => 60)) * 60_000;
    await this.db.deleteFrom('instances').where('state', '=', 'terminated').where('terminated_at', '<', now - keepMs).execute();
    return { changed };
  }

  /** Images in use by live instances (deregistration leaves them running). */
  async imageInUse(imageId: string): Promise<boolean> {
    return !!(await this.db.selectFrom('instances').select('instance_id').where('image_id', '=', imageId).where('state', '!=', 'terminated').executeTakeFirst());
  }
}

export type { Image };
