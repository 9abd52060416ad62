/**
 * @module nc/qemu/qemu-driver
 * The real hypervisor driver: one QEMU process per VM, started detached (own session) so that it survives the NC,
 * driven over QMP (power, reset, hot-plug, events). Per VM, a directory `<stateDir>/<id>/` holds `vm.json` (spec,
 * power state, PID, boots, disks), `console.log` (serial, append mode), `qmp.sock`, `root.qcow2` (copy-on-write
 * overlay over the cached base image) and `qemu.log` (QEMU's own messages). A new driver on the same directory
 * re-adopts running VMs by PID + command-line marker and a fresh QMP connection.
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  VmEvents, VmExistsError, VmNotFoundError, checkPowerOp,
  type DiskAttachment, type DriverCapabilities, type HypervisorDriver, type PowerState, type StopReason, type VmEvent,
  type VmInfo, type VmSpec,
} from '../driver/index.js';
import { blockdevFor, buildQemuCommand, deviceFor, vmMarker, type Accel } from './argv.js';
import { QmpClient, type QmpEvent } from './qmp.js';
import { osProcessRunner, waitGone, type ProcessRunner } from './process.js';

const pexec = promisify(execFile);

interface VmRecord {
  spec: VmSpec;
  power: PowerState;
  bootCount: number;
  startedAt: number;
  stopReason?: StopReason;
  pid?: number;
  disks: DiskAttachment[];
}

interface Runtime {
  qmp: QmpClient;
  pid: number;
  /** Set when the driver itself stops/destroys the VM. */
  expecting?: 'stop' | 'destroy';
  guestShutdown: boolean;
  detached: boolean;
  lastReset: number;
  exited: Promise<void>;
  markExited: () => void;
}

export interface QemuDriverOptions {
  /** Directory holding one sub-directory per VM. */
  stateDir: string;
  accel: Accel;
  runner?: ProcessRunner;
  /** How long QEMU may take to open its QMP socket. */
  startTimeoutMs?: number;
}

export class QemuDriver implements HypervisorDriver {
  private readonly recs = new Map<string, VmRecord>();
  private readonly rts = new Map<string, Runtime>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly events = new VmEvents();
  private readonly runner: ProcessRunner;
  private closed = false;
  private tmpSeq = 0;

  constructor(private readonly opts: QemuDriverOptions) {
    this.runner = opts.runner ?? osProcessRunner;
  }

  capabilities(): DriverCapabilities {
    return { hypervisor: `qemu-${this.opts.accel}`, stopStart: true, diskHotplug: true, adopt: true, console: true };
  }

  private dir(id: string) {
    if (!/^[A-Za-z0-9_.-]+$/.test(id)) throw new Error(`bad VM id ${id}`);
    return join(this.opts.stateDir, id);
  }
  private paths(id: string) {
    const d = this.dir(id);
    return { console: join(d, 'console.log'), qmp: join(d, 'qmp.sock'), rootOverlay: join(d, 'root.qcow2'), log: join(d, 'qemu.log'), state: join(d, 'vm.json') };
  }

  /** Serialises operations on one VM. */
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

