/**
 * @module rpc/nc
 * The messages the cluster controller (or the CLC in the cloud-in-a-box) sends to a node controller, port 8775.
 * Transport: `POST http://<node>:8775/nc/v1/<Operation>`, JSON (see rpc/http). Use `ncClient(url)` to call a node.
 *
 * Semantics (the NC side of Eucalyptus's ncRunInstance & co.):
 * - `RunInstance` is asynchronous: it validates, records the instance, answers `pending` at once and boots in the
 *   background. Calling it again with the same `instanceId` returns the existing instance (idempotent retry).
 *   A boot that fails ends in state `terminated` with a `stateReason` (e.g. the image could not be fetched),
 *   with everything created for it cleaned up.
 * - NC states are AWS's instance states: `pending` (being prepared/booted), `running` (QEMU runs the guest),
 *   `stopping`, `stopped` (QEMU exited, disk kept), `shutting-down`, `terminated` (everything removed; the NC
 *   remembers terminated instances for a while so that callers can observe the end).
 * - `TerminateInstance` is idempotent: an unknown instance answers `terminated`.
 * - Errors are AWS error codes: `InvalidInstanceID.NotFound`, `IncorrectInstanceState`, `InsufficientInstanceCapacity`,
 *   `InvalidParameterValue`, `InternalError`.
 * - Backward compatibility: fields are only ever added, and added fields are optional.
 */
import { createRpcClient, op, type RpcClient, type RpcClientOptions } from './http.js';
import { s, type Infer } from './schema.js';

/** Path prefix of the NC's RPC endpoint. */
export const NC_RPC_PREFIX = '/nc/v1';

const instanceId = s.string({ pattern: /^i-[0-9a-f]{8,17}$/ });
const mac = s.string({ pattern: /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/ });
const ipv4 = s.string({ pattern: /^(\d{1,3}\.){3}\d{1,3}$/ });

export const InstanceState = s.literal('pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated');
export type InstanceState = Infer<typeof InstanceState>;

/**
 * Where the NC gets an image artifact. The NC caches artifacts by `id` (+ `sha256` when given) and fetches each
 * at most once: from `url` (HTTP GET, e.g. a presigned Walrus URL) or from `path` (a file on the node, e.g. the
 * default image built by `euca image build` in the cloud-in-a-box).
 */
