/**
 * @module nc/qemu/accel
 * KVM or TCG, decided by trying: `/dev/kvm` can exist and even initialise while guests never run (nested setups;
 * on the development machine the kernel stops right after the real-mode setup). So we boot the guest kernel under
 * KVM for a few seconds and look for the kernel's own banner on the serial console. `EUCA_ACCEL=kvm|tcg` overrides.
 */
import { spawn } from 'node:child_process';
import { constants, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Accel } from './argv.js';
import { QEMU_BINARY } from './argv.js';

export async function detectAccel(kernel: string, opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<{ accel: Accel; why: string }> {
  const forced = (opts.env ?? process.env).EUCA_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return { accel: forced, why: 'EUCA_ACCEL' };
  try {
    await fs.access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', why: '/dev/kvm is not usable' };
  }
  const dir = await fs.mkdtemp(join(tmpdir(), 'euca-kvm-probe-'));
  const con = join(dir, 'console');
  try {
    const child = spawn(QEMU_BINARY, [
      '-accel', 'kvm', '-cpu', 'host', '-machine', 'pc', '-m', '128', '-nodefaults', '-no-user-config', '-display', 'none',
      '-kernel', kernel, '-append', 'console=ttyS0 loglevel=7 panic=-1', '-chardev', `file,id=c,path=${con}`, '-serial', 'chardev:c',
    ], { stdio: 'ignore' });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const end = Date.now() + (opts.timeoutMs ?? 6000);
    let ok = false;
    while (Date.now() < end && child.exitCode === null) {
      const text = await fs.readFile(con, 'utf8').catch(() => '');
      if (/Linux version|Run \/init|Freeing unused kernel/.test(text)) {
        ok = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    await exited;
    return ok ? { accel: 'kvm', why: 'a KVM guest booted the kernel' } : { accel: 'tcg', why: 'KVM is present but the guest kernel did not run under it' };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
