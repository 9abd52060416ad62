/**
 * @module nc/test-support
 * Helpers for tests that boot real VMs: the shared cached guest image, and whether this machine can run them.
 */
import { execFileSync } from 'node:child_process';
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