  private async save(id: string): Promise<void> {
    const rec = this.recs.get(id);
    if (!rec) return;
    const p = this.paths(id).state;
    const tmp = `${p}.${++this.tmpSeq}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(rec));
    await fs.rename(tmp, p);
  }

  private info(id: string, rec: VmRecord): VmInfo {
    return {
      id, power: rec.power, bootCount: rec.bootCount, startedAt: rec.startedAt, spec: rec.spec,
      disks: rec.disks.map((d) => d.id), ...(rec.stopReason ? { stopReason: rec.stopReason } : {}),
    };
  }

  private get(id: string): VmRecord {
    const rec = this.recs.get(id);
    if (!rec) throw new VmNotFoundError(id);
    return rec;
  }

  private emit(e: VmEvent) {
    if (!this.closed) this.events.emit(e);
  }

  /** Starts QEMU for `id` and connects QMP; throws with QEMU's own message when it does not come up. */
  private async launch(id: string, rec: VmRecord): Promise<void> {
    const p = this.paths(id);
    await fs.rm(p.qmp, { force: true });
    const { cmd, args } = buildQemuCommand(rec.spec, p, this.opts.accel);
    await fs.appendFile(p.log, `--- ${new Date().toISOString()} ${cmd} ${args.join(' ')}\n`);
    const started = this.runner.startDetached(cmd, args, p.log);
    rec.pid = started.pid;
    await this.save(id);
    let qmp: QmpClient;
    try {
      qmp = await Promise.race([
        QmpClient.connect(p.qmp, this.opts.startTimeoutMs ?? 20_000),
        started.exited.then(async (code) => {
          const log = await fs.readFile(p.log, 'utf8').catch(() => '');
          const msg = log.split('\n').filter((l) => l && !l.startsWith('---')).slice(-3).join('; ');
          throw new Error(`qemu exited (code ${code}): ${msg || 'no message'}`);
        }),
      ]);
    } catch (e) {
      this.runner.kill(started.pid, 'SIGKILL');
      await waitGone(this.runner, started.pid, vmMarker(id), 5000);
      throw e;
    }
    this.attach(id, qmp, started.pid);
    for (const d of rec.disks) {
      try {
        await qmp.execute('blockdev-add', blockdevFor(d));
        await qmp.execute('device_add', deviceFor(d));
      } catch {
        /* the disk's source is gone; the NC reports the attachment state */
      }
    }
  }

  /** Watches a running VM: QMP events and the end of the process. */
  private attach(id: string, qmp: QmpClient, pid: number): void {
    let markExited!: () => void;
    const exited = new Promise<void>((r) => (markExited = r));
    const rt: Runtime = { qmp, pid, guestShutdown: false, detached: false, lastReset: 0, exited, markExited };
    this.rts.set(id, rt);
    qmp.onEvent((e: QmpEvent) => {
      const rec = this.recs.get(id);
      if (!rec) return;
      if (e.event === 'RESET') {
        // after a reset SeaBIOS resets the machine once more by itself: count one boot per burst
        const now = Date.now();
        if (now - rt.lastReset < 2000) return;
        rt.lastReset = now;
        rec.bootCount += 1;
        void this.save(id).catch(() => undefined);
        this.emit({ type: 'rebooted', id, bootCount: rec.bootCount });
      } else if (e.event === 'SHUTDOWN') {
        rt.guestShutdown = e.data?.guest === true;
      }
    });
    void qmp.closed.then(async () => {
      if (rt.detached) return;
      // the monitor closed: QEMU is exiting; make sure it is gone (zombies count as gone)
      if (!(await waitGone(this.runner, pid, vmMarker(id), 10_000))) {
        this.runner.kill(pid, 'SIGKILL');
        await waitGone(this.runner, pid, vmMarker(id), 5000);
      }
      if (this.rts.get(id) === rt) this.rts.delete(id);
      const rec = this.recs.get(id);
      if (rec && rt.expecting !== 'destroy') {
        const reason: StopReason = rt.expecting === 'stop' ? 'stop' : rt.guestShutdown ? 'guest-shutdown' : 'crashed';
        rec.power = 'stopped';
        rec.stopReason = reason;
        delete rec.pid;
        await this.save(id).catch(() => undefined);
        if (!rt.expecting) this.emit({ type: 'stopped', id, reason });
      }
      rt.markExited();
    });
  }

  async spawn(spec: VmSpec): Promise<VmInfo> {
    return this.lock(spec.id, async () => {
      const id = spec.id;
      const d = this.dir(id);
      if (this.recs.has(id) || existsSync(d)) throw new VmExistsError(id);
      await fs.mkdir(d, { recursive: true });
      const rec: VmRecord = { spec, power: 'running', bootCount: 1, startedAt: Date.now(), disks: [] };
      try {
        for (const f of [spec.kernel, spec.ramdisk]) if (f) await fs.access(f).catch(() => { throw new Error(`${f}: no such file`); });
        if (!spec.kernel && !spec.root) throw new Error('nothing to boot: no kernel and no root disk');
        if (spec.root) {
          const p = this.paths(id);
          const args = ['create', '-q', '-f', 'qcow2', '-b', spec.root.path, '-F', spec.root.format, p.rootOverlay];
          if (spec.root.sizeGiB) {
            const { stdout } = await pexec('qemu-img', ['info', '--output=json', '-f', spec.root.format, spec.root.path]);
            const virt = (JSON.parse(stdout) as { 'virtual-size': number })['virtual-size'];
            if (spec.root.sizeGiB * 2 ** 30 > virt) args.push(`${spec.root.sizeGiB}G`);
          }
          await pexec('qemu-img', args).catch((e: { stderr?: string; message: string }) => {
            throw new Error(`root disk: ${(e.stderr || e.message).trim()}`);
          });
        }
        this.recs.set(id, rec);
        await this.save(id);
        await this.launch(id, rec);
        return this.info(id, rec);
      } catch (e) {
        this.recs.delete(id);
        this.rts.delete(id);
        await fs.rm(d, { recursive: true, force: true });
        throw e;
      }
    });
  }

  /** Ends the QEMU process of `id`: QMP quit, then SIGKILL. */
  private async kill(id: string, rt: Runtime | undefined, pid: number | undefined): Promise<void> {
    if (rt) {
      await rt.qmp.execute('quit', undefined, 3000).catch(() => undefined);
      const done = await Promise.race([rt.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
      if (!done) {
        this.runner.kill(rt.pid, 'SIGKILL');
        await rt.exited;
      }
    } else if (pid && this.runner.isOurs(pid, vmMarker(id))) {
      this.runner.kill(pid, 'SIGKILL');
      await waitGone(this.runner, pid, vmMarker(id), 5000);
    }
  }

  async destroy(id: string): Promise<void> {
    return this.lock(id, async () => {
      const d = this.dir(id);
      let rec = this.recs.get(id);
      if (!rec && existsSync(join(d, 'vm.json'))) {
        rec = JSON.parse(await fs.readFile(join(d, 'vm.json'), 'utf8')) as VmRecord;
      }
      const rt = this.rts.get(id);
      if (rt) rt.expecting = 'destroy';
      await this.kill(id, rt, rec?.pid);
      this.rts.delete(id);
      this.recs.delete(id);
      await fs.rm(d, { recursive: true, force: true });
    });
  }

  async reboot(id: string): Promise<void> {
    return this.lock(id, async () => {
      const rec = this.get(id);
      checkPowerOp(id, rec.power, 'reboot');
      const rt = this.rts.get(id);
      if (!rt) throw new Error(`VM ${id} has no monitor connection`);
      const before = rec.bootCount;
      await rt.qmp.execute('system_reset');
      const end = Date.now() + 5000;
      while (rec.bootCount === before && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      if (rec.bootCount === before) {
        rec.bootCount += 1;
        await this.save(id);
      }
    });
  }

  async stop(id: string, opts: { force?: boolean; timeoutMs?: number } = {}): Promise<void> {
    return this.lock(id, async () => {
      const rec = this.get(id);
      checkPowerOp(id, rec.power, 'stop');
      const rt = this.rts.get(id);
      if (!rt) throw new Error(`VM ${id} has no monitor connection`);
      rt.expecting = 'stop';
      if (!opts.force) {
        await rt.qmp.execute('system_powerdown').catch(() => undefined);
        await Promise.race([rt.exited, new Promise((r) => setTimeout(r, opts.timeoutMs ?? 30_000))]);
      }
      if (this.rts.get(id) === rt) await this.kill(id, rt, rt.pid);
      await rt.exited;
      rec.power = 'stopped';
      rec.stopReason = 'stop';
      await this.save(id);
    });
  }

  async start(id: string): Promise<VmInfo> {
    return this.lock(id, async () => {
      const rec = this.get(id);
      checkPowerOp(id, rec.power, 'start');
      rec.power = 'running';
      rec.bootCount += 1;
      rec.startedAt = Date.now();
      delete rec.stopReason;
      try {
        await this.launch(id, rec);
      } catch (e) {
        rec.power = 'stopped';
        rec.stopReason = 'crashed';
        rec.bootCount -= 1;
        await this.save(id);
        throw e;
      }
      return this.info(id, rec);
    });
  }

  async describe(id: string): Promise<VmInfo | undefined> {
    const rec = this.recs.get(id);
    return rec ? this.info(id, rec) : undefined;
  }

  async list(): Promise<VmInfo[]> {
    return [...this.recs.entries()].map(([id, r]) => this.info(id, r));
  }

  async consoleOutput(id: string, maxBytes = 65536): Promise<Buffer> {
    this.get(id);
    const p = this.paths(id).console;
    let fh;
    try {
      fh = await fs.open(p, 'r');
    } catch {
      return Buffer.alloc(0);
    }
    try {
      const { size } = await fh.stat();
      const n = Math.min(size, maxBytes);
      const buf = Buffer.alloc(n);
      await fh.read(buf, 0, n, size - n);
      return buf;
    } finally {
      await fh.close();
    }
  }

  async attachDisk(id: string, disk: DiskAttachment): Promise<void> {
    return this.lock(id, async () => {
      const rec = this.get(id);
      checkPowerOp(id, rec.power, 'attach');
      if (rec.disks.some((d) => d.id === disk.id)) throw new Error(`disk ${disk.id} is already attached to ${id}`);
      const rt = this.rts.get(id);
      if (!rt) throw new Error(`VM ${id} has no monitor connection`);
      const bd = blockdevFor(disk);
      await rt.qmp.execute('blockdev-add', bd);
      try {
        await rt.qmp.execute('device_add', deviceFor(disk));
      } catch (e) {
        await rt.qmp.execute('blockdev-del', { 'node-name': bd['node-name'] }).catch(() => undefined);
        throw e;
      }
      rec.disks.push(disk);
      await this.save(id);
    });
  }

  async detachDisk(id: string, diskId: string, opts: { force?: boolean; timeoutMs?: number } = {}): Promise<void> {
    return this.lock(id, async () => {
      const rec = this.get(id);
      const disk = rec.disks.find((d) => d.id === diskId);
      if (!disk) throw new Error(`disk ${diskId} is not attached to ${id}`);
      const rt = this.rts.get(id);
      if (rt) {
        const devId = String(deviceFor(disk).id);
        // device_del emits DEVICE_DELETED twice: first for .../virtio-backend, then with data.device = our id
        const deleted = new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => { off(); resolve(false); }, opts.timeoutMs ?? 30_000);
          const off = rt.qmp.onEvent((e) => {
            if (e.event === 'DEVICE_DELETED' && e.data?.device === devId) { clearTimeout(timer); off(); resolve(true); }
          });
        });
        await rt.qmp.execute('device_del', { id: devId });
        const ok = await deleted;
        if (!ok && !opts.force) throw new Error(`the guest did not release ${diskId} (try force)`);
        await rt.qmp.execute('blockdev-del', { 'node-name': blockdevFor(disk)['node-name'] }).catch(() => undefined);
      }
      rec.disks = rec.disks.filter((d) => d.id !== diskId);
      await this.save(id);
    });
  }

  async adopt(): Promise<VmInfo[]> {
    let entries: string[] = [];
    try {
      entries = await fs.readdir(this.opts.stateDir);
    } catch {
      return [];
    }
    const out: VmInfo[] = [];
    for (const id of entries) {
      if (this.recs.has(id)) {
        out.push(this.info(id, this.recs.get(id)!));
        continue;
      }
      const p = this.paths(id);
      let rec: VmRecord;
      try {
        rec = JSON.parse(await fs.readFile(p.state, 'utf8')) as VmRecord;
      } catch {
        // a spawn that died before writing its state: nothing to adopt
        await fs.rm(this.dir(id), { recursive: true, force: true });
        continue;
      }
      this.recs.set(id, rec);
      if (rec.power === 'running') {
        let adopted = false;
        if (rec.pid && this.runner.isOurs(rec.pid, vmMarker(id))) {
          try {
            const qmp = await QmpClient.connect(p.qmp, 5000);
            this.attach(id, qmp, rec.pid);
            adopted = true;
          } catch {
            adopted = false;
          }
        }
        if (!adopted) {
          if (rec.pid && this.runner.isOurs(rec.pid, vmMarker(id))) this.runner.kill(rec.pid, 'SIGKILL');
          rec.power = 'stopped';
          rec.stopReason = 'crashed';
          delete rec.pid;
          await this.save(id);
        }
      }
      out.push(this.info(id, rec));
    }
    return out;
  }

  onEvent(listener: (e: VmEvent) => void): () => void {
    return this.events.on(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const rt of this.rts.values()) {
      rt.detached = true;
      rt.qmp.close();
    }
    this.rts.clear();
    this.recs.clear();
  }
}
