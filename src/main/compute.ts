/**
 * @module main/compute
 * Composition of the compute side of the cloud-in-a-box: one cluster controller per zone (its own HTTP server, port
 * `ports.cc` + zone index, state in `<dataDir>/cc/<zone>.json`), the CLC's compute domain talking to them over
 * rpc/cc, its reconciliation loop, and the EC2 handlers. Internal calls are signed with the secret in
 * `<dataDir>/keys/internal.secret` (created on first use).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync, createWriteStream, renameSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { CloudConfig, Logger } from '../shared/index.js';
import { ccClient, ncClient, type CcClient } from '../rpc/index.js';
import { ClusterController, startCcServer, SCHEDULING_POLICIES, type RunningCc, type SchedulingPolicy } from '../cc/index.js';
import { ComputeService, type ObjectAccess, type Settings } from '../clc/compute/index.js';
import { computeHandlers } from '../api/ec2/index.js';
import type { HandlerTable } from '../api/gateway/index.js';
import { ALL_USERS, AUTHENTICATED_USERS, type Walrus, type ObjectVersion } from '../walrus/index.js';

/**
 * Image access over Walrus for the cloud-in-a-box. An account may register an object it owns, or one granted READ
 * to it or to everyone. Nodes read a single-blob object straight from its blob file; a multipart object is joined
 * once into `<cacheDir>/<bucket>-<versionId>` (nodes on this host read that file).
 */
export function walrusObjectAccess(walrus: Walrus, cacheDir: string): ObjectAccess {
  const readable = (v: ObjectVersion, accountId: string) =>
    v.owner.accountId === accountId ||
    v.acl.some((g) => (g.permission === 'READ' || g.permission === 'FULL_CONTROL') && (
      (g.grantee.type === 'CanonicalUser' && g.grantee.id === accountId) ||
      (g.grantee.type === 'Group' && (g.grantee.uri === ALL_USERS || g.grantee.uri === AUTHENTICATED_USERS))));
  const latest = async (bucket: string, key: string) => {
    const v = await walrus.findVersion(bucket, key).catch(() => undefined);
    return v && !v.deleteMarker ? v : undefined;
  };
  return {
    async head(accountId, bucket, key) {
      const v = await latest(bucket, key);
      return v && readable(v, accountId) ? { size: v.size, etag: v.etag } : null;
    },
    async read(accountId, bucket, key, start, end) {
      const v = await latest(bucket, key);
      if (!v || !readable(v, accountId)) throw new Error(`cannot read ${bucket}/${key}`);
      const chunks: Buffer[] = [];
      let offset = 0;
      for (const b of v.blobs) {
        if (offset >= end) break;
        if (offset + b.size > start) {
          const h = await walrus.openBlob(b);
          const s = Math.max(0, start - offset);
          const e = Math.min(b.size, end - offset) - 1;
          if (e >= s) for await (const c of h.stream(s, e)) chunks.push(Buffer.from(c as Uint8Array));
          else await h.close();
        }
        offset += b.size;
      }
      return Buffer.concat(chunks);
    },
    async locate(bucket, key) {
      const v = await latest(bucket, key);
      if (!v) throw new Error(`image object ${bucket}/${key} no longer exists`);
      if (v.blobs.length === 1 && walrus.blobs.pathOf) {
        try {
          return { path: walrus.blobs.pathOf(v.blobs[0]!.id) };
        } catch {
          // a small object packed with others has no file of its own: copy it out below
        }
      }
      mkdirSync(cacheDir, { recursive: true });
      const file = join(cacheDir, `${bucket}-${v.versionId}`.replace(/[^A-Za-z0-9._-]/g, '_'));
      if (!existsSync(file)) {
        const tmp = `${file}.${process.pid}.tmp`;
        const out = createWriteStream(tmp);
        for (const b of v.blobs) {
          const h = await walrus.openBlob(b);
          await pipeline(h.stream(), out, { end: false });
        }
        await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
        renameSync(tmp, file);
      }
      return { path: file };
    },
  };
}

/** The shared secret internal RPCs are signed with (rpc/http). */
export function internalSecret(dataDir: string): string {
  const dir = join(dataDir, 'keys');
  const file = join(dir, 'internal.secret');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  }
  return readFileSync(file, 'utf8').trim();
}

export interface ComputeStack {
  service: ComputeService;
  clusters: Map<string, { controller: ClusterController; server: RunningCc; client: CcClient }>;
  handlers: HandlerTable;
  stop(): Promise<void>;
}

export interface ComputeOptions {
  ephemeralPorts?: boolean;
  objects?: ObjectAccess;
  systemAccountId?: string;
  /** Scheduling policy of every CC (default $EUCA_CC_POLICY or ROUNDROBIN). */
  policy?: SchedulingPolicy;
  /** Reconciliation / node polling interval (default 3000 ms). */
  intervalMs?: number;
}

