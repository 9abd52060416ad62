/**
 * @module nc/image/cloudinit
 * A root filesystem image with Debian's own `cloud-init`, made offline from `apt-get download` only (no debootstrap:
 * the packages of cloud-init's dependency closure are unpacked with `dpkg-deb -x`; maintainer scripts do not run,
 * which cloud-init and Python do not need). It boots with the default image's kernel and initramfs
 * (`root=/dev/vda`); busybox init runs the four cloud-init stages with the EC2 datasource against 169.254.169.254.
 * Used by tests to show that a stock cloud-init guest reads its user-data through our metadata service.
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { aptDownload, type GuestImage } from './builder.js';
import { parseAptDepends } from './plan.js';

const pexec = promisify(execFile);
const run = async (cmd: string, args: string[], cwd?: string) => {
  try {
    return (await pexec(cmd, args, { cwd, maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (e) {
    throw new Error(`${cmd} ${args.slice(0, 6).join(' ')}: ${((e as { stderr?: string }).stderr || (e as Error).message).trim().slice(0, 1500)}`);
  }
};

export const CLOUD_CFG = `# Eucalyptus-TS: cloud-init with the EC2 datasource (no DMI on our VMs, so strict_id is off)
datasource_list: [ Ec2 ]
datasource:
  Ec2:
    strict_id: false
    metadata_urls: [ 'http://169.254.169.254' ]
    timeout: 5
    max_wait: 60
network: { config: disabled }   # busybox udhcpc configured eth0 before cloud-init; no renderer in this image
disable_root: false
preserve_hostname: false
cloud_init_modules: [ seed_random, write-files, set_hostname, update_hostname ]
cloud_config_modules: [ runcmd ]
cloud_final_modules: [ scripts-per-once, scripts-per-boot, scripts-per-instance, scripts-user, final-message ]
final_message: "CLOUD-INIT: finished v$version datasource $datasource after $UPTIME s"
system_info:
  distro: debian
  paths:
    cloud_dir: /var/lib/cloud/
    templates_dir: /etc/cloud/templates/
`;

const RC = `#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
# no redirections before /dev is mounted (the root is still read-only and has no /dev/null)
mount -t proc proc /proc; mount -t sysfs sys /sys
grep -q " /dev " /proc/mounts || mount -t devtmpfs dev /dev
mkdir -p /dev/pts /run /tmp && mount -t devpts devpts /dev/pts; mount -t tmpfs tmpfs /run
mount -o remount,rw /
echo "CLOUD: cloud-init image userspace t=$(cut -d' ' -f1 /proc/uptime)" > /dev/console
ip link set lo up; ip link set eth0 up
/bin/busybox udhcpc -i eth0 -s /etc/udhcpc.script -t 60 -T 1 -A 2 -n -S
for stage in "init --local" "init" "modules --mode=config" "modules --mode=final"; do
  echo "CLOUD: cloud-init $stage t=$(cut -d' ' -f1 /proc/uptime)" > /dev/console
  /usr/bin/cloud-init $stage > /dev/console 2>&1
done
echo "CLOUD: cloud-init done t=$(cut -d' ' -f1 /proc/uptime)" > /dev/console
`;

/** Builds `<outDir>/cloudinit-root.raw` (ext4). Cached by the package versions. */
export async function buildCloudInitImage(opts: { outDir: string; base: GuestImage; onProgress?: (m: string) => void }): Promise<{ rootfs: string; packages: number; cloudInitVersion: string }> {
  const say = opts.onProgress ?? (() => undefined);
  const out = opts.outDir;
  const debDir = join(out, 'debs');
  await fs.mkdir(debDir, { recursive: true });
  say('resolving the dependency closure of cloud-init');
  // one recursive query (one apt-cache call per package is minutes under load); all alternatives are included
  const rec = await run('apt-cache', ['depends', '--recurse', '--no-recommends', '--no-suggests', '--no-conflicts', '--no-breaks', '--no-replaces', '--no-enhances', 'cloud-init']);
  // ... then keep only the first alternative of each dependency, as apt would pick (avoids e.g. libelogind0 over libsystemd0)
  const blocks = new Map<string, string[]>();
  let cur = '';
  let buf: string[] = [];
  for (const line of (rec + '\nEND\n').split('\n')) {
    if (/^[a-z0-9<]/i.test(line)) {
      if (cur) blocks.set(cur, parseAptDepends(buf.join('\n')));
      cur = line.trim();
      buf = [];
    } else buf.push(line);
  }
  const closure = new Set<string>(['cloud-init']);
  const queue = ['cloud-init'];
  while (queue.length) {
    for (const d of blocks.get(queue.shift()!) ?? []) {
      if (!closure.has(d)) {
        closure.add(d);
        queue.push(d);
      }
    }
  }
  const pkgs = [...closure].sort();
  const version = (await run('apt-cache', ['show', '--no-all-versions', 'cloud-init'])).match(/^Version: (.+)$/m)?.[1] ?? '?';
  const rootfs = join(out, 'cloudinit-root.raw');
  const stamp = join(out, 'cloudinit.key');
  const key = JSON.stringify({ pkgs, version, CLOUD_CFG, RC, base: opts.base.key });
  if (existsSync(rootfs) && (await fs.readFile(stamp, 'utf8').catch(() => '')) === key) return { rootfs, packages: pkgs.length, cloudInitVersion: version };

  say(`downloading ${pkgs.length} packages`);
  const have = await fs.readdir(debDir);
  const missing = pkgs.filter((p) => !have.some((f) => f.startsWith(`${p}_`)));
  if (missing.length) await aptDownload(missing, debDir);
  say('unpacking');
  const R = join(out, 'cloudinit-tree');
  await fs.rm(R, { recursive: true, force: true });
  await fs.mkdir(R, { recursive: true });
  for (const f of await fs.readdir(debDir)) if (pkgs.some((p) => f.startsWith(`${p}_`))) await run('dpkg-deb', ['-x', join(debDir, f), R]);
  // busybox for init, DHCP and the shell tools, plus our init files and modules, from the default image's tree
  const base = join(out, 'base-tree');
  await fs.rm(base, { recursive: true, force: true });
  await fs.mkdir(base);
  await run('sh', ['-c', `gzip -dc "${opts.base.ramdisk}" | (cd "${base}" && cpio -id --quiet)`]);
  await fs.mkdir(join(R, 'bin'), { recursive: true });
  await fs.copyFile(join(base, 'bin/busybox'), join(R, 'bin/busybox'));
  await fs.chmod(join(R, 'bin/busybox'), 0o755);
  for (const a of (await run(join(base, 'bin/busybox'), ['--list-full'])).split('\n').filter(Boolean)) {
    const p = join(R, a);
    if (existsSync(p)) continue;
    await fs.mkdir(join(p, '..'), { recursive: true });
    await fs.symlink('/bin/busybox', p).catch(() => undefined);
  }
  await fs.rm(join(R, 'sbin/init'), { force: true });
  await fs.mkdir(join(R, 'sbin'), { recursive: true });
  await fs.symlink('/bin/busybox', join(R, 'sbin/init'));
  for (const d of ['proc', 'sys', 'dev', 'run', 'tmp', 'root/.ssh', 'var/lib/cloud', 'var/log', 'etc/cloud/cloud.cfg.d', 'lib/modules']) await fs.mkdir(join(R, d), { recursive: true });
  await fs.cp(join(base, 'lib/modules'), join(R, 'lib/modules'), { recursive: true });
  await fs.copyFile(join(base, 'etc/udhcpc.script'), join(R, 'etc/udhcpc.script'));
  await fs.writeFile(join(R, 'etc/inittab'), '::sysinit:/etc/rc.cloudinit\n::shutdown:/bin/sync\n');
  await fs.writeFile(join(R, 'etc/rc.cloudinit'), RC, { mode: 0o755 });
  await fs.writeFile(join(R, 'etc/cloud/cloud.cfg'), CLOUD_CFG);
  await fs.writeFile(join(R, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  await fs.writeFile(join(R, 'etc/group'), 'root:x:0:\n');
  await fs.writeFile(join(R, 'etc/hostname'), 'localhost\n');
  await fs.writeFile(join(R, 'etc/hosts'), '127.0.0.1 localhost\n');
  say('creating the ext4 image');
  const { stdout } = await pexec('du', ['-sm', R]);
  const mib = Math.ceil(Number(stdout.split('\t')[0]) * 1.4) + 64;
  await fs.rm(rootfs, { force: true });
  await run('mkfs.ext4', ['-q', '-F', '-L', 'cloudinit', '-d', R, rootfs, `${mib}M`]);
  await fs.rm(R, { recursive: true, force: true });
  await fs.rm(base, { recursive: true, force: true });
  await fs.writeFile(stamp, key);
  return { rootfs, packages: pkgs.length, cloudInitVersion: version };
}