export const ImageArtifact = s.object({
  /** emi-/eki-/eri- id of the artifact (the cache key). */
  id: s.string({ pattern: /^e[mkr]i-[0-9a-f]{8,17}$/ }),
  url: s.optional(s.string({ pattern: /^https?:\/\// })),
  path: s.optional(s.string({ pattern: /^\// })),
  /** Hex SHA-256 of the content; checked after download when given. */
  sha256: s.optional(s.string({ pattern: /^[0-9a-f]{64}$/ })),
  /** Disk format of a root image (kernels and ramdisks are always raw files). Default: probed with qemu-img. */
  format: s.optional(s.literal('raw', 'qcow2')),
});
export type ImageArtifact = Infer<typeof ImageArtifact>;

/**
 * What to boot. `root` is a disk image (raw or qcow2) the instance gets a copy-on-write overlay of (`/dev/vda`).
 * With `kernel` (+ optional `ramdisk`) QEMU boots the kernel directly (Eucalyptus EKI/ERI) with `root=/dev/vda`
 * when there is a root disk; without a kernel the disk must be bootable (whole-disk image with a boot loader).
 * A kernel+ramdisk without root runs entirely from the ramdisk.
 */
export const BootSpec = s.object({
  imageId: s.string({ pattern: /^emi-[0-9a-f]{8,17}$/ }),
  root: s.optional(ImageArtifact),
  kernel: s.optional(ImageArtifact),
  ramdisk: s.optional(ImageArtifact),
  /** Extra kernel command line (direct kernel boot only). */
  kernelArgs: s.optional(s.string({ max: 1024 })),
});
export type BootSpec = Infer<typeof BootSpec>;

/** The instance type as resolved by the CLC (Eucalyptus names: m1.small = 1 core, 256 MiB, 5 GiB ...). */
export const InstanceTypeSpec = s.object({
  name: s.string({ min: 1, max: 64 }),
  cores: s.int({ min: 1, max: 64 }),
  memoryMiB: s.int({ min: 32, max: 1024 * 1024 }),
  /** Root disk size in GiB; the overlay grows to this size if the base image is smaller. */
  diskGiB: s.int({ min: 0, max: 16384 }),
});
export type InstanceTypeSpec = Infer<typeof InstanceTypeSpec>;

/** The instance's network identity. Fields left out are allocated by the NC from its subnet and returned. */
export const NetSpec = s.object({
  mac: s.optional(mac),
  privateIp: s.optional(ipv4),
  publicIp: s.optional(ipv4),
  privateDnsName: s.optional(s.string({ max: 255 })),
  publicDnsName: s.optional(s.string({ max: 255 })),
});
export type NetSpec = Infer<typeof NetSpec>;

/**
 * Instance metadata served at 169.254.169.254 (the EC2 meta-data tree). Network values (local-ipv4, mac ...)
 * come from the instance's network, not from here.
 */
export const InstanceMetadata = s.object({
  amiLaunchIndex: s.optional(s.int({ min: 0 })),
  availabilityZone: s.string({ min: 1, max: 255 }),
  region: s.optional(s.string({ max: 64 })),
  accountId: s.optional(s.string({ pattern: /^\d{12}$/ })),
  keyName: s.optional(s.string({ max: 255 })),
  /** OpenSSH public key line served at public-keys/0/openssh-key. */
  publicKey: s.optional(s.string({ max: 16384 })),
  /** User data, base64 (as in the EC2 API). */
  userData: s.optional(s.string({ max: 64 * 1024, pattern: /^[A-Za-z0-9+/=\s]*$/ })),
  securityGroups: s.optional(s.array(s.string({ max: 255 }), { max: 64 })),
  hostname: s.optional(s.string({ max: 255 })),
  kernelId: s.optional(s.string({ max: 64 })),
  ramdiskId: s.optional(s.string({ max: 64 })),
  /** block-device-mapping/: name → device, e.g. { ami: "/dev/sda1", root: "/dev/sda1", ephemeral0: "sdb" }. */
  blockDeviceMapping: s.optional(s.record(s.string({ max: 255 }))),
  /** Launch time, epoch ms (default: when the NC got the request). */
  launchTime: s.optional(s.int({ min: 0 })),
});
export type InstanceMetadata = Infer<typeof InstanceMetadata>;

export const RunInstanceRequest = s.object({
  instanceId,
  reservationId: s.string({ pattern: /^r-[0-9a-f]{8,17}$/ }),
  /** Owner account id. */
  ownerId: s.string({ min: 1, max: 64 }),
  instanceType: InstanceTypeSpec,
  boot: BootSpec,
  net: s.optional(NetSpec),
  metadata: InstanceMetadata,
});
export type RunInstanceRequest = Infer<typeof RunInstanceRequest>;

export const VolumeAttachmentReport = s.object({
  volumeId: s.string(),
  device: s.string(),
  state: s.literal('attaching', 'attached', 'detaching', 'detached'),
});
export type VolumeAttachmentReport = Infer<typeof VolumeAttachmentReport>;

/** What the NC reports about one instance. */
export const InstanceReport = s.object({
  instanceId: s.string(),
  reservationId: s.string(),
  ownerId: s.string(),
  imageId: s.string(),
  instanceType: s.string(),
  state: InstanceState,
  /** Why the instance is in this state, when it got there by a failure or a guest action (AWS StateReason). */
  stateReason: s.optional(s.object({ code: s.string(), message: s.string() })),
  mac: s.string(),
  privateIp: s.string(),
  publicIp: s.optional(s.string()),
  /** Epoch ms. */
  launchTime: s.int(),
  /** Epoch ms of the last state change. */
  stateChangedAt: s.int(),
  /** How many times the guest was (re)booted by this NC (start, reboot). */
  bootCount: s.int(),
  volumes: s.array(VolumeAttachmentReport),
});
export type InstanceReport = Infer<typeof InstanceReport>;

/** A position in a node's (or a CC's) stream of instance changes: the process's epoch and its change counter. */
export const ReportCursor = s.object({ epoch: s.string({ min: 1, max: 64 }), seq: s.int({ min: 0 }) });
export type ReportCursor = Infer<typeof ReportCursor>;

/** The outcome for one instance of a message about many. */
export const InstanceResult = s.object({
  instanceId: s.string(),
  ok: s.boolean(),
  instance: s.optional(InstanceReport),
  error: s.optional(s.object({ code: s.string(), message: s.string() })),
});
export type InstanceResult = Infer<typeof InstanceResult>;

const ById = s.object({ instanceId });
const InstanceResponse = s.object({ instance: InstanceReport });

export const NodeResources = s.object({
  nodeId: s.string(),
  /** 'qemu-kvm', 'qemu-tcg' or 'fake'. */
  hypervisor: s.string(),
  cores: s.int(),
  memoryMiB: s.int(),
  diskGiB: s.int(),
  coresAvailable: s.int(),
  memoryMiBAvailable: s.int(),
  diskGiBAvailable: s.int(),
  instanceCount: s.int(),
  /** The instance subnet of this node (CIDR) and its gateway; NC-allocated addresses come from here. */
  subnet: s.string(),
  gateway: s.string(),
  /** What the driver supports (hot-plug, stop/start ...). */
  capabilities: s.record(s.boolean()),
});
export type NodeResources = Infer<typeof NodeResources>;

/** Where a volume comes from when it is attached: an NBD export (SC) or a file on the node. */
export const VolumeTarget = s.union('kind', {
  nbd: s.object({ kind: s.literal('nbd'), host: ipv4, port: s.int({ min: 1, max: 65535 }), exportName: s.string({ min: 1, max: 255 }) }),
  file: s.object({ kind: s.literal('file'), path: s.string({ pattern: /^\// }), format: s.literal('raw', 'qcow2') }),
});
export type VolumeTarget = Infer<typeof VolumeTarget>;

/** All NC operations, by name. */
export const NcOps = {
  RunInstance: op('RunInstance', RunInstanceRequest, InstanceResponse),
  /** RunInstance for several instances in one message (in order; one result each, as RunInstance would answer). */
  RunInstances: op('RunInstances', s.object({ instances: s.array(RunInstanceRequest, { max: 1000 }) }), s.object({ results: s.array(InstanceResult) })),
  TerminateInstance: op('TerminateInstance', ById, InstanceResponse),
  /** Hard reset (QMP system_reset) unless `soft` asks for an ACPI reboot attempt first. */
  RebootInstance: op('RebootInstance', s.object({ instanceId, soft: s.optional(s.boolean()) }), InstanceResponse),
  /** ACPI power-down, then (after `timeoutMs`, default 30 s, or at once when `force`) a hard stop. Keeps the disk. */
  StopInstance: op(
    'StopInstance',
    s.object({ instanceId, force: s.optional(s.boolean()), timeoutMs: s.optional(s.int({ min: 0, max: 600_000 })) }),
    InstanceResponse,
  ),
  StartInstance: op('StartInstance', ById, InstanceResponse),
  /**
   * All instances the NC knows (including recently terminated ones), or just those named. With `since` (the `cursor`
   * of an earlier answer), only the instances that changed after it — unless the NC restarted since (another
   * epoch), when the answer is the full list and says so (`full`). Instances forgotten after their retention are not
   * reported as changes: a caller that keeps a merged view asks for the full list now and then.
   */
  DescribeInstances: op(
    'DescribeInstances',
    s.object({ instanceIds: s.optional(s.array(instanceId, { max: 10_000 })), since: s.optional(ReportCursor) }),
    s.object({ instances: s.array(InstanceReport), cursor: s.optional(ReportCursor), full: s.optional(s.boolean()) }),
  ),
  DescribeResource: op('DescribeResource', s.object({}), NodeResources),
  /** The last 64 KiB of the serial console, base64. */
  GetConsoleOutput: op(
    'GetConsoleOutput',
    ById,
    s.object({ instanceId: s.string(), output: s.string(), timestamp: s.int() }),
  ),
  AttachVolume: op(
    'AttachVolume',
    s.object({ instanceId, volumeId: s.string({ pattern: /^vol-[0-9a-f]{8,17}$/ }), device: s.string({ max: 64 }), target: VolumeTarget }),
    s.object({ attachment: VolumeAttachmentReport }),
  ),
  DetachVolume: op(
    'DetachVolume',
    s.object({ instanceId, volumeId: s.string({ pattern: /^vol-[0-9a-f]{8,17}$/ }), force: s.optional(s.boolean()) }),
    s.object({ attachment: VolumeAttachmentReport }),
  ),
} as const;

export type NcOps = typeof NcOps;
export type NcClient = RpcClient<NcOps>;

/** A typed client for the NC at `baseUrl` (e.g. `http://127.0.0.1:8775`). */
export function ncClient(baseUrl: string, opts: RpcClientOptions = {}): NcClient {
  return createRpcClient(baseUrl.replace(/\/+$/, '') + NC_RPC_PREFIX, NcOps, opts);
}
