/**
 * @module nc/service
 * The node controller: executes the rpc/nc messages through a HypervisorDriver, owns the node network (namespace,
 * bridge, taps, DHCP, metadata DNAT) and the metadata service, keeps one state file per instance under
 * `<dataDir>/nc/instances/`, and after a restart (even `kill -9`) re-adopts the running VMs and loses none.
 * Each instance is an actor: its operations run one after the other (a per-instance lock).
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, promises as fs, statfsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { cpus, totalmem, tmpdir, hostname } from 'node:os';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { AwsError, createLogger, type Logger } from '../shared/index.js';
import {
  NC_RPC_PREFIX, NcOps, handleRpcRequest,
  type InstanceReport, type InstanceResult, type InstanceState, type NodeResources, type RpcImplementation, type RunInstanceRequest,
  type VolumeAttachmentReport,
} from '../rpc/index.js';
import { VmNotFoundError, VmStateError, type HypervisorDriver, type VmEvent, type VmSpec } from './driver/index.js';
import { ImageCache } from './image-cache.js';
import { ALLOWED, HOLDS_CAPACITY, canTransition, type InstanceOp } from './instance-states.js';
import { MetadataService, serveMetadata, type InstanceMetadataRecord } from './metadata/index.js';
import { NodeNetwork } from './net/node-network.js';
import { allocateIp, cidrOf, gatewayOf, inSubnet, macForIp, parseCidr, tapName } from './net/plan.js';

export interface NodeControllerConfig {
  /** The cloud's data directory; the NC keeps its state in `<dataDir>/nc`. */
  dataDir: string;
  /** HTTP port (8775; 0 = any free port). */
  port?: number;
  host?: string;
  nodeId?: string;
  /** The hypervisor driver (a ready instance); the composition root builds it (see createDefaultDriver). */
  driver: HypervisorDriver;
  /** Node networking in namespaces; false (fake driver, scale tests) = addresses are allocated but no network exists. */
  network?: { netns: string; subnet: string; outsideNetns?: string | false; metadataPort?: number } | false;
  zone?: string;
  region?: string;
  /** Capacity reported to the CC; defaults: 4 cores per CPU (TCG guests idle cheaply), RAM minus 1 GiB, free disk. */
  resources?: Partial<{ cores: number; memoryMiB: number; diskGiB: number }>;
  /** Shared secret for RPC signing (rpc/http). */
  secret?: string;
  /** PEM RSA key signing instance identity documents; generated and kept in `<dataDir>/nc` when absent. */
  signingKeyPem?: string;
  /** How long terminated instances stay visible (default 1 h). */
  terminatedRetentionMs?: number;
  logger?: Logger;
}

interface NcInstance {
  req: RunInstanceRequest;
  state: InstanceState;
  stateReason?: { code: string; message: string };
  mac: string;
  privateIp: string;
  tap: string;
  launchTime: number;
  stateChangedAt: number;
  bootCount: number;
  volumes: VolumeAttachmentReport[];
  /** Epoch ms when a terminated instance is forgotten. */
  forgetAt?: number;
  /** The node's change counter at this instance's last change (in memory; renumbered after a restart). */
  seq?: number;
}

export interface NodeController {
  readonly url: string;
  readonly port: number;
  readonly nodeId: string;
  /** The node's namespaces (absent without networking). */
  readonly netns?: string;
  readonly outsideNetns?: string;
  readonly gateway: string;
  readonly subnet: string;
  /** The in-process API (the same functions the HTTP server calls). */
  readonly api: RpcImplementation<typeof NcOps>;
  /** Stops serving; VMs, dnsmasq and the metadata forwarder keep running (a restart re-adopts them). */
  close(): Promise<void>;
  /** Terminates every instance and removes the node network: a full clean-up (tests, `euca down --purge`). */
  destroy(): Promise<void>;
}

const notFound = (id: string) => new AwsError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);

export async function startNodeController(cfg: NodeControllerConfig): Promise<NodeController> {
  const nc = new NodeControllerImpl(cfg);
  await nc.init();
  return nc.listen();
}

