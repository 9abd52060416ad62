/**
 * @module nc/test-support
 * Helpers for tests that boot real VMs: the shared cached guest image, and whether this machine can run them.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGuestImage, type GuestImage } from './image/index.js';

/** Why VM tests cannot run here (not root, no QEMU, second database pass), or false when they can. */
export function vmTestSkipReason(): string | false {
  if (process.env.EUCA_TEST_DB === 'postgres') return 'VM tests run once, on the SQLite pass';
  if (process.getuid?.() !== 0) return 'VM tests need root (network namespaces, taps)';
  for (const bin of ['qemu-system-x86_64', 'qemu-img', 'ip', 'dnsmasq', 'nft']) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      return `${bin} is not installed (scripts/install-deps.sh)`;
    }
  }
  return false;
}

let image: Promise<GuestImage> | undefined;
/** The default guest image, built once into a shared cache directory (EUCA_TEST_IMAGE_DIR). */
export function testGuestImage(): Promise<GuestImage> {
  image ??= buildGuestImage({ outDir: process.env.EUCA_TEST_IMAGE_DIR ?? join(tmpdir(), 'euca-ts-guest-image') });
  return image;
}

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

const pexec = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));

export interface NcProcessInfo {
  url: string;
  port: number;
  netns?: string;
  outsideNetns?: string;
  subnet: string;
  gateway: string;
  pid: number;
}

/** Unique names for a test's namespaces and a random /24 in 10.64-127.x.0 (namespaces are isolated anyway). */
export function uniqueNet(prefix = 'euca-t'): { netns: string; outsideNetns: string; subnet: string } {
  const r = randomBytes(3);
  const tag = r.toString('hex');
  return { netns: `${prefix}-${tag}`, outsideNetns: `${prefix}-${tag}-o`, subnet: `10.${64 + (r[0]! % 64)}.${r[1]}.0/24` };
}

/** Starts `src/nc/daemon.ts` as a child process and waits for its JSON line. */
export async function startNcProcess(cfg: Record<string, unknown>): Promise<{ info: NcProcessInfo; child: ChildProcess; exited: Promise<void> }> {
  const tsx = join(HERE, '../../node_modules/tsx/dist/esm/index.mjs');
  const child = spawn(process.execPath, ['--import', tsx, join(HERE, 'daemon.ts'), JSON.stringify(cfg)], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, EUCA_LOG_LEVEL: process.env.EUCA_LOG_LEVEL ?? 'warn' },
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const rl = createInterface({ input: child.stdout! });
  const line = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`NC did not start in 60 s: ${stderr}`)), 60_000);
    rl.once('line', (l) => { clearTimeout(t); resolve(l); });
    child.once('exit', (code) => { clearTimeout(t); reject(new Error(`NC exited (${code}): ${stderr}`)); });
  });
  rl.on('line', () => undefined);
  return { info: JSON.parse(line) as NcProcessInfo, child, exited };
}

/** Runs `ssh root@ip cmd` from a namespace with the instance key (OpenSSH client against the guest's dropbear). */
export async function sshFrom(netns: string, ip: string, key: string, cmd: string): Promise<string> {
  const { stdout } = await pexec('ip', ['netns', 'exec', netns, 'timeout', '30', 'ssh', '-i', key, '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR', `root@${ip}`, cmd]);
  return stdout;
}

export async function waitFor<T>(what: string, ms: number, fn: () => Promise<T | undefined | false>, everyMs = 250): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** PIDs of processes whose command line contains `marker` and that are not zombies. */
export function pidsWith(marker: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (cmd.includes(marker) && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z') out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}
