/**
 * @module main/node
 * The cloud-in-a-box's own node: the default guest image (built from Debian packages once, then cached), a node
 * controller running QEMU in its own network namespace on this host, registered with the zone's CC, and the default
 * image registered as public `emi-`/`eki-`/`eri-` images of the eucalyptus account.
 */
import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudConfig, Logger } from '../shared/index.js';
import { buildGuestImage, createHypervisorDriver, startNodeController, type BuildProgress, type GuestImage, type NodeController } from '../nc/index.js';
import { internalSecret, registerDefaultImage, type ComputeStack } from './compute.js';

/** Why this host cannot run a node controller, or false when it can. */
export function nodeUnavailableReason(): string | false {
  if (process.getuid?.() !== 0) return 'running instances needs root (network namespaces, taps, bridges)';
  for (const bin of ['qemu-system-x86_64', 'qemu-img', 'ip', 'dnsmasq', 'nft']) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      return `${bin} is not installed (run scripts/install-deps.sh)`;
    }
  }
  return false;
}

export function defaultImageDir(cfg: CloudConfig): string {
  return join(cfg.dataDir, 'images', 'default');
}

/** Builds (or reuses) the default guest image under the data directory. */
export function ensureDefaultImage(cfg: CloudConfig, onProgress?: (p: BuildProgress) => void, force = false): Promise<GuestImage> {
  return buildGuestImage({ outDir: defaultImageDir(cfg), force, ...(onProgress ? { onProgress } : {}) });
}

export interface LocalNode {
  nc: NodeController;
  imageId: string;
  close(): Promise<void>;
}

/**
 * Starts this host's node controller (port `cfg.ports.nc`, namespace `cfg.node.netns`, default euca-node, with an outside-client namespace
 * for SSH), registers it with the first zone's CC, and registers the default image. VMs survive a restart of the NC
 * (they are re-adopted).
 */
export async function startLocalNode(cfg: CloudConfig, compute: ComputeStack, systemAccountId: string, log: Logger, image: GuestImage): Promise<LocalNode> {
  const zone = cfg.zones[0]!;
  // The registered image files must not change under the cloud when the image is rebuilt: keep a copy per build key.
  const dir = join(cfg.dataDir, 'images', `registered-${image.key.slice(0, 12)}`);
  cpSync(image.dir, dir, { recursive: true, force: false, errorOnExist: false, filter: (src) => !src.includes('/debs') });
  const rel = (f: string) => join(dir, f.slice(image.dir.length + 1));
  const files = { ...image, kernel: rel(image.kernel), ramdisk: rel(image.ramdisk), rootfs: rel(image.rootfs), ...(image.disk ? { disk: rel(image.disk) } : {}) };
  const driver = await createHypervisorDriver({ kind: 'qemu', dataDir: cfg.dataDir, probeKernel: files.kernel });
  const nc = await startNodeController({
    dataDir: cfg.dataDir, port: cfg.ports.nc, host: cfg.host, secret: internalSecret(cfg.dataDir), driver, zone, region: cfg.region,
    network: { netns: cfg.node.netns, subnet: cfg.node.subnet, outsideNetns: cfg.node.outsideNetns }, logger: log.child({ component: 'nc' }),
  });
  try {
    const cc = compute.clusters.get(zone);
    if (!cc) throw new Error(`no cluster controller for zone ${zone}`);
    await cc.controller.registerNode(nc.url);
    const { imageId } = await registerDefaultImage(compute.service, systemAccountId, files);
    log.info({ node: nc.url, imageId }, 'node controller registered; default image ready');
    return { nc, imageId, close: () => nc.close() };
  } catch (e) {
    await nc.close();
    throw e;
  }
}