class NodeControllerImpl {
  private readonly dir: string;
  private readonly instances = new Map<string, NcInstance>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly log: Logger;
  private readonly driver: HypervisorDriver;
  private readonly cache: ImageCache;
  private network?: NodeNetwork;
  private metadata!: MetadataService;
  private mdServer?: { close(): Promise<void> };
  private server?: Server;
  private readonly subnet;
  private offEvents?: () => void;
  private readonly nodeId: string;
  private sweeper?: NodeJS.Timeout;
  private tmpSeq = 0;
  /** Change counter and the epoch it belongs to (a new one per process): DescribeInstances `since` answers from it. */
  private changeSeq = 0;
  private readonly epoch = randomUUID();
  /** Kept with every change of `instances` (see track): what live instances use, and their addresses. */
  private readonly used = { cores: 0, memoryMiB: 0, diskGiB: 0, count: 0 };
  private readonly liveIps = new Map<string, string>();
  private readonly liveMacs = new Map<string, string>();

  constructor(private readonly cfg: NodeControllerConfig) {
    this.dir = join(cfg.dataDir, 'nc');
    this.log = cfg.logger ?? createLogger('nc');
    this.driver = cfg.driver;
    this.cache = new ImageCache(join(this.dir, 'cache'));
    this.subnet = parseCidr(cfg.network ? cfg.network.subnet : '10.77.0.0/16');
    this.nodeId = cfg.nodeId ?? hostname();
  }

  private instPath(id: string) {
    return join(this.dir, 'instances', `${id}.json`);
  }

  /** Adds (+1) or removes (-1) an instance's share of the node's usage and addresses, as its current state gives. */
  private track(inst: NcInstance, sign: 1 | -1): void {
    if (inst.state === 'terminated') return;
    const id = inst.req.instanceId;
    this.used.count += sign;
    if (sign > 0) {
      this.liveIps.set(inst.privateIp, id);
      this.liveMacs.set(inst.mac, id);
    } else {
      if (this.liveIps.get(inst.privateIp) === id) this.liveIps.delete(inst.privateIp);
      if (this.liveMacs.get(inst.mac) === id) this.liveMacs.delete(inst.mac);
    }
    if (!HOLDS_CAPACITY.includes(inst.state)) return;
    const t = inst.req.instanceType;
    this.used.cores += sign * t.cores;
    this.used.memoryMiB += sign * t.memoryMiB;
    this.used.diskGiB += sign * t.diskGiB;
  }

