/**
 * @module nc/driver
 * The hypervisor driver contract: what the node controller asks of a hypervisor, and nothing else.
 *
 * Vocabulary:
 * - A **VM** is identified by the instance id (`i-...`). Hypervisor-internal handles (PIDs, QMP sockets, file
 *   names) never leave the driver.
 * - A VM's **power state** is `running` (the guest is powered on; it may still be booting) or `stopped` (powered
 *   off; its disks are kept so that `start` boots the same disks again). A VM that does not exist is `undefined`.
 * - The driver owns the VM's disks it creates (the copy-on-write root overlay) and its console log. It does not own
 *   networking (the tap named in the spec exists before `spawn`/`start`) nor image files (the base image, kernel
 *   and ramdisk are read-only inputs, cached by the NC).
 *
 * Contract, checked by `runDriverConformance` for every driver:
 * - `spawn` creates and powers on a VM. If it fails, nothing of the VM is left (no process, no files), and the
 *   error says why. Spawning an id that exists fails with `VmExistsError`.
 * - `destroy` powers off (hard) and removes everything of the VM. It is idempotent: destroying an unknown or
 *   already destroyed VM succeeds.
 * - `reboot`, `stop`, `start`, `consoleOutput`, `attachDisk`, `detachDisk` on an unknown VM throw `VmNotFoundError`;
 *   a power operation invalid in the VM's power state (reboot or stop a stopped VM, start a running one) throws
 *   `VmStateError`. `stop` of a stopped VM and `start` of a running VM are errors, not no-ops, so that callers see
 *   races.
 * - `stop` asks the guest to power off (ACPI) and waits up to `timeoutMs`; then (or at once with `force`) it
 *   powers off hard. After it returns the VM is `stopped`.
 * - A guest that powers itself off becomes `stopped`, and the driver emits a `stopped` event with reason
 *   `guest-shutdown`; a VM whose hypervisor process dies emits `stopped` with reason `crashed`.
 * - `reboot` resets the VM; `bootCount` grows by one for every boot (spawn, start, reboot, guest reboot).
 * - VMs outlive the driver object: `close()` releases the driver's connections without touching VMs, and a new
 *   driver on the same state directory finds them again with `adopt()` (the NC restart case, including `kill -9`).
 * - `consoleOutput` returns the tail (at most `maxBytes`, default 64 KiB) of everything the guest wrote to its serial
 *   console, across reboots and stop/start.
 */

export interface DriverCapabilities {
  /** 'qemu-kvm', 'qemu-tcg', 'fake'. */
  hypervisor: string;
  /** stop/start keeping the disks. */
  stopStart: boolean;
  /** Disks can be attached to and detached from a running VM. */
  diskHotplug: boolean;
  /** VMs survive the driver process and are found again by adopt(). */
  adopt: boolean;
  /** The console log is real guest output. */
  console: boolean;
}

export interface BaseImageRef {
  /** Absolute path of a cached, read-only base image. */
  path: string;
  format: 'raw' | 'qcow2';
}

export interface VmSpec {
  id: string;
  cores: number;
  memoryMiB: number;
  /** Root disk: a copy-on-write overlay of `base`, grown to `sizeGiB` when larger than the base. */
  root?: BaseImageRef & { sizeGiB?: number };
  /** Direct kernel boot (absolute paths). */
  kernel?: string;
  ramdisk?: string;
  cmdline?: string;
  /** Network interfaces: a tap that exists in `netns` (or the driver's own namespace) before power-on. */
  nics: { mac: string; tap: string; netns?: string }[];
}

export type PowerState = 'running' | 'stopped';

export interface VmInfo {
  id: string;
  power: PowerState;
  /** Boots so far: spawn, start, reboot and guest reboots. */
  bootCount: number;
  /** Epoch ms of the last power-on. */
  startedAt: number;
  /** Why the VM last stopped (`stop`, `guest-shutdown`, `crashed`), when stopped. */
  stopReason?: StopReason;
  spec: VmSpec;
  /** Attached extra disks, by device id. */
  disks: string[];
}

export type StopReason = 'stop' | 'guest-shutdown' | 'crashed';

export type VmEvent =
  | { type: 'stopped'; id: string; reason: StopReason }
  | { type: 'rebooted'; id: string; bootCount: number };

export type DiskSource =
  | { kind: 'file'; path: string; format: 'raw' | 'qcow2' }
  | { kind: 'nbd'; host: string; port: number; exportName: string };

export interface DiskAttachment {
  /** Device id, unique per VM (the NC uses the volume id). */
  id: string;
  /** Serial number the guest sees (`/sys/block/vdX/serial`); the NC uses the volume id. */
  serial: string;
  source: DiskSource;
  readOnly?: boolean;
}

export interface HypervisorDriver {
  capabilities(): DriverCapabilities;
  /** Creates the VM's disks and powers it on. Cleans up completely on failure. */
  spawn(spec: VmSpec): Promise<VmInfo>;
  /** Powers off hard and removes the VM and its files. Idempotent. */
  destroy(id: string): Promise<void>;
  /** Hard reset. */
  reboot(id: string): Promise<void>;
  /** ACPI power-off, hard power-off after `timeoutMs` (default 30 s) or at once with `force`. Keeps disks. */
  stop(id: string, opts?: { force?: boolean; timeoutMs?: number }): Promise<void>;
  /** Powers a stopped VM on again with the same spec and disks. */
  start(id: string): Promise<VmInfo>;
  describe(id: string): Promise<VmInfo | undefined>;
  list(): Promise<VmInfo[]>;
  /** Tail of the serial console log. */
  consoleOutput(id: string, maxBytes?: number): Promise<Buffer>;
  attachDisk(id: string, disk: DiskAttachment): Promise<void>;
  /** Detaches; waits for the guest to release the device unless `force`. */
  detachDisk(id: string, diskId: string, opts?: { force?: boolean; timeoutMs?: number }): Promise<void>;
  /** Finds the VMs left by a previous driver on the same state (after an NC restart) and takes them over. */
  adopt(): Promise<VmInfo[]>;
  /** Subscribes to VM events; returns the unsubscribe function. */
  onEvent(listener: (e: VmEvent) => void): () => void;
  /** Releases connections and watchers. VMs keep running. */
  close(): Promise<void>;
}

export class VmNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`no VM ${id}`);
    this.name = 'VmNotFoundError';
  }
}

export class VmStateError extends Error {
  constructor(readonly id: string, readonly power: PowerState, op: string) {
    super(`cannot ${op} VM ${id} while it is ${power}`);
    this.name = 'VmStateError';
  }
}

export class VmExistsError extends Error {
  constructor(readonly id: string) {
    super(`VM ${id} exists`);
    this.name = 'VmExistsError';
  }
}

/** Which power operations are valid in which power state (state machine as data). */
export const POWER_OPS: Record<PowerState, readonly ('reboot' | 'stop' | 'start' | 'attach' | 'detach')[]> = {
  running: ['reboot', 'stop', 'attach', 'detach'],
  stopped: ['start'],
};

export function checkPowerOp(id: string, power: PowerState, op: 'reboot' | 'stop' | 'start' | 'attach' | 'detach'): void {
  if (!POWER_OPS[power].includes(op)) throw new VmStateError(id, power, op);
}

/** A tiny event emitter for drivers. */
export class VmEvents {
  private listeners = new Set<(e: VmEvent) => void>();
  on(l: (e: VmEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(e: VmEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        /* a listener's failure is its own */
      }
    }
  }
}
