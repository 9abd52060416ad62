import {
  VmEvents, VmExistsError, VmNotFoundError, checkPowerOp,
  type DiskAttachment, type DriverCapabilities, type HypervisorDriver, type VmEvent, type VmInfo, type VmSpec,
} from '../driver/index.js';

interface FakeVm {
  info: VmInfo;
  console: string;
}

/** The simulated machine: VMs live here, so they outlive a FakeDriver object (NC restart simulation). */
export class FakeHost {
  readonly vms = new Map<string, FakeVm>();
  /** Every driver bound to this host, so that a crash reaches the live one. */
  readonly drivers = new Set<FakeDriver>();
  /** Simulates the VM's process dying. */
  crash(id: string): void {
    const vm = this.vms.get(id);
    if (!vm || vm.info.power !== 'running') return;
    vm.info = { ...vm.info, power: 'stopped', stopReason: 'crashed' };
    for (const d of this.drivers) d.emitEvent({ type: 'stopped', id, reason: 'crashed' });
  }
}

export interface FakeDriverOptions {
  host?: FakeHost;
  /** Failure injection: spawn throws when this returns true (nova's FakeRescheduleDriver idea). */
  failSpawn?: (spec: VmSpec) => boolean;
}

export class FakeDriver implements HypervisorDriver {
  readonly host: FakeHost;
  private readonly events = new VmEvents();
  private closed = false;

  constructor(private readonly opts: FakeDriverOptions = {}) {
    this.host = opts.host ?? new FakeHost();
    this.host.drivers.add(this);
  }

  emitEvent(e: VmEvent): void {
    if (!this.closed) this.events.emit(e);
  }

  capabilities(): DriverCapabilities {
    return { hypervisor: 'fake', stopStart: true, diskHotplug: true, adopt: true, console: false };
  }

  private get(id: string): FakeVm {
    const vm = this.host.vms.get(id);
    if (!vm) throw new VmNotFoundError(id);
    return vm;
  }

  private boot(vm: FakeVm, at = Date.now()): void {
    vm.console += `[fake] boot ${vm.info.bootCount} of ${vm.info.id} at ${at}\nCLOUD: userspace t=0.00\n`;
  }

  async spawn(spec: VmSpec): Promise<VmInfo> {
    if (this.host.vms.has(spec.id)) throw new VmExistsError(spec.id);
    if (this.opts.failSpawn?.(spec)) throw new Error(`fake: injected spawn failure for ${spec.id}`);
    if (!spec.kernel && !spec.root) throw new Error(`fake: ${spec.id} has nothing to boot (no kernel, no root disk)`);
    const vm: FakeVm = { info: { id: spec.id, power: 'running', bootCount: 1, startedAt: Date.now(), spec, disks: [] }, console: '' };
    this.boot(vm);
    this.host.vms.set(spec.id, vm);
    return { ...vm.info };
  }

  async destroy(id: string): Promise<void> {
    this.host.vms.delete(id);
  }

  async reboot(id: string): Promise<void> {
    const vm = this.get(id);
    checkPowerOp(id, vm.info.power, 'reboot');
    vm.info = { ...vm.info, bootCount: vm.info.bootCount + 1 };
    this.boot(vm);
    this.emitEvent({ type: 'rebooted', id, bootCount: vm.info.bootCount });
  }

  async stop(id: string, _opts: { force?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const vm = this.get(id);
    checkPowerOp(id, vm.info.power, 'stop');
    vm.info = { ...vm.info, power: 'stopped', stopReason: 'stop' };
    vm.console += '[fake] power off\n';
  }

  async start(id: string): Promise<VmInfo> {
    const vm = this.get(id);
    checkPowerOp(id, vm.info.power, 'start');
    const { stopReason: _r, ...rest } = vm.info;
    vm.info = { ...rest, power: 'running', bootCount: vm.info.bootCount + 1, startedAt: Date.now() };
    this.boot(vm);
    return { ...vm.info };
  }

  async describe(id: string): Promise<VmInfo | undefined> {
    const vm = this.host.vms.get(id);
    return vm ? { ...vm.info, disks: [...vm.info.disks] } : undefined;
  }

  async list(): Promise<VmInfo[]> {
    return [...this.host.vms.values()].map((v) => ({ ...v.info, disks: [...v.info.disks] }));
  }

  async consoleOutput(id: string, maxBytes = 65536): Promise<Buffer> {
    const b = Buffer.from(this.get(id).console);
    return b.subarray(Math.max(0, b.length - maxBytes));
  }

  async attachDisk(id: string, disk: DiskAttachment): Promise<void> {
    const vm = this.get(id);
    checkPowerOp(id, vm.info.power, 'attach');
    if (vm.info.disks.includes(disk.id)) throw new Error(`disk ${disk.id} is already attached to ${id}`);
    vm.info = { ...vm.info, disks: [...vm.info.disks, disk.id] };
  }

  async detachDisk(id: string, diskId: string): Promise<void> {
    const vm = this.get(id);
    if (!vm.info.disks.includes(diskId)) throw new Error(`disk ${diskId} is not attached to ${id}`);
    vm.info = { ...vm.info, disks: vm.info.disks.filter((d) => d !== diskId) };
  }

  async adopt(): Promise<VmInfo[]> {
    return this.list();
  }

  onEvent(listener: (e: VmEvent) => void): () => void {
    return this.events.on(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.host.drivers.delete(this);
  }
}