  /** Every change of an instance ends here: it is numbered for incremental reports, then written down. */
  private async persist(inst: NcInstance): Promise<void> {
    inst.seq = ++this.changeSeq;
    const p = this.instPath(inst.req.instanceId);
    if (inst.state === 'terminated') {
      await fs.rm(p, { force: true });
      return;
    }
    const tmp = `${p}.${process.pid}.${++this.tmpSeq}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(inst));
    await fs.rename(tmp, p);
  }

  private lock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.locks.set(id, settled);
    void settled.then(() => {
      if (this.locks.get(id) === settled) this.locks.delete(id);
    });
    return next;
  }

  private async setState(inst: NcInstance, to: InstanceState, reason?: { code: string; message: string }): Promise<void> {
    if (!canTransition(inst.state, to)) {
      this.log.warn({ instanceId: inst.req.instanceId, from: inst.state, to }, 'ignored impossible transition');
      return;
    }
    if (inst.state !== to) inst.stateChangedAt = Date.now();
    this.track(inst, -1);
    inst.state = to;
    this.track(inst, 1);
    if (reason) inst.stateReason = reason;
    else if (to === 'running' || to === 'pending') delete inst.stateReason;
    if (to === 'terminated') inst.forgetAt = Date.now() + (this.cfg.terminatedRetentionMs ?? 3_600_000);
    await this.persist(inst);
  }

  private check(inst: NcInstance | undefined, id: string, op: InstanceOp): NcInstance {
    if (!inst) throw notFound(id);
    if (!ALLOWED[op].includes(inst.state)) {
      throw new AwsError('IncorrectInstanceState', `The instance '${id}' is not in a state from which it can be ${op === 'stop' ? 'stopped' : op === 'start' ? 'started' : op === 'reboot' ? 'rebooted' : op + 'ed'} (${inst.state}).`);
    }
    return inst;
  }

  async init(): Promise<void> {
    await fs.mkdir(join(this.dir, 'instances'), { recursive: true });
    let key = this.cfg.signingKeyPem;
    if (!key) {
      const kp = join(this.dir, 'identity-key.pem');
      if (!existsSync(kp)) {
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        await fs.writeFile(kp, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      }
      key = await fs.readFile(kp, 'utf8');
    }
    this.metadata = new MetadataService({ signingKeyPem: key });
    if (this.cfg.network) {
      let sock = join(this.dir, 'md.sock');
      if (sock.length > 100) sock = join(tmpdir(), `euca-md-${createHash('sha256').update(sock).digest('hex').slice(0, 12)}.sock`);
      this.mdServer = await serveMetadata(this.metadata, { unixPath: sock });
      this.network = new NodeNetwork({
        netns: this.cfg.network.netns, subnet: this.cfg.network.subnet, runDir: join(this.dir, 'net'), metadataSocket: sock,
        ...(this.cfg.network.metadataPort ? { metadataPort: this.cfg.network.metadataPort } : {}),
        outsideNetns: this.cfg.network.outsideNetns ?? false,
      });
      await this.network.setup();
    }
    this.offEvents = this.driver.onEvent((e) => void this.onVmEvent(e));
    await this.recover();
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [id, i] of this.instances) if (i.state === 'terminated' && (i.forgetAt ?? 0) < now) this.instances.delete(id);
    }, 60_000);
    this.sweeper.unref();
  }

  /** Reloads the instance files and reconciles them with the VMs the driver finds (restart after a crash). */
  private async recover(): Promise<void> {
    for (const f of await fs.readdir(join(this.dir, 'instances'))) {
      if (!f.endsWith('.json')) continue;
      try {
        const inst = JSON.parse(await fs.readFile(join(this.dir, 'instances', f), 'utf8')) as NcInstance;
        inst.seq = ++this.changeSeq;
        this.instances.set(inst.req.instanceId, inst);
        this.track(inst, 1);
      } catch (e) {
        this.log.error({ file: f, err: e }, 'unreadable instance state file');
      }
    }
    const vms = new Map((await this.driver.adopt()).map((v) => [v.id, v]));
    for (const [id, inst] of this.instances) {
      this.metadata.register(this.mdRecord(inst));
      const vm = vms.get(id);
      vms.delete(id);
      if (inst.state === 'shutting-down') {
        void this.lock(id, () => this.doTerminate(inst));
      } else if (vm?.power === 'running') {
        inst.bootCount = vm.bootCount;
        if (inst.state !== 'running') await this.setState(inst, 'running');
        if (this.network) await this.network.ensureTap(inst.tap);
      } else if (vm?.power === 'stopped') {
        if (inst.state !== 'stopped') await this.setState(inst, 'stopped', vm.stopReason === 'crashed' ? { code: 'Server.InternalError', message: 'the instance stopped while the node controller was down' } : { code: 'Client.InstanceInitiatedShutdown', message: 'Instance initiated shutdown' });
      } else if (inst.state === 'pending') {
        void this.lock(id, () => this.boot(inst)); // the boot was interrupted: do it again
      } else {
        const lost = { code: 'Server.InternalError', message: 'the instance disappeared from its node' };
        if (inst.state === 'stopped') {
          await this.setState(inst, 'terminated', lost);
        } else {
          await this.setState(inst, 'shutting-down', lost);
          void this.lock(id, () => this.doTerminate(inst));
        }
      }
    }
    for (const id of vms.keys()) {
      this.log.warn({ instanceId: id }, 'destroying a VM that no instance record claims');
      await this.driver.destroy(id).catch(() => undefined);
    }
    this.log.info({ instances: this.instances.size }, 'node controller recovered its instances');
  }

  private async onVmEvent(e: VmEvent): Promise<void> {
    const inst = this.instances.get(e.id);
    if (!inst) return;
    if (e.type === 'rebooted') {
      inst.bootCount = e.bootCount;
      await this.persist(inst);
      return;
    }
    await this.lock(e.id, async () => {
      if (inst.state !== 'running' && inst.state !== 'pending') return;
      const reason = e.reason === 'guest-shutdown'
        ? { code: 'Client.InstanceInitiatedShutdown', message: 'Instance initiated shutdown' }
        : { code: 'Server.InternalError', message: 'the instance\'s hypervisor process exited unexpectedly' };
      await this.setState(inst, 'stopped', reason);
    });
  }

  private hostnameFor(ip: string): string {
    return `euca-${ip.replace(/\./g, '-')}.${this.cfg.region ?? 'eucalyptus'}.internal`;
  }

  private mdRecord(inst: NcInstance): InstanceMetadataRecord {
    const r = inst.req;
    const m = r.metadata;
    return {
      instanceId: r.instanceId, reservationId: r.reservationId, ownerId: m.accountId ?? r.ownerId, imageId: r.boot.imageId,
      instanceType: r.instanceType.name, privateIp: inst.privateIp, mac: inst.mac, availabilityZone: m.availabilityZone,
      region: m.region ?? this.cfg.region ?? 'eucalyptus', launchIndex: m.amiLaunchIndex ?? 0,
      securityGroups: m.securityGroups ?? ['default'], hostname: m.hostname ?? r.net?.privateDnsName ?? this.hostnameFor(inst.privateIp),
      blockDeviceMapping: m.blockDeviceMapping ?? (r.boot.root ? { ami: '/dev/sda1', root: '/dev/sda1' } : { ami: 'none', root: 'none' }),
      launchTime: inst.launchTime, subnetCidr: cidrOf(this.subnet),
      ...(r.net?.publicIp ? { publicIp: r.net.publicIp } : {}),
      ...(r.net?.publicDnsName ? { publicHostname: r.net.publicDnsName } : {}),
      ...(m.keyName ? { keyName: m.keyName } : {}),
      ...(m.publicKey ? { publicKey: m.publicKey } : {}),
      ...(m.userData ? { userData: Buffer.from(m.userData, 'base64') } : {}),
      ...(m.kernelId ?? r.boot.kernel?.id ? { kernelId: m.kernelId ?? r.boot.kernel?.id } : {}),
      ...(m.ramdiskId ?? r.boot.ramdisk?.id ? { ramdiskId: m.ramdiskId ?? r.boot.ramdisk?.id } : {}),
    };
  }

  private report(inst: NcInstance): InstanceReport {
    const r = inst.req;
    return {
      instanceId: r.instanceId, reservationId: r.reservationId, ownerId: r.ownerId, imageId: r.boot.imageId,
      instanceType: r.instanceType.name, state: inst.state, mac: inst.mac, privateIp: inst.privateIp,
      launchTime: inst.launchTime, stateChangedAt: inst.stateChangedAt, bootCount: inst.bootCount, volumes: inst.volumes,
      ...(inst.stateReason ? { stateReason: inst.stateReason } : {}),
      ...(r.net?.publicIp ? { publicIp: r.net.publicIp } : {}),
    };
  }

  resources(): NodeResources {
    const cores = this.cfg.resources?.cores ?? cpus().length * 4;
    const memoryMiB = this.cfg.resources?.memoryMiB ?? Math.max(0, Math.floor(totalmem() / 1048576) - 1024);
    let diskGiB = this.cfg.resources?.diskGiB;
    if (diskGiB === undefined) {
      try {
        const s = statfsSync(this.dir);
        diskGiB = Math.floor((s.bavail * s.bsize) / 2 ** 30);
      } catch {
        diskGiB = 0;
      }
    }
    const { cores: usedCores, memoryMiB: usedMem, diskGiB: usedDisk, count } = this.used;
    return {
      nodeId: this.nodeId, hypervisor: this.driver.capabilities().hypervisor, cores, memoryMiB, diskGiB,
      coresAvailable: Math.max(0, cores - usedCores), memoryMiBAvailable: Math.max(0, memoryMiB - usedMem),
      diskGiBAvailable: Math.max(0, diskGiB - usedDisk), instanceCount: count, subnet: cidrOf(this.subnet),
      gateway: gatewayOf(this.subnet),
      capabilities: Object.fromEntries(Object.entries(this.driver.capabilities()).filter(([, v]) => typeof v === 'boolean')) as Record<string, boolean>,
    };
  }

  /** Fetch images, plug the network, register metadata, spawn. On failure: clean up, terminated + reason. */
  private async boot(inst: NcInstance): Promise<void> {
    if (inst.state !== 'pending') return;
    const r = inst.req;
    const id = r.instanceId;
    try {
      const root = r.boot.root ? await this.cache.get(r.boot.root, true) : undefined;
      const kernel = r.boot.kernel ? await this.cache.get(r.boot.kernel, false) : undefined;
      const ramdisk = r.boot.ramdisk ? await this.cache.get(r.boot.ramdisk, false) : undefined;
      if (!root && !kernel) throw new Error('the image has neither a root disk nor a kernel');
      if (this.network) await this.network.addInstance({ mac: inst.mac, ip: inst.privateIp, name: id, tap: inst.tap });
      this.metadata.register(this.mdRecord(inst));
      const spec: VmSpec = {
        id, cores: r.instanceType.cores, memoryMiB: r.instanceType.memoryMiB,
        ...(root ? { root: { path: root.path, format: root.format, ...(r.instanceType.diskGiB ? { sizeGiB: r.instanceType.diskGiB } : {}) } } : {}),
        ...(kernel ? { kernel: kernel.path } : {}),
        ...(ramdisk ? { ramdisk: ramdisk.path } : {}),
        ...(kernel ? { cmdline: ['console=ttyS0 panic=-1 loglevel=4', r.boot.kernelArgs ?? ''].join(' ').trim() } : {}),
        nics: this.network ? [{ mac: inst.mac, tap: inst.tap, netns: this.network.netns }] : [],
      };
      const existing = await this.driver.describe(id);
      const vm = existing ?? (await this.driver.spawn(spec));
      inst.bootCount = vm.bootCount;
      await this.setState(inst, 'running');
    } catch (e) {
      const message = (e as Error).message ?? String(e);
      this.log.error({ instanceId: id, err: message }, 'instance launch failed');
      await this.driver.destroy(id).catch(() => undefined);
      if (this.network) await this.network.removeInstance({ mac: inst.mac, tap: inst.tap }).catch(() => undefined);
      this.metadata.unregister(id);
      await this.setState(inst, 'terminated', { code: 'Server.InternalError', message: `launch failed: ${message}` });
    }
  }

  private async doTerminate(inst: NcInstance): Promise<void> {
    if (inst.state === 'terminated') return;
    const id = inst.req.instanceId;
    await this.setState(inst, 'shutting-down');
    await this.driver.destroy(id);
    if (this.network) await this.network.removeInstance({ mac: inst.mac, tap: inst.tap });
    this.metadata.unregister(id);
    inst.volumes = inst.volumes.map((v) => ({ ...v, state: 'detached' }));
    await this.setState(inst, 'terminated', inst.stateReason?.code === 'Server.InternalError' ? inst.stateReason : { code: 'Client.UserInitiatedShutdown', message: 'User initiated shutdown' });
  }

  private mapDriverError(e: unknown, id: string): never {
    if (e instanceof VmNotFoundError) throw new AwsError('IncorrectInstanceState', `The instance '${id}' has no running virtual machine`);
    if (e instanceof VmStateError) throw new AwsError('IncorrectInstanceState', e.message);
    throw e;
  }

  readonly api: RpcImplementation<typeof NcOps> = {
    RunInstance: async (req) => {
      const id = req.instanceId;
      const existing = this.instances.get(id);
      if (existing) return { instance: this.report(existing) };
      const res = this.resources();
      if (req.instanceType.cores > res.coresAvailable || req.instanceType.memoryMiB > res.memoryMiBAvailable) {
        throw new AwsError('InsufficientInstanceCapacity', `Insufficient capacity on node ${this.nodeId} for ${req.instanceType.name} (free: ${res.coresAvailable} cores, ${res.memoryMiBAvailable} MiB)`, { status: 503 });
      }
      let ip = req.net?.privateIp;
      if (ip) {
        if (!inSubnet(this.subnet, ip) || ip === gatewayOf(this.subnet)) throw new AwsError('InvalidParameterValue', `private IP ${ip} is not usable in ${cidrOf(this.subnet)}`);
        if (this.liveIps.has(ip)) throw new AwsError('InvalidIPAddress.InUse', `private IP ${ip} is in use`);
      } else {
        ip = allocateIp(this.subnet, new Set(this.liveIps.keys()));
        if (!ip) throw new AwsError('InsufficientInstanceCapacity', `no free address in ${cidrOf(this.subnet)}`, { status: 503 });
      }
      const mac = req.net?.mac ?? macForIp(ip);
      if (this.liveMacs.has(mac)) throw new AwsError('InvalidParameterValue', `MAC ${mac} is in use`);
      const now = Date.now();
      const inst: NcInstance = {
        req, state: 'pending', mac, privateIp: ip, tap: tapName(id), launchTime: req.metadata.launchTime ?? now,
        stateChangedAt: now, bootCount: 0, volumes: [],
      };
      this.instances.set(id, inst);
      this.track(inst, 1);
      await this.persist(inst);
      void this.lock(id, () => this.boot(inst));
      return { instance: this.report(inst) };
    },

    RunInstances: async ({ instances }) => {
      // Concurrently: RunInstance checks capacity and claims the instance before its first await, so the checks
      // still see each other in order.
      const results = await Promise.all(instances.map(async (req): Promise<InstanceResult> => {
        try {
          return { instanceId: req.instanceId, ok: true, instance: (await this.api.RunInstance(req)).instance };
        } catch (e) {
          if (!(e instanceof AwsError)) this.log.error({ instanceId: req.instanceId, err: e }, 'RunInstance failed');
          const err = e instanceof AwsError ? e : new AwsError('InternalError', `RunInstance failed: ${(e as Error)?.message ?? String(e)}`);
          return { instanceId: req.instanceId, ok: false, error: { code: err.code, message: err.message } };
        }
      }));
      return { results };
    },

    TerminateInstance: async ({ instanceId }) => {
      const inst = this.instances.get(instanceId);
      if (!inst) {
        // idempotent: a VM nobody knows is destroyed all the same
        await this.driver.destroy(instanceId);
        const now = Date.now();
        return { instance: { instanceId, reservationId: '', ownerId: '', imageId: '', instanceType: '', state: 'terminated', mac: '', privateIp: '', launchTime: 0, stateChangedAt: now, bootCount: 0, volumes: [] } };
      }
      await this.lock(instanceId, () => this.doTerminate(inst));
      return { instance: this.report(inst) };
    },

    RebootInstance: async ({ instanceId }) => {
      return this.lock(instanceId, async () => {
        const inst = this.check(this.instances.get(instanceId), instanceId, 'reboot');
        await this.driver.reboot(instanceId).catch((e) => this.mapDriverError(e, instanceId));
        inst.bootCount = (await this.driver.describe(instanceId))?.bootCount ?? inst.bootCount + 1;
        await this.persist(inst);
        return { instance: this.report(inst) };
      });
    },

    StopInstance: async ({ instanceId, force, timeoutMs }) => {
      const inst = this.check(this.instances.get(instanceId), instanceId, 'stop');
      return this.lock(instanceId, async () => {
        this.check(inst, instanceId, 'stop');
        await this.setState(inst, 'stopping');
        try {
          await this.driver.stop(instanceId, { ...(force !== undefined ? { force } : {}), timeoutMs: timeoutMs ?? 30_000 });
        } catch (e) {
          if (!(e instanceof VmStateError)) {
            await this.setState(inst, 'running');
            throw e;
          }
        }
        await this.setState(inst, 'stopped', { code: 'Client.UserInitiatedShutdown', message: 'User initiated shutdown' });
        return { instance: this.report(inst) };
      });
    },

    StartInstance: async ({ instanceId }) => {
      return this.lock(instanceId, async () => {
        const inst = this.check(this.instances.get(instanceId), instanceId, 'start');
        await this.setState(inst, 'pending');
        try {
          if (this.network) await this.network.addInstance({ mac: inst.mac, ip: inst.privateIp, name: instanceId, tap: inst.tap });
          const vm = await this.driver.start(instanceId);
          inst.bootCount = vm.bootCount;
          await this.setState(inst, 'running');
        } catch (e) {
          await this.setState(inst, 'stopped', { code: 'Server.InternalError', message: `start failed: ${(e as Error).message}` });
          throw new AwsError('InternalError', `start of ${instanceId} failed: ${(e as Error).message}`, { status: 500 });
        }
        return { instance: this.report(inst) };
      });
    },

    DescribeInstances: async ({ instanceIds, since }) => {
      const cursor = { epoch: this.epoch, seq: this.changeSeq };
      if (instanceIds) {
        const list = instanceIds.map((id) => this.instances.get(id)).filter((i): i is NcInstance => !!i);
        return { instances: list.map((i) => this.report(i)), cursor };
      }
      const delta = since?.epoch === this.epoch ? since.seq : undefined;
      const instances: InstanceReport[] = [];
      for (const i of this.instances.values()) if (delta === undefined || (i.seq ?? 0) > delta) instances.push(this.report(i));
      return { instances, cursor, full: delta === undefined };
    },

    DescribeResource: async () => this.resources(),

    GetConsoleOutput: async ({ instanceId }) => {
      const inst = this.check(this.instances.get(instanceId), instanceId, 'console');
      let out: Buffer = Buffer.alloc(0);
      if (inst.state !== 'terminated') out = await this.driver.consoleOutput(instanceId, 65536).catch(() => Buffer.alloc(0));
      return { instanceId, output: out.toString('base64'), timestamp: Date.now() };
    },

    AttachVolume: async ({ instanceId, volumeId, device, target }) => {
      return this.lock(instanceId, async () => {
        const inst = this.check(this.instances.get(instanceId), instanceId, 'attach');
        if (inst.volumes.some((v) => v.volumeId === volumeId && v.state !== 'detached')) {
          throw new AwsError('VolumeInUse', `${volumeId} is already attached to ${instanceId}`);
        }
        await this.driver.attachDisk(instanceId, { id: volumeId, serial: volumeId, source: target });
        const att: VolumeAttachmentReport = { volumeId, device, state: 'attached' };
        inst.volumes = [...inst.volumes.filter((v) => v.volumeId !== volumeId), att];
        await this.persist(inst);
        return { attachment: att };
      });
    },

    DetachVolume: async ({ instanceId, volumeId, force }) => {
      return this.lock(instanceId, async () => {
        const inst = this.check(this.instances.get(instanceId), instanceId, 'detach');
        const att = inst.volumes.find((v) => v.volumeId === volumeId && v.state !== 'detached');
        if (!att) throw new AwsError('IncorrectState', `${volumeId} is not attached to ${instanceId}`);
        await this.driver.detachDisk(instanceId, volumeId, { ...(force !== undefined ? { force } : {}), timeoutMs: 30_000 });
        const done: VolumeAttachmentReport = { ...att, state: 'detached' };
        inst.volumes = inst.volumes.filter((v) => v.volumeId !== volumeId);
        await this.persist(inst);
        return { attachment: done };
      });
    },
  };

  async listen(): Promise<NodeController> {
    const server = createServer((req, res) => {
      if (req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
        return;
      }
      void handleRpcRequest(req, res, NC_RPC_PREFIX, NcOps, this.api, {
        ...(this.cfg.secret ? { secret: this.cfg.secret } : {}),
        onInternalError: (op, e) => this.log.error({ op, err: e }, 'NC operation failed'),
      }).then((handled) => {
        if (!handled) {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'NotFound', message: 'no such path' } }));
        }
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.cfg.port ?? 8775, this.cfg.host ?? '127.0.0.1', () => resolve()));
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const host = this.cfg.host && this.cfg.host !== '0.0.0.0' ? this.cfg.host : '127.0.0.1';
    this.log.info({ port, hypervisor: this.driver.capabilities().hypervisor }, 'node controller listening');
    return {
      url: `http://${host}:${port}`,
      port,
      nodeId: this.nodeId,
      gateway: gatewayOf(this.subnet),
      subnet: cidrOf(this.subnet),
      ...(this.network ? { netns: this.network.netns } : {}),
      ...(this.network?.outsideNetns ? { outsideNetns: this.network.outsideNetns } : {}),
      api: this.api,
      close: () => this.close(),
      destroy: () => this.destroy(),
    };
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.offEvents?.();
    if (this.server) {
      await new Promise<void>((r) => {
        this.server!.close(() => r());
        this.server!.closeAllConnections();
      });
    }
    await Promise.allSettled([...this.locks.values()]);
    await this.driver.close();
    await this.mdServer?.close();
  }

  async destroy(): Promise<void> {
    for (const inst of this.instances.values()) {
      await this.lock(inst.req.instanceId, () => this.doTerminate(inst)).catch((e) => this.log.error({ err: e }, 'terminate failed'));
    }
    await this.close();
    await this.network?.destroy();
  }
}
