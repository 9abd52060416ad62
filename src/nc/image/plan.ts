/**
 * @module nc/image/plan
 * Pure pieces of the default guest image build: parsing apt/ldd/module output, ordering kernel modules by their
 * dependencies, the guest's small config files, and the MBR partition table of the whole-disk image.
 * The builder (builder.ts) runs the commands and feeds their output through these functions.
 */

/** The packages the guest is made of, besides the kernel (resolved through `linux-image-cloud-amd64`). */
export const GUEST_PACKAGES = ['busybox-static', 'dropbear-bin'] as const;
/** The metapackage that names the current cloud kernel. */
export const KERNEL_METAPACKAGE = 'linux-image-cloud-amd64';
/** Modules the guest needs (the Debian cloud kernel builds virtio as modules); their dependencies are added. */
export const WANTED_MODULES = ['virtio_pci', 'virtio_net', 'virtio_blk', 'virtio_rng', 'evdev', 'button'] as const;

/**
 * `apt-cache depends PKG` → the package names after `Depends:` (first alternative of each group; virtual names
 * in angle brackets are skipped).
 */
export function parseAptDepends(out: string): string[] {
  const deps: string[] = [];
  let inAlt = false;
  for (const line of out.split('\n')) {
    const m = /^\s*(\|)?(Pre)?Depends:\s*(\S+)/.exec(line);
    if (!m) {
      inAlt = false;
      continue;
    }
    const alt = m[1] === '|';
    const name = m[3]!;
    if (!inAlt && !name.startsWith('<')) deps.push(name.replace(/:any$/, ''));
    inAlt = alt;
  }
  return [...new Set(deps)];
}

/** The kernel image package named by the metapackage (`linux-image-<ver>-cloud-amd64`). */
export function kernelPackageFrom(dependsOutput: string): string {
  const k = parseAptDepends(dependsOutput).find((d) => /^linux-image-\d.*-cloud-amd64$/.test(d));
  if (!k) throw new Error(`${KERNEL_METAPACKAGE} names no linux-image-*-cloud-amd64 package`);
  return k;
}

/** `linux-image-6.1.0-56-cloud-amd64` → `6.1.0-56-cloud-amd64`. */
export function kernelVersionOf(pkg: string): string {
  return pkg.replace(/^linux-image-/, '');
}

/** `ldd` output → resolved library paths (lines `name => /path (0x...)`). Throws on `not found`. */
export function parseLdd(out: string): string[] {
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    if (/=>\s*not found/.test(line)) throw new Error(`library not found: ${line.trim()}`);
    const m = /=>\s*(\/\S+)/.exec(line);
    if (m) libs.push(m[1]!);
  }
  return libs;
}

/** The `depends=` field of a kernel module's modinfo section (module names, `-` normalised to `_`). */
export function moduleDepends(koBytes: Buffer): string[] {
  const text = koBytes.toString('latin1');
  const m = /depends=([A-Za-z0-9_,-]*)/.exec(text);
  if (!m || !m[1]) return [];
  return m[1].split(',').filter(Boolean).map(normModule);
}

export function normModule(name: string): string {
  return name.replace(/-/g, '_');
}

/**
 * Orders modules so that each comes after its dependencies (insmod has no resolver).
 * `deps` maps every module (normalised name) to its dependencies; modules missing from `deps` are built in.
 */
export function orderModules(wanted: readonly string[], deps: ReadonlyMap<string, string[]>): string[] {
  const out: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (m: string, chain: string[]) => {
    if (state.get(m) === 'done' || !deps.has(m)) return;
    if (state.get(m) === 'visiting') throw new Error(`module dependency cycle: ${[...chain, m].join(' -> ')}`);
    state.set(m, 'visiting');
    for (const d of deps.get(m)!) visit(d, [...chain, m]);
    state.set(m, 'done');
    out.push(m);
  };
  for (const w of wanted) visit(normModule(w), []);
  return out;
}

// acpid is started by rc.cloud before anything slow, so that a power-off request works from early boot on
export const INITTAB = `::sysinit:/etc/rc.cloud
::shutdown:/bin/sh -c 'echo CLOUD: shutdown t=$(cut -d" " -f1 /proc/uptime) >/dev/console; killall dropbear; sync; umount -a -r'
::ctrlaltdel:/sbin/reboot
`;

// busybox init does not act on poweroff while its sysinit script still runs (e.g. rc.cloud waiting for metadata):
// fall back to a synced forced power-off after 10 s
export const POWER_BUTTON_SCRIPT = '#!/bin/sh\necho CLOUD: power button >/dev/console\n/sbin/poweroff\nsleep 10\nsync\n/sbin/poweroff -f\n';

export const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nsshd:x:74:74:sshd:/var/empty:/bin/false\n';

/** Default kernel command line of the guest (serial console, quiet kernel, reboot on panic). */
export const GUEST_CMDLINE = 'console=ttyS0 panic=-1 loglevel=4';

export function syslinuxConfig(rootDevice: string): string {
  return `DEFAULT cloud\nPROMPT 0\nTIMEOUT 0\nSERIAL 0 115200\nLABEL cloud\n  KERNEL /vmlinuz\n  INITRD /initrd.gz\n  APPEND ${GUEST_CMDLINE} root=${rootDevice}\n`;
}

export interface MbrPartition {
  /** Start in 512-byte sectors. */
  startSector: number;
  sectors: number;
  /** Partition type: 0x0c FAT32 LBA, 0x83 Linux. */
  type: number;
  bootable: boolean;
}

/**
 * The 66 bytes at offset 446 of the MBR: four 16-byte partition entries and the 0x55AA signature.
 * CHS fields are set to the LBA-only marker (0xFE 0xFF 0xFF), as modern tools do.
 */
export function mbrPartitionTable(parts: readonly MbrPartition[]): Buffer {
  if (parts.length > 4) throw new Error('an MBR holds at most 4 primary partitions');
  const b = Buffer.alloc(66);
  parts.forEach((p, i) => {
    const o = i * 16;
    b[o] = p.bootable ? 0x80 : 0;
    b.set([0xfe, 0xff, 0xff], o + 1);
    b[o + 4] = p.type;
    b.set([0xfe, 0xff, 0xff], o + 5);
    b.writeUInt32LE(p.startSector, o + 8);
    b.writeUInt32LE(p.sectors, o + 12);
  });
  b[64] = 0x55;
  b[65] = 0xaa;
  return b;
}

/** Cache key of a build: the exact package versions plus the guest files' content. */
export function buildKey(parts: readonly string[]): string {
  return parts.join('\n');
}