export async function startCompute(cfg: CloudConfig, db: Kysely<any>, settings: Settings, log: Logger, opts: ComputeOptions = {}): Promise<ComputeStack> {
  const secret = internalSecret(cfg.dataDir);
  const envPolicy = process.env.EUCA_CC_POLICY as SchedulingPolicy | undefined;
  const policy = opts.policy ?? (envPolicy && SCHEDULING_POLICIES.includes(envPolicy) ? envPolicy : 'ROUNDROBIN');
  const interval = opts.intervalMs ?? 3000;
  const clusters = new Map<string, { controller: ClusterController; server: RunningCc; client: CcClient }>();
  try {
    for (const [i, zone] of cfg.zones.entries()) {
      const controller = new ClusterController({
        zone, policy, stateFile: join(cfg.dataDir, 'cc', `${zone}.json`), log: log.child({ component: 'cc', zone }),
        ncClient: (url) => ncClient(url, { secret }),
      });
      const server = await startCcServer(controller, { host: cfg.host, port: opts.ephemeralPorts ? 0 : cfg.ports.cc + i, secret, pollIntervalMs: interval }, log);
      clusters.set(zone, { controller, server, client: ccClient(server.url, { secret }) });
    }
  } catch (e) {
    for (const c of clusters.values()) await c.server.close();
    throw e;
  }
  const service = new ComputeService({
    db, settings, region: cfg.region, log: log.child({ component: 'compute' }),
    zones: new Map([...clusters].map(([z, c]) => [z, c.client])),
    ...(opts.objects ? { objects: opts.objects } : {}),
    ...(opts.systemAccountId ? { systemAccountId: opts.systemAccountId } : {}),
  });
  service.start(interval);
  return {
    service,
    clusters,
    handlers: computeHandlers(service),
    async stop() {
      await service.stop();
      for (const c of clusters.values()) {
        await c.server.close();
        c.controller.flush();
      }
    },
  };
}

/** The CC endpoint of a zone as `euca nodes` reaches it. */
export function ccEndpoint(cfg: CloudConfig, zone: string): string {
  const i = cfg.zones.indexOf(zone);
  if (i < 0) throw new Error(`Unknown zone ${zone}; zones: ${cfg.zones.join(', ')}`);
  return `http://${cfg.host}:${cfg.ports.cc + i}`;
}

/** Files of a built guest image (see nc/image `GuestImage`). */
export interface BuiltImageFiles {
  kernel: string;
  ramdisk: string;
  rootfs: string;
  disk?: string;
  sha256?: Record<string, string>;
  /** Identifies the build; images are registered once per build. */
  key: string;
}

/**
 * Registers the cloud's default image (public, owned by the cloud admin) from files on this host, once per build:
 * a kernel (eki), a ramdisk (eri), the root filesystem booted with them (emi, paravirtual) and, when built, the
 * bootable whole disk (emi, hvm). Returns the image ids; an earlier registration of the same build is reused.
 */
export async function registerDefaultImage(service: ComputeService, systemAccountId: string, files: BuiltImageFiles): Promise<{ imageId: string; kernelId: string; ramdiskId: string; diskImageId?: string }> {
  const { statSync } = await import('node:fs');
  const { basename } = await import('node:path');
  const tag = files.key.slice(0, 12);
  const existing = await service.images.describe(systemAccountId, { owners: ['self'] });
  const find = (name: string) => existing.find((i) => i.name === name);
  const role: Record<string, string> = { [files.kernel]: 'kernel', [files.ramdisk]: 'ramdisk', [files.rootfs]: 'rootfs', ...(files.disk ? { [files.disk]: 'disk' } : {}) };
  const sha = (f: string) => files.sha256?.[role[f] ?? ''] ?? files.sha256?.[basename(f)] ?? files.sha256?.[f];
  const reg = async (name: string, kind: 'machine' | 'kernel' | 'ramdisk', path: string, extra: { kernelId?: string; ramdiskId?: string; format?: 'raw' | 'qcow2' } = {}) => {
    const found = find(name);
    if (found) return found.imageId;
    const s = sha(path);
    const img = await service.images.registerLocal(systemAccountId, {
      name, description: 'Eucalyptus-TS default image (Debian kernel, busybox, dropbear)', kind, path, size: statSync(path).size, isPublic: true,
      ...(s ? { sha256: s } : {}), ...extra,
    });
    return img.imageId;
  };
  const kernelId = await reg(`euca-default-kernel-${tag}`, 'kernel', files.kernel);
  const ramdiskId = await reg(`euca-default-ramdisk-${tag}`, 'ramdisk', files.ramdisk);
  const imageId = await reg(`euca-default-${tag}`, 'machine', files.rootfs, { kernelId, ramdiskId, format: 'raw' });
  const diskImageId = files.disk ? await reg(`euca-default-disk-${tag}`, 'machine', files.disk, { format: 'raw' }) : undefined;
  return { imageId, kernelId, ramdiskId, ...(diskImageId ? { diskImageId } : {}) };
}
