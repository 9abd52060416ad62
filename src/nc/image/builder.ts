/**
 * @module nc/image/builder
 * Builds the default guest image from Debian packages only (`apt-get download`, `dpkg-deb -x`), on Debian 12 or 13:
 * - `vmlinuz`    the Debian cloud kernel (EKI), resolved through the `linux-image-cloud-amd64` metapackage
 * - `initrd.gz`  busybox + dropbear + virtio modules + our /init and rc.cloud (ERI; also boots on its own, in RAM)
 * - `root.raw`   the same tree as an ext4 filesystem (EMI root for direct kernel boot with `root=/dev/vda`)
 * - `disk.raw` / `disk.qcow2`  a bootable whole-disk image: MBR + syslinux on a FAT boot partition (kernel, initrd)
 *   + the ext4 root partition (`root=/dev/vda2`)
 * The output is cached: a build whose package versions and guest files are unchanged returns the previous result.
 * OS at the edge: everything decided from command output goes through the pure functions of plan.ts.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  GUEST_PACKAGES, INITTAB, KERNEL_METAPACKAGE, PASSWD, POWER_BUTTON_SCRIPT, WANTED_MODULES, GUEST_CMDLINE,
  kernelPackageFrom, kernelVersionOf, mbrPartitionTable, moduleDepends, normModule, orderModules, parseAptDepends,
  parseLdd, syslinuxConfig,
} from './plan.js';

const pexec = promisify(execFile);
const BUILDER_VERSION = '1';
const GUEST_DIR = join(dirname(fileURLToPath(import.meta.url)), 'guest');

export interface BuildProgress {
  step: number;
  total: number;
  message: string;
}

export interface GuestImageOptions {
  /** Where the image files go (e.g. `<dataDir>/images/default`). Debs are cached in `<outDir>/debs`. */
  outDir: string;
  /** Rebuild even when the cache is current. */
  force?: boolean;
  /** Also build the bootable whole-disk image (needs syslinux, mtools, dosfstools). Default true. */
  wholeDisk?: boolean;
  onProgress?: (p: BuildProgress) => void;
}

export interface GuestImage {
  dir: string;
  kernel: string;
  ramdisk: string;
  /** ext4 root filesystem (raw), for direct kernel boot with root=/dev/vda. */
  rootfs: string;
  /** Whole-disk bootable images (absent when wholeDisk was false). */
  disk?: string;
  diskQcow2?: string;
  kernelVersion: string;
  /** Kernel command line the image expects (add `root=/dev/vda` when booting with the root disk). */
  cmdline: string;
  packages: Record<string, string>;
  sha256: Record<string, string>;
  /** True when the previous build was reused. */
  cached: boolean;
  builtAt: number;
  key: string;
}

