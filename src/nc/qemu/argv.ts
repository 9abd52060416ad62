/**
 * @module nc/qemu/argv
 * The QEMU command line of a VM, as a pure function of its spec and paths (tested on exact output).
 * `pc` machine (ACPI hot-plug straight into pci.0), virtio-net on a pre-created tap, virtio-blk root overlay,
 * serial console into an append-mode file (kept across reboots and stop/start), QMP on a unix socket.
 * No `-daemonize`: the driver starts QEMU as a detached child (own session) so that it survives the NC.
 */
import type { DiskAttachment, VmSpec } from '../driver/index.js';

export type Accel = 'kvm' | 'tcg';

export interface VmPaths {
  console: string;
  qmp: string;
  /** The root overlay (qcow2), when the spec has a root disk. */
  rootOverlay?: string;
}

export interface QemuCommand {
  /** The program to exec (`ip` when the VM's NICs live in a network namespace). */
  cmd: string;
  args: string[];
}

export const QEMU_BINARY = 'qemu-system-x86_64';

/** Marker put in the command line so that a process can be recognised as this VM's QEMU (adoption, cleanup). */
export function vmMarker(id: string): string {
  return `guest=${id},debug-threads=on`;
}

export function buildQemuArgs(spec: VmSpec, paths: VmPaths, accel: Accel): string[] {
  const a: string[] = ['-name', vmMarker(spec.id)];
  // tb-size=32: the TCG translation cache defaults to ~70 MiB of RSS per VM; 32 MiB boots as fast (dataplane.md)
  if (accel === 'kvm') a.push('-accel', 'kvm', '-cpu', 'host');
  else a.push('-accel', 'tcg,thread=multi,tb-size=32', '-cpu', 'max');
  a.push('-machine', 'pc', '-smp', String(spec.cores), '-m', String(spec.memoryMiB));
  a.push('-nodefaults', '-no-user-config', '-display', 'none', '-vga', 'none');
  if (spec.kernel) {
    a.push('-kernel', spec.kernel);
    if (spec.ramdisk) a.push('-initrd', spec.ramdisk);
    const cmdline = [spec.cmdline ?? 'console=ttyS0 panic=-1 loglevel=4'];
    if (spec.root && !/(^|\s)root=/.test(cmdline[0]!)) cmdline.push('root=/dev/vda');
    a.push('-append', cmdline.join(' '));
  }
  a.push('-chardev', `file,id=con0,path=${paths.console},append=on`, '-serial', 'chardev:con0');
  spec.nics.forEach((n, i) => {
    a.push('-netdev', `tap,id=net${i},ifname=${n.tap},script=no,downscript=no`);
    // romfile= : no iPXE option ROM (guests never network-boot; saves memory and BIOS time)
    a.push('-device', `virtio-net-pci,netdev=net${i},mac=${n.mac},id=nic${i},romfile=`);
  });
  if (spec.root && paths.rootOverlay) {
    a.push('-blockdev', `driver=qcow2,node-name=root0,file.driver=file,file.filename=${paths.rootOverlay}`);
    // without a kernel the BIOS boots the disk (with -kernel, QEMU owns boot index 0 itself)
    a.push('-device', `virtio-blk-pci,drive=root0,id=rootdisk${spec.kernel ? '' : ',bootindex=0'}`);
  }
  a.push('-object', 'rng-random,id=rng0,filename=/dev/urandom', '-device', 'virtio-rng-pci,rng=rng0');
  a.push('-qmp', `unix:${paths.qmp},server=on,wait=off`);
  return a;
}

/** The full command: wrapped in `ip netns exec NS` when the NICs live in a namespace (the tap is opened there). */
export function buildQemuCommand(spec: VmSpec, paths: VmPaths, accel: Accel): QemuCommand {
  const args = buildQemuArgs(spec, paths, accel);
  const ns = spec.nics.find((n) => n.netns)?.netns;
  if (ns) return { cmd: 'ip', args: ['netns', 'exec', ns, QEMU_BINARY, ...args] };
  return { cmd: QEMU_BINARY, args };
}

/** QMP `blockdev-add` arguments for a hot-plugged disk. */
export function blockdevFor(disk: DiskAttachment): Record<string, unknown> {
  const node = `disk-${disk.id}`;
  const s = disk.source;
  if (s.kind === 'file') {
    return { driver: s.format, 'node-name': node, 'read-only': !!disk.readOnly, file: { driver: 'file', filename: s.path } };
  }
  return {
    driver: 'raw', 'node-name': node, 'read-only': !!disk.readOnly,
    file: { driver: 'nbd', server: { type: 'inet', host: s.host, port: String(s.port) }, export: s.exportName, 'reconnect-delay': 5 },
  };
}

/** QMP `device_add` arguments for a hot-plugged disk (serial = what the guest sees in /sys/block/vdX/serial). */
export function deviceFor(disk: DiskAttachment): Record<string, unknown> {
  return { driver: 'virtio-blk-pci', drive: `disk-${disk.id}`, id: `dev-${disk.id}`, serial: disk.serial.slice(0, 20) };
}
