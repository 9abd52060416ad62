/**
 * @module cc/controller
 * The cluster controller of one zone. It keeps the node registry (persisted), polls every node for its instances and
 * resources (instances first, then resources, so a reported instance is always already counted), holds capacity
 * reservations between ReserveInstances and the node's first report, allocates private addresses from each node's
 * subnet, and relays instance operations to the node that holds the instance.
 *
 * State file (`<dataDir>/cc-<zone>.json`, written to a temporary file and renamed): nodes, address table, instance →
 * node map and open reservations. After a restart the CC also re-learns every instance from the nodes' reports.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync, renameSync, readFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { AwsError, type Logger } from '../shared/index.js';
import type { NcClient, NodeResources, InstanceReport, RpcImplementation, CcOps, NodeInfo, InstanceResult, TypeCapacity, ReportCursor } from '../rpc/index.js';
import { placeMany, freeSlots, maxSlots, type NodeView, type PolicyState, type Resources, type SchedulingPolicy } from './scheduler.js';
import { AddressPool, parseCidr, macForIp, type AddressTable } from './network.js';

export interface ClusterControllerOptions {
  zone: string;
  policy?: SchedulingPolicy;
  /** Where the CC keeps its state file; in memory only when absent (tests). */
  stateFile?: string;
  ncClient: (url: string) => NcClient;
  log: Logger;
  /** Default reservation lifetime (5 minutes). */
  reservationTtlMs?: number;
  now?: () => number;
}

interface NodeEntry {
  nodeId: string;
  url: string;
  order: number;
  enabled: boolean;
  resources?: NodeResources;
  lastSeen: number;
  message?: string;
  /** The node's instances as last reported, merged from incremental answers (a full list every FULL_POLL_EVERY). */
  reports: Map<string, InstanceReport>;
  /** Ids of `reports` in an active state (kept with them; the scheduler's view reads it on every call). */
  active: Set<string>;
  /** Where the next incremental poll starts, and how many incremental polls since the last full one. */
  cursor?: ReportCursor;
  sinceFull: number;
}

/** Every this many polls of a node, ask for its full list (drops instances it forgot, repairs any drift). */
const FULL_POLL_EVERY = 20;

interface Reservation {
  instanceId: string;
  nodeId: string;
  need: Resources;
  privateIp: string;
  mac: string;
  expiresAt: number;
  launched: boolean;
}

interface PersistedState {
  nodes: Array<{ nodeId: string; url: string; order: number; enabled: boolean }>;
  addresses: AddressTable;
  instanceNode: Record<string, string>;
  reservations: Reservation[];
  policyState: PolicyState;
}

/** Whether two reports of one instance say the same (the fields the CLC acts on or shows). */
function sameReport(a: InstanceReport, b: InstanceReport): boolean {
  return a.state === b.state && a.stateChangedAt === b.stateChangedAt && a.bootCount === b.bootCount && a.privateIp === b.privateIp
    && a.publicIp === b.publicIp && a.stateReason?.code === b.stateReason?.code && a.stateReason?.message === b.stateReason?.message
    && a.volumes.length === b.volumes.length && a.volumes.every((v, i) => v.volumeId === b.volumes[i]!.volumeId && v.state === b.volumes[i]!.state && v.device === b.volumes[i]!.device);
}

const ACTIVE_NC_STATES = new Set(['pending', 'running', 'stopping', 'stopped', 'shutting-down']);