async function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  try {
    const { stdout } = await pexec(cmd, args, { ...opts, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(err.stderr || err.message).trim().slice(0, 2000)}`);
  }
}

/**
 * `apt-get download` into `cwd`, retrying transient network failures (3 retries per file) and, if it still fails,
 * once more after `apt-get update` (the package lists may name versions the mirror no longer has).
 */
export async function aptDownload(specs: string[], cwd: string): Promise<void> {
  const args = ['-o', 'Acquire::Retries=3', 'download', ...specs];
  try {
    await run('apt-get', args, { cwd });
  } catch (first) {
    try {
      await run('apt-get', ['-qq', 'update']);
    } catch {
      throw first;
    }
    await run('apt-get', args, { cwd });
  }
}

async function sha256File(p: string): Promise<string> {
  const h = createHash('sha256');
  const fh = await fs.open(p);
  try {
    for await (const chunk of fh.createReadStream()) h.update(chunk as Buffer);
  } finally {
    await fh.close().catch(() => undefined);
  }
  return h.digest('hex');
}

/** Candidate versions of packages (`apt-cache show --no-all-versions`). */
async function candidateVersions(pkgs: string[]): Promise<Record<string, string>> {
  const out = await run('apt-cache', ['show', '--no-all-versions', ...pkgs]);
  const v: Record<string, string> = {};
  let name = '';
  for (const line of out.split('\n')) {
    if (line.startsWith('Package: ')) name = line.slice(9).trim();
    else if (line.startsWith('Version: ') && name && !v[name]) v[name] = line.slice(9).trim();
  }
  for (const p of pkgs) if (!v[p]) throw new Error(`apt knows no package ${p} (run apt-get update?)`);
  return v;
}

/** Library packages dropbear needs: the closure of its Depends over library packages. */
async function libraryClosure(root: string): Promise<string[]> {
  const seen = new Set<string>();
  const queue = [root];
  while (queue.length) {
    const p = queue.shift()!;
    const deps = parseAptDepends(await run('apt-cache', ['depends', p]));
    for (const d of deps) {
      if (seen.has(d) || !/^(lib|zlib)/.test(d) || /-(dev|doc|bin|data|common)$/.test(d)) continue;
      seen.add(d);
      queue.push(d);
    }
  }
  return [...seen].sort();
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

async function readModule(p: string): Promise<Buffer> {
  if (p.endsWith('.ko')) return fs.readFile(p);
  const tool = p.endsWith('.xz') ? 'xz' : p.endsWith('.zst') ? 'zstd' : 'gzip';
  const { stdout } = await promisify(execFile)(tool, ['-dc', p], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
  return stdout;
}

async function dirSize(dir: string): Promise<number> {
  let n = 0;
  for (const f of await walk(dir)) n += (await fs.lstat(f)).size;
  return n;
}

/** Runs `fn` holding an exclusive lock directory (concurrent builds into the same place wait for each other). */
async function withLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T> {
  const end = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      await fs.mkdir(lockDir);
      await fs.writeFile(join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(await fs.readFile(join(lockDir, 'pid'), 'utf8').catch(() => '0'));
      let alive = false;
      try {
        if (pid > 0) process.kill(pid, 0);
        alive = pid > 0;
      } catch {
        alive = false;
      }
      if (!alive && pid > 0) await fs.rm(lockDir, { recursive: true, force: true });
      if (Date.now() > end) throw new Error(`image build lock ${lockDir} held too long`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lockDir, { recursive: true, force: true });
  }
}

/** Builds (or reuses) the default guest image. Concurrent calls for the same `outDir` wait for each other. */
export async function buildGuestImage(opts: GuestImageOptions): Promise<GuestImage> {
  await fs.mkdir(opts.outDir, { recursive: true });
  return withLock(opts.outDir.replace(/\/+$/, '') + '.lock', () => build(opts));
}

async function build(opts: GuestImageOptions): Promise<GuestImage> {
  const wholeDisk = opts.wholeDisk ?? true;
  const total = wholeDisk ? 9 : 7;
  let step = 0;
  const progress = (message: string) => opts.onProgress?.({ step: ++step, total, message });
  const out = opts.outDir;
  await fs.mkdir(join(out, 'debs'), { recursive: true });

  progress(`resolving packages (${KERNEL_METAPACKAGE}, ${GUEST_PACKAGES.join(', ')})`);
  const kernelPkg = kernelPackageFrom(await run('apt-cache', ['depends', KERNEL_METAPACKAGE]));
  const kver = kernelVersionOf(kernelPkg);
  const libs = await libraryClosure('dropbear-bin');
  const pkgs = [kernelPkg, ...GUEST_PACKAGES, ...libs];
  const versions = await candidateVersions(pkgs);
  const guestFiles = await Promise.all(['init', 'rc.cloud', 'udhcpc.script'].map((f) => fs.readFile(join(GUEST_DIR, f), 'utf8')));
  const key = createHash('sha256')
    .update(JSON.stringify({ BUILDER_VERSION, versions, guestFiles, wholeDisk, INITTAB, GUEST_CMDLINE, POWER_BUTTON_SCRIPT, PASSWD }))
    .digest('hex');
  const manifestPath = join(out, 'manifest.json');
  if (!opts.force && existsSync(manifestPath)) {
    const prev = JSON.parse(await fs.readFile(manifestPath, 'utf8')) as GuestImage;
    if (prev.key === key && existsSync(prev.kernel) && existsSync(prev.ramdisk) && existsSync(prev.rootfs)) {
      step = total - 1;
      progress('image is current (cached)');
      return { ...prev, cached: true };
    }
  }

  progress(`downloading ${pkgs.length} packages with apt-get download`);
  const debDir = join(out, 'debs');
  const have = new Set(await fs.readdir(debDir));
  const fname = (p: string) => `${p}_${versions[p]!.replace(/:/g, '%3a')}_`;
  const missing = pkgs.filter((p) => ![...have].some((f) => f.startsWith(fname(p))));
  if (missing.length) await aptDownload(missing.map((p) => `${p}=${versions[p]}`), debDir);
  const debs = (await fs.readdir(debDir)).filter((f) => pkgs.some((p) => f.startsWith(fname(p))));

  progress('extracting packages');
  const work = join(out, 'work');
  await fs.rm(work, { recursive: true, force: true });
  const X = join(work, 'x');
  const R = join(work, 'rootfs');
  await fs.mkdir(X, { recursive: true });
  for (const d of debs) await run('dpkg-deb', ['-x', join(debDir, d), X]);

  progress('assembling the root filesystem (busybox, dropbear, libraries, modules, init)');
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc/dropbear', 'etc/acpi/PWRF', 'proc', 'sys', 'dev', 'run', 'tmp', 'root/.ssh', 'var/run', 'var/log', 'var/empty', 'lib/modules', 'lib/x86_64-linux-gnu', 'newroot', 'lib64', 'mnt']) {
    await fs.mkdir(join(R, d), { recursive: true });
  }
  await fs.chmod(join(R, 'root'), 0o700);
  await fs.chmod(join(R, 'root/.ssh'), 0o700);
  await fs.chmod(join(R, 'tmp'), 0o1777);
  const find = (...cands: string[]) => {
    const c = cands.map((p) => join(X, p)).find((p) => existsSync(p));
    if (!c) throw new Error(`none of ${cands.join(', ')} in the extracted packages`);
    return c;
  };
  const busybox = find('bin/busybox', 'usr/bin/busybox');
  await fs.copyFile(busybox, join(R, 'bin/busybox'));
  await fs.chmod(join(R, 'bin/busybox'), 0o755);
  for (const a of (await run(busybox, ['--list-full'])).split('\n').map((l) => l.trim()).filter(Boolean)) {
    const p = join(R, a);
    if (existsSync(p)) continue;
    await fs.mkdir(dirname(p), { recursive: true });
    await fs.symlink('/bin/busybox', p);
  }
  const dropbear = find('usr/sbin/dropbear', 'sbin/dropbear');
  const dropbearkey = find('usr/bin/dropbearkey', 'bin/dropbearkey');
  await fs.copyFile(dropbear, join(R, 'usr/sbin/dropbear'));
  await fs.copyFile(dropbearkey, join(R, 'usr/bin/dropbearkey'));
  const libPath = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu'].map((p) => join(X, p)).join(':');
  for (const bin of [join(R, 'usr/sbin/dropbear'), join(R, 'usr/bin/dropbearkey')]) {
    for (const lib of parseLdd(await run('ldd', [bin], { env: { ...process.env, LD_LIBRARY_PATH: libPath } }))) {
      if (!lib.startsWith(X)) throw new Error(`ldd resolved ${lib} outside the extracted packages: a library package is missing`);
      const dest = join(R, 'lib/x86_64-linux-gnu', lib.split('/').pop()!);
      if (!existsSync(dest)) await fs.copyFile(await fs.realpath(lib), dest);
    }
  }
  await fs.copyFile(await fs.realpath(find('lib64/ld-linux-x86-64.so.2', 'usr/lib64/ld-linux-x86-64.so.2', 'lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', 'usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2')), join(R, 'lib64/ld-linux-x86-64.so.2'));
  await fs.chmod(join(R, 'lib64/ld-linux-x86-64.so.2'), 0o755);
  // kernel modules: find every module file, read the dependencies of the ones we need, copy them in order
  const modDir = find(`lib/modules/${kver}`, `usr/lib/modules/${kver}`);
  const modFiles = new Map<string, string>();
  for (const f of await walk(modDir)) {
    const m = /\/([^/]+)\.ko(\.xz|\.zst|\.gz)?$/.exec(f);
    if (m) modFiles.set(normModule(m[1]!), f);
  }
  const deps = new Map<string, string[]>();
  const content = new Map<string, Buffer>();
  const pending = WANTED_MODULES.map(normModule);
  while (pending.length) {
    const m = pending.pop()!;
    if (deps.has(m) || !modFiles.has(m)) continue; // not a module: built into the kernel
    const buf = await readModule(modFiles.get(m)!);
    content.set(m, buf);
    const d = moduleDepends(buf);
    deps.set(m, d);
    pending.push(...d);
  }
  const order = orderModules(WANTED_MODULES, deps);
  for (const m of order) await fs.writeFile(join(R, 'lib/modules', `${m}.ko`), content.get(m)!);
  await fs.writeFile(join(R, 'lib/modules/order'), order.join(' ') + '\n');
  await fs.writeFile(join(R, 'etc/passwd'), PASSWD);
  await fs.writeFile(join(R, 'etc/group'), 'root:x:0:\n');
  await fs.writeFile(join(R, 'etc/shells'), '/bin/sh\n');
  await fs.writeFile(join(R, 'etc/shadow'), 'root:*:19000:0:99999:7:::\n', { mode: 0o600 });
  await fs.writeFile(join(R, 'etc/inittab'), INITTAB);
  await fs.writeFile(join(R, 'etc/hostname'), 'localhost\n');
  await fs.writeFile(join(R, 'etc/acpi/PWRF/00000080'), POWER_BUTTON_SCRIPT, { mode: 0o755 });
  for (const [f, dest] of [['init', 'init'], ['rc.cloud', 'etc/rc.cloud'], ['udhcpc.script', 'etc/udhcpc.script']] as const) {
    await fs.copyFile(join(GUEST_DIR, f), join(R, dest));
    await fs.chmod(join(R, dest), 0o755);
  }

  progress('writing kernel and initramfs');
  const kernel = join(out, 'vmlinuz');
  const ramdisk = join(out, 'initrd.gz');
  await fs.copyFile(find(`boot/vmlinuz-${kver}`), kernel);
  await run('sh', ['-c', `cd "${R}" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9 > "${ramdisk}.tmp"`]);
  await fs.rename(`${ramdisk}.tmp`, ramdisk);

  progress('creating the ext4 root filesystem');
  const rootfs = join(out, 'root.raw');
  const rootMiB = Math.max(64, Math.ceil(((await dirSize(R)) * 1.5) / 1048576) + 32);
  await fs.rm(rootfs, { force: true });
  await run('mkfs.ext4', ['-q', '-F', '-L', 'cloudroot', '-d', R, rootfs, `${rootMiB}M`]);

  let disk: string | undefined;
  let diskQcow2: string | undefined;
  if (wholeDisk) {
    progress('creating the bootable whole-disk image (MBR + syslinux + ext4)');
    disk = join(out, 'disk.raw');
    const fat = join(work, 'boot.fat');
    const kSize = (await fs.stat(kernel)).size + (await fs.stat(ramdisk)).size;
    const fatMiB = Math.ceil(kSize / 1048576) + 8;
    await run('mkfs.vfat', ['-n', 'CLOUDBOOT', '-C', fat, String(fatMiB * 1024)]);
    await fs.writeFile(join(work, 'syslinux.cfg'), syslinuxConfig('/dev/vda2'));
    await run('mcopy', ['-i', fat, kernel, '::vmlinuz']);
    await run('mcopy', ['-i', fat, ramdisk, '::initrd.gz']);
    await run('mcopy', ['-i', fat, join(work, 'syslinux.cfg'), '::syslinux.cfg']);
    await run('syslinux', ['--install', fat]);
    const mbrBin = ['/usr/lib/syslinux/mbr/mbr.bin', '/usr/lib/SYSLINUX/mbr.bin'].find((p) => existsSync(p));
    if (!mbrBin) throw new Error('syslinux MBR code (mbr.bin) not found: install syslinux-common (scripts/install-deps.sh)');
    const mbrCode = (await fs.readFile(mbrBin)).subarray(0, 440);
    const startFat = 2048;
    const fatSectors = fatMiB * 2048;
    const startRoot = startFat + fatSectors;
    const rootSectors = rootMiB * 2048;
    const mbr = Buffer.alloc(512);
    mbr.set(mbrCode, 0);
    mbr.set(mbrPartitionTable([
      { startSector: startFat, sectors: fatSectors, type: 0x0c, bootable: true },
      { startSector: startRoot, sectors: rootSectors, type: 0x83, bootable: false },
    ]), 446);
    await fs.rm(disk, { force: true });
    const fh = await fs.open(disk, 'w');
    try {
      await fh.write(mbr, 0, 512, 0);
      await fh.truncate((startRoot + rootSectors) * 512);
    } finally {
      await fh.close();
    }
    await run('dd', [`if=${fat}`, `of=${disk}`, 'bs=1M', `seek=${startFat * 512}`, 'oflag=seek_bytes', 'conv=notrunc,sparse', 'status=none']);
    await run('dd', [`if=${rootfs}`, `of=${disk}`, 'bs=1M', `seek=${startRoot * 512}`, 'oflag=seek_bytes', 'conv=notrunc,sparse', 'status=none']);
    progress('converting the whole disk to qcow2');
    diskQcow2 = join(out, 'disk.qcow2');
    await fs.rm(diskQcow2, { force: true });
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', disk, diskQcow2]);
  }

  progress('checksums and manifest');
  const files: Record<string, string> = { kernel, ramdisk, rootfs, ...(disk ? { disk } : {}), ...(diskQcow2 ? { diskQcow2 } : {}) };
  const sha256: Record<string, string> = {};
  for (const [k, p] of Object.entries(files)) sha256[k] = await sha256File(p);
  await fs.rm(work, { recursive: true, force: true });
  const img: GuestImage = {
    dir: out, kernel, ramdisk, rootfs, ...(disk ? { disk } : {}), ...(diskQcow2 ? { diskQcow2 } : {}),
    kernelVersion: kver, cmdline: GUEST_CMDLINE, packages: versions, sha256, cached: false, builtAt: Date.now(), key,
  };
  await fs.writeFile(manifestPath + '.tmp', JSON.stringify(img, null, 2));
  await fs.rename(manifestPath + '.tmp', manifestPath);
  return img;
}