export class ClusterController {
  readonly zone: string;
  policy: SchedulingPolicy;
  private readonly nodes = new Map<string, NodeEntry>();
  private readonly clients = new Map<string, NcClient>();
  private addresses = new AddressPool();
  private readonly instanceNode = new Map<string, string>();
  private readonly reservations = new Map<string, Reservation>();
  private policyState: PolicyState = {};
  private lastAllocated: string | undefined;
  /** The CC's stream of report changes: instance → the change number of its last changed report (see merge). */
  private readonly changed = new Map<string, number>();
  private changeSeq = 0;
  private readonly epoch = randomUUID();
  private readonly now: () => number;
  private readonly ttl: number;
  /** Serialises placement decisions: two concurrent ReserveInstances never see the same free capacity. */
  private lock: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ClusterControllerOptions) {
    this.zone = opts.zone;
    this.policy = opts.policy ?? 'ROUNDROBIN';
    this.now = opts.now ?? Date.now;
    this.ttl = opts.reservationTtlMs ?? 5 * 60_000;
    this.load();
  }

  // ------------------------------------------------------------------ persistence

  private load(): void {
    const f = this.opts.stateFile;
    if (!f || !existsSync(f)) return;
    const st = JSON.parse(readFileSync(f, 'utf8')) as PersistedState;
    for (const n of st.nodes) this.nodes.set(n.nodeId, { ...n, lastSeen: 0, reports: new Map(), active: new Set(), sinceFull: 0 });
    this.addresses = new AddressPool(st.addresses ?? {});
    for (const [i, n] of Object.entries(st.instanceNode ?? {})) this.instanceNode.set(i, n);
    for (const r of st.reservations ?? []) this.reservations.set(r.instanceId, r);
    this.policyState = st.policyState ?? {};
  }

  private saveTimer: NodeJS.Timeout | undefined;

  /**
   * Schedules a write of the state file (coalesced: at most one write per 250 ms — the whole state, so at 10,000
   * instances a write costs milliseconds). What a crash loses in between is re-learnt: instances from the nodes'
   * reports, reservations from the CLC's re-sent launches (run() re-reserves them).
   */
  private save(): void {
    if (!this.opts.stateFile || this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.flush();
    }, 250);
    this.saveTimer.unref();
  }

  /** Writes the state file now. */
  flush(): void {
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = undefined;
    }
    const f = this.opts.stateFile;
    if (!f) return;
    const st: PersistedState = {
      nodes: [...this.nodes.values()].map(({ nodeId, url, order, enabled }) => ({ nodeId, url, order, enabled })),
      addresses: this.addresses.toJSON(),
      instanceNode: Object.fromEntries(this.instanceNode),
      reservations: [...this.reservations.values()],
      policyState: this.policyState,
    };
    mkdirSync(dirname(f), { recursive: true });
    const tmp = `${f}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(st));
    renameSync(tmp, f);
  }

  private async exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private client(node: NodeEntry): NcClient {
    let c = this.clients.get(node.url);
    if (!c) {
      c = this.opts.ncClient(node.url);
      this.clients.set(node.url, c);
    }
    return c;
  }

  // ------------------------------------------------------------------ polling

  /** Polls every registered node once (in parallel). Nodes that fail become NOTREADY until they answer again. */
  async poll(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => this.pollNode(n)));
    await this.exclusive(() => {
      this.afterPoll();
      this.save();
    });
  }

  private async pollNode(node: NodeEntry): Promise<void> {
    try {
      const c = this.client(node);
      const incremental = node.cursor && node.sinceFull < FULL_POLL_EVERY;
      const answer = await c.describeInstances(incremental ? { since: node.cursor! } : {});
      const resources = await c.describeResource({});
      this.merge(node, answer.instances, answer.full !== false);
      node.cursor = answer.cursor;
      node.sinceFull = answer.full !== false ? 0 : node.sinceFull + 1;
      node.resources = resources;
      node.lastSeen = this.now();
      node.message = undefined;
    } catch (e) {
      node.message = (e as Error).message;
      this.opts.log.warn({ node: node.nodeId, err: node.message }, 'node poll failed');
    }
  }

  /**
   * Takes a node's answer into its report map (replacing it when `full`), numbering every report that changed in the
   * CC's own change stream (DescribeInstances `since` from the CLC).
   */
  private merge(node: NodeEntry, instances: InstanceReport[], full: boolean): void {
    const next = full ? new Map<string, InstanceReport>() : node.reports;
    for (const r of instances) {
      const old = node.reports.get(r.instanceId);
      if (!old || !sameReport(old, r)) this.changed.set(r.instanceId, ++this.changeSeq);
      next.set(r.instanceId, r);
      if (ACTIVE_NC_STATES.has(r.state)) node.active.add(r.instanceId);
      else node.active.delete(r.instanceId);
    }
    if (full) {
      for (const id of node.reports.keys()) {
        if (next.has(id)) continue;
        node.active.delete(id);
        this.changed.delete(id);
      }
      node.reports = next;
    }
  }

  /** Folds the latest reports into reservations, the instance map and the address table. */
  private afterPoll(): void {
    const now = this.now();
    const reportedActive = new Set<string>();
    for (const node of this.nodes.values()) {
      if (!this.healthy(node)) continue;
      for (const r of node.reports.values()) {
        if (ACTIVE_NC_STATES.has(r.state)) {
          reportedActive.add(r.instanceId);
          this.instanceNode.set(r.instanceId, node.nodeId);
          // Re-learn addresses after a CC restart (or a node that allocated its own).
          if (r.privateIp && !this.addresses.ownerOf(r.privateIp)) this.addresses.assign(r.privateIp, r.instanceId);
          this.reservations.delete(r.instanceId);
        }
      }
    }
    for (const node of this.nodes.values()) {
      if (!this.healthy(node)) continue;
      for (const r of node.reports.values()) {
        if (r.state === 'terminated' && !reportedActive.has(r.instanceId)) {
          // Ended on its node (terminated, or a launch that failed before it was ever seen running).
          const res = this.reservations.get(r.instanceId);
          if (res && res.nodeId !== node.nodeId) continue;
          this.reservations.delete(r.instanceId);
          this.forget(r.instanceId);
        }
      }
    }
    for (const res of [...this.reservations.values()]) {
      if (res.expiresAt <= now && !reportedActive.has(res.instanceId)) {
        this.opts.log.info({ instanceId: res.instanceId }, 'reservation expired');
        this.reservations.delete(res.instanceId);
        this.forget(res.instanceId);
      }
    }
  }

  private forget(instanceId: string): void {
    this.instanceNode.delete(instanceId);
    this.addresses.release(instanceId);
  }

  /** A node is schedulable while it answers, or failed its polls for less than 30 s (a slow poll is not an outage). */
  private healthy(n: NodeEntry): boolean {
    return n.enabled && !!n.resources && (n.message === undefined || this.now() - n.lastSeen < 30_000);
  }

  // ------------------------------------------------------------------ capacity

  private view(): NodeView[] {
    const out: NodeView[] = [];
    for (const n of this.nodes.values()) {
      const r = n.resources;
      const pending = [...this.reservations.values()].filter((x) => x.nodeId === n.nodeId && !n.active.has(x.instanceId));
      const sum = (f: (x: Reservation) => number) => pending.reduce((a, x) => a + f(x), 0);
      out.push({
        nodeId: n.nodeId,
        order: n.order,
        enabled: n.enabled,
        healthy: this.healthy(n),
        total: { cores: r?.cores ?? 0, memoryMiB: r?.memoryMiB ?? 0, diskGiB: r?.diskGiB ?? 0 },
        used: {
          cores: (r ? r.cores - r.coresAvailable : 0) + sum((x) => x.need.cores),
          memoryMiB: (r ? r.memoryMiB - r.memoryMiBAvailable : 0) + sum((x) => x.need.memoryMiB),
          diskGiB: (r ? r.diskGiB - r.diskGiBAvailable : 0) + sum((x) => x.need.diskGiB),
        },
        instances: (r?.instanceCount ?? 0) + pending.length,
      });
    }
    return out;
  }

  private info(n: NodeEntry): NodeInfo {
    const v = this.view().find((x) => x.nodeId === n.nodeId)!;
    return {
      nodeId: n.nodeId,
      url: n.url,
      zone: this.zone,
      state: !n.enabled ? 'DISABLED' : this.healthy(n) ? 'ENABLED' : 'NOTREADY',
      hypervisor: n.resources?.hypervisor ?? 'unknown',
      subnet: n.resources?.subnet ?? '',
      cores: v.total.cores,
      memoryMiB: v.total.memoryMiB,
      diskGiB: v.total.diskGiB,
      coresUsed: v.used.cores,
      memoryMiBUsed: v.used.memoryMiB,
      diskGiBUsed: v.used.diskGiB,
      instances: v.instances,
      lastSeen: n.lastSeen,
      ...(n.message ? { message: n.message } : {}),
    };
  }

  // ------------------------------------------------------------------ operations

  async registerNode(url: string, nodeId?: string): Promise<NodeInfo> {
    const existing = [...this.nodes.values()].find((n) => n.url === url.replace(/\/+$/, ''));
    if (existing) {
      existing.enabled = true;
      await this.pollNode(existing);
      await this.exclusive(() => this.flush());
      return this.info(existing);
    }
    const probe: NodeEntry = { nodeId: nodeId ?? '', url: url.replace(/\/+$/, ''), order: 0, enabled: true, lastSeen: 0, reports: new Map(), active: new Set(), sinceFull: 0 };
    let resources: NodeResources;
    try {
      resources = await this.client(probe).describeResource({});
    } catch (e) {
      throw new AwsError('InvalidParameterValue', `Cannot reach a node controller at ${url}: ${(e as Error).message}`);
    }
    const id = nodeId ?? resources.nodeId;
    if (this.nodes.has(id)) throw new AwsError('InvalidParameterValue', `A node named ${id} is already registered with another URL`);
    const order = Math.max(-1, ...[...this.nodes.values()].map((n) => n.order)) + 1;
    const node: NodeEntry = { ...probe, nodeId: id, order };
    this.nodes.set(id, node);
    await this.pollNode(node);
    // The registry is written at once (a node the CC forgot after a crash would strand its instances).
    await this.exclusive(() => {
      this.afterPoll();
      this.flush();
    });
    this.opts.log.info({ nodeId: id, url }, 'node registered');
    return this.info(node);
  }

  async deregisterNode(nodeId: string): Promise<NodeInfo> {
    const n = this.nodes.get(nodeId);
    if (!n) throw new AwsError('InvalidParameterValue', `No node ${nodeId} is registered in zone ${this.zone}`);
    const info = { ...this.info(n), state: 'DISABLED' as const };
    this.nodes.delete(nodeId);
    await this.exclusive(() => this.flush());
    return info;
  }

  describeNodes(): NodeInfo[] {
    return [...this.nodes.values()].sort((a, b) => a.order - b.order).map((n) => this.info(n));
  }

  describeResources(types: Array<{ name: string; cores: number; memoryMiB: number; diskGiB: number }>): TypeCapacity[] {
    const v = this.view();
    return types.map((t) => {
      const need = { cores: t.cores, memoryMiB: t.memoryMiB, diskGiB: t.diskGiB };
      return { ...t, free: freeSlots(v, need), max: maxSlots(v.filter((n) => n.enabled && n.healthy), need) };
    });
  }

  async reserve(instanceIds: string[], minCount: number, need: Resources, ttlMs?: number) {
    return this.exclusive(() => {
      const fresh = instanceIds.filter((i) => !this.reservations.has(i) && !this.instanceNode.has(i));
      const already = instanceIds.filter((i) => this.reservations.has(i)).map((i) => this.reservations.get(i)!);
      const placements = placeMany(this.policy, this.view(), need, fresh.length, this.policyState);
      if (placements.length + already.length < minCount) {
        throw new AwsError(
          'InsufficientInstanceCapacity',
          `There is not enough capacity in zone ${this.zone} to fulfil your request: ${placements.length + already.length} of the ${minCount} instances requested at minimum fit.`,
          { status: 500, fault: 'Receiver' },
        );
      }
      const made: Reservation[] = [];
      for (const [i, p] of placements.entries()) {
        const instanceId = fresh[i]!;
        const node = this.nodes.get(p.nodeId)!;
        const ip = this.addresses.allocate(parseCidr(node.resources!.subnet), instanceId, this.lastAllocated);
        if (!ip) break; // the node's subnet is full: fewer instances
        this.lastAllocated = ip;
        const r: Reservation = { instanceId, nodeId: p.nodeId, need, privateIp: ip, mac: macForIp(ip), expiresAt: this.now() + (ttlMs ?? this.ttl), launched: false };
        this.reservations.set(instanceId, r);
        this.instanceNode.set(instanceId, p.nodeId);
        made.push(r);
      }
      if (made.length + already.length < minCount) {
        for (const r of made) {
          this.reservations.delete(r.instanceId);
          this.forget(r.instanceId);
        }
        throw new AwsError('InsufficientInstanceCapacity', `There are not enough free private addresses in zone ${this.zone}.`, { status: 500, fault: 'Receiver' });
      }
      this.save();
      return [...already, ...made].map(({ instanceId, nodeId, privateIp, mac }) => ({ instanceId, nodeId, privateIp, mac }));
    });
  }

  async release(instanceIds: string[]): Promise<string[]> {
    return this.exclusive(() => {
      const out: string[] = [];
      for (const i of instanceIds) {
        if (this.reservations.delete(i) || this.instanceNode.has(i)) out.push(i);
        this.forget(i);
      }
      this.save();
      return out;
    });
  }

  private nodeOf(instanceId: string): NodeEntry | undefined {
    const id = this.instanceNode.get(instanceId);
    return id ? this.nodes.get(id) : undefined;
  }

  async run(instances: Array<{ nodeId: string; request: Parameters<NcClient['runInstance']>[0] }>): Promise<InstanceResult[]> {
    // Re-reserve instances whose reservation expired or was lost (a CLC retry after a crash).
    for (const { nodeId, request } of instances) {
      if (this.reservations.has(request.instanceId) || this.instanceNode.get(request.instanceId) === nodeId) continue;
      const node = this.nodes.get(nodeId);
      const ip = request.net?.privateIp;
      if (!node || !ip) continue;
      await this.exclusive(() => {
        const owner = this.addresses.ownerOf(ip);
        if (owner && owner !== request.instanceId) return;
        this.addresses.assign(ip, request.instanceId);
        this.instanceNode.set(request.instanceId, nodeId);
        const t = request.instanceType;
        this.reservations.set(request.instanceId, {
          instanceId: request.instanceId, nodeId, need: { cores: t.cores, memoryMiB: t.memoryMiB, diskGiB: t.diskGiB },
          privateIp: ip, mac: request.net?.mac ?? macForIp(ip), expiresAt: this.now() + this.ttl, launched: false,
        });
      });
    }
    // One message per node with every instance it gets (in order); results keep the order of `instances`.
    const results = new Map<string, InstanceResult>();
    const perNode = new Map<string, { node: NodeEntry; requests: Array<Parameters<NcClient['runInstance']>[0]> }>();
    for (const { nodeId, request } of instances) {
      const res = this.reservations.get(request.instanceId);
      const node = this.nodes.get(nodeId);
      if (!node || this.instanceNode.get(request.instanceId) !== nodeId) {
        results.set(request.instanceId, { instanceId: request.instanceId, ok: false, error: { code: 'InsufficientInstanceCapacity', message: `Instance ${request.instanceId} holds no reservation on node ${nodeId}` } });
        continue;
      }
      const net = { ...(request.net ?? {}), ...(res ? { privateIp: res.privateIp, mac: res.mac } : {}) };
      const batch = perNode.get(nodeId) ?? { node, requests: [] };
      batch.requests.push({ ...request, net });
      perNode.set(nodeId, batch);
    }
    await Promise.all([...perNode].map(async ([nodeId, { node, requests }]) => {
      let answers: InstanceResult[];
      try {
        ({ results: answers } = await this.client(node).runInstances({ instances: requests }));
      } catch (e) {
        const err = e instanceof AwsError ? e : new AwsError('InternalError', (e as Error).message);
        answers = requests.map((r) => ({ instanceId: r.instanceId, ok: false, error: { code: err.code, message: err.message } }));
      }
      for (const a of answers) {
        if (a.ok) {
          const res = this.reservations.get(a.instanceId);
          if (res) res.launched = true;
          results.set(a.instanceId, a);
          continue;
        }
        // A node that did not answer may still have got it; keep the reservation until it expires or reports.
        if (a.error?.code !== 'ServiceUnavailable') await this.release([a.instanceId]);
        results.set(a.instanceId, { ...a, error: { code: a.error?.code ?? 'InternalError', message: `node ${nodeId}: ${a.error?.message ?? 'no answer'}` } });
      }
    }));
    await this.exclusive(() => this.save());
    return instances.map(({ nodeId, request }) => results.get(request.instanceId)
      ?? { instanceId: request.instanceId, ok: false, error: { code: 'InternalError', message: `node ${nodeId} gave no result for ${request.instanceId}` } });
  }

  private async relay(
    instanceIds: string[],
    fn: (c: NcClient, id: string) => Promise<{ instance: InstanceReport }>,
    onUnknown?: (id: string) => Promise<InstanceResult | undefined>,
  ): Promise<InstanceResult[]> {
    return Promise.all(
      instanceIds.map(async (id): Promise<InstanceResult> => {
        const node = this.nodeOf(id);
        if (!node) {
          const alt = onUnknown ? await onUnknown(id) : undefined;
          return alt ?? { instanceId: id, ok: false, error: { code: 'InvalidInstanceID.NotFound', message: `The instance ID '${id}' is not known in zone ${this.zone}` } };
        }
        try {
          const { instance } = await fn(this.client(node), id);
          return { instanceId: id, ok: true, instance };
        } catch (e) {
          const err = e instanceof AwsError ? e : new AwsError('InternalError', (e as Error).message);
          return { instanceId: id, ok: false, error: { code: err.code, message: err.message } };
        }
      }),
    );
  }

  async terminate(instanceIds: string[]): Promise<InstanceResult[]> {
    const out = await this.relay(instanceIds, (c, id) => c.terminateInstance({ instanceId: id }), async (id) => {
      // Never reached a node: nothing to tear down.
      await this.release([id]);
      return { instanceId: id, ok: true };
    });
    // A reservation that was never launched is released at once.
    for (const r of out) {
      const res = this.reservations.get(r.instanceId);
      if (res && !res.launched) await this.release([r.instanceId]);
    }
    return out;
  }

  reboot(ids: string[]) {
    return this.relay(ids, (c, id) => c.rebootInstance({ instanceId: id }));
  }

  stop(ids: string[], force?: boolean) {
    return this.relay(ids, (c, id) => c.stopInstance({ instanceId: id, ...(force ? { force } : {}) }));
  }

  start(ids: string[]) {
    return this.relay(ids, (c, id) => c.startInstance({ instanceId: id }));
  }

  private lastPoll = 0;
  private polling: Promise<void> | undefined;

  /** Polls unless a poll finished less than `maxAgeMs` ago (concurrent callers share one poll). */
  async freshPoll(maxAgeMs = 1000): Promise<void> {
    if (this.now() - this.lastPoll < maxAgeMs) return;
    if (!this.polling) {
      this.polling = this.poll().finally(() => {
        this.lastPoll = this.now();
        this.polling = undefined;
      });
    }
    await this.polling;
  }

  /**
   * The instances of the zone's healthy nodes (and which nodes did not answer): those named, or all, or — with
   * `since`, the cursor of an earlier answer from this CC process — only those whose report changed after it.
   */
  async describeInstances(instanceIds?: string[], since?: ReportCursor) {
    await this.freshPoll();
    const want = instanceIds ? new Set(instanceIds) : undefined;
    const after = !want && since?.epoch === this.epoch ? since.seq : undefined;
    const cursor = { epoch: this.epoch, seq: this.changeSeq };
    const instances: Array<{ nodeId: string; report: InstanceReport }> = [];
    const unreachable: string[] = [];
    for (const n of this.nodes.values()) {
      if (!this.healthy(n)) {
        unreachable.push(n.nodeId);
        continue;
      }
      if (want) {
        for (const id of want) {
          const r = n.reports.get(id);
          if (r) instances.push({ nodeId: n.nodeId, report: r });
        }
      } else {
        for (const r of n.reports.values()) if (after === undefined || (this.changed.get(r.instanceId) ?? 0) > after) instances.push({ nodeId: n.nodeId, report: r });
      }
    }
    return { instances, unreachable, cursor, ...(want ? {} : { full: after === undefined }) };
  }

  async consoleOutput(instanceId: string) {
    const node = this.nodeOf(instanceId);
    if (!node) throw new AwsError('InvalidInstanceID.NotFound', `The instance ID '${instanceId}' is not known in zone ${this.zone}`);
    return this.client(node).getConsoleOutput({ instanceId });
  }

  /** The RPC implementation served at /cc/v1. */
  rpc(): RpcImplementation<CcOps> {
    return {
      RegisterNode: async (r) => ({ node: await this.registerNode(r.url, r.nodeId) }),
      DeregisterNode: async (r) => ({ node: await this.deregisterNode(r.nodeId) }),
      DescribeNodes: async () => ({ zone: this.zone, policy: this.policy, nodes: this.describeNodes() }),
      DescribeResources: async (r) => ({ zone: this.zone, types: this.describeResources(r.types) }),
      ReserveInstances: async (r) => ({
        placements: await this.reserve(r.instanceIds, r.minCount, { cores: r.instanceType.cores, memoryMiB: r.instanceType.memoryMiB, diskGiB: r.instanceType.diskGiB }, r.ttlMs),
      }),
      RunInstances: async (r) => ({ results: await this.run(r.instances) }),
      ReleaseInstances: async (r) => ({ released: await this.release(r.instanceIds) }),
      TerminateInstances: async (r) => ({ results: await this.terminate(r.instanceIds) }),
      RebootInstances: async (r) => ({ results: await this.reboot(r.instanceIds) }),
      StopInstances: async (r) => ({ results: await this.stop(r.instanceIds, r.force) }),
      StartInstances: async (r) => ({ results: await this.start(r.instanceIds) }),
      DescribeInstances: async (r) => this.describeInstances(r.instanceIds, r.since),
      GetConsoleOutput: async (r) => this.consoleOutput(r.instanceId),
    };
  }
}
