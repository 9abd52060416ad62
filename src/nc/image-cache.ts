/**
 * @module nc/image-cache
 * The node's cache of image artifacts (root disks, kernels, ramdisks), fetched at most once each: from a URL
 * (HTTP GET, e.g. a presigned Walrus URL) into `<dir>/<id>`, checked against its SHA-256 when given; or used in
 * place when it is a local path. Root disk formats are probed with `qemu-img info`.
 *
 * A resolved artifact is remembered with the identity of its file (device, inode, size, mtime): a later launch of the
 * same image costs one `stat` instead of a checksum marker read and a `qemu-img` process, and a file that was replaced
 * or changed in place is verified and probed again.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { ImageArtifact } from '../rpc/index.js';

const pexec = promisify(execFile);

export interface CachedArtifact {
  path: string;
  format: 'raw' | 'qcow2';
}

/** What identifies one version of a file: a replaced or rewritten file gets another stamp. */
function stampOf(st: { dev: number; ino: number; size: number; mtimeMs: number }): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
}

export class ImageCache {
  private readonly inflight = new Map<string, Promise<CachedArtifact>>();
  /** Artifacts already resolved (verified, probed), by request key, with the stamp of the file they were resolved from. */
  private readonly resolved = new Map<string, { stamp: string; artifact: CachedArtifact }>();

  /** `probe` gives a disk file's format (default: `qemu-img info`). */
  constructor(private readonly dir: string, private readonly probe: (path: string) => Promise<string> = qemuImgFormat) {}

  /** The local file of an artifact, fetching it when needed. `disk` probes/validates the disk format. */
  get(a: ImageArtifact, disk: boolean): Promise<CachedArtifact> {
    const key = `${a.id}:${a.sha256 ?? ''}:${a.path ?? a.url ?? ''}:${disk ? `disk:${a.format ?? ''}` : 'file'}`;
    let p = this.inflight.get(key);
    if (!p) {
      // Forgotten before it settles, so a call after this one completes looks at the file again.
      p = this.resolve(key, a, disk).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  /** The remembered artifact when its file is unchanged, else a full fetch/verify/probe (remembered on success). */
  private async resolve(key: string, a: ImageArtifact, disk: boolean): Promise<CachedArtifact> {
    const hit = this.resolved.get(key);
    if (hit) {
      const st = await fs.stat(hit.artifact.path).catch(() => undefined);
      if (st && stampOf(st) === hit.stamp) return hit.artifact;
      this.resolved.delete(key);
    }
    const { artifact, stamp } = await this.fetch(a, disk);
    this.resolved.set(key, { stamp, artifact });
    return artifact;
  }

  /** Fetches (or finds), verifies and probes; `stamp` is the file's identity taken before it was verified. */
  private async fetch(a: ImageArtifact, disk: boolean): Promise<{ artifact: CachedArtifact; stamp: string }> {
    let path: string;
    let stamp: string;
    if (a.path) {
      path = a.path;
      let st;
      try {
        st = await fs.stat(path);
      } catch {
        throw new Error(`image ${a.id}: ${path} does not exist on this node`);
      }
      stamp = stampOf(st);
      if (a.sha256) {
        const marker = join(this.dir, `${a.id}.verified`);
        const mark = `${a.sha256} ${st.size} ${st.mtimeMs}`;
        if ((await fs.readFile(marker, 'utf8').catch(() => '')) !== mark) {
          const got = await sha256File(path);
          if (got !== a.sha256) throw new Error(`image ${a.id}: checksum mismatch (${got} != ${a.sha256})`);
          await fs.mkdir(this.dir, { recursive: true });
          await fs.writeFile(marker, mark);
        }
      }
    } else if (a.url) {
      await fs.mkdir(this.dir, { recursive: true });
      path = join(this.dir, a.sha256 ? `${a.id}-${a.sha256.slice(0, 16)}` : a.id);
      if (!existsSync(path)) {
        const tmp = `${path}.part-${process.pid}-${Date.now()}`;
        try {
          const res = await fetch(a.url, { signal: AbortSignal.timeout(30 * 60_000) });
          if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
          const h = createHash('sha256');
          const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
          body.on('data', (c: Buffer) => h.update(c));
          await pipeline(body, createWriteStream(tmp));
          const got = h.digest('hex');
          if (a.sha256 && got !== a.sha256) throw new Error(`checksum mismatch (${got} != ${a.sha256})`);
          await fs.rename(tmp, path);
        } catch (e) {
          await fs.rm(tmp, { force: true });
          throw new Error(`image ${a.id}: download failed: ${(e as Error).message}`);
        }
      }
      stamp = stampOf(await fs.stat(path));
    } else {
      throw new Error(`image ${a.id}: neither a url nor a path`);
    }
    if (!disk) return { artifact: { path, format: 'raw' }, stamp };
    let probed: string;
    try {
      probed = await this.probe(path);
    } catch (e) {
      throw new Error(`image ${a.id}: not a readable disk image: ${((e as { stderr?: string }).stderr ?? (e as Error).message).trim()}`);
    }
    const format = a.format ?? probed;
    if (format !== 'raw' && format !== 'qcow2') throw new Error(`image ${a.id}: unsupported disk format ${format}`);
    if (a.format && a.format !== probed && !(a.format === 'raw')) throw new Error(`image ${a.id}: declared ${a.format} but is ${probed}`);
    return { artifact: { path, format }, stamp };
  }
}

async function qemuImgFormat(path: string): Promise<string> {
  const { stdout } = await pexec('qemu-img', ['info', '--output=json', path]);
  return (JSON.parse(stdout) as { format: string }).format;
}

async function sha256File(p: string): Promise<string> {
  const h = createHash('sha256');
  const fh = await fs.open(p);
  try {
    for await (const c of fh.createReadStream()) h.update(c as Buffer);
  } finally {
    await fh.close().catch(() => undefined);
  }
  return h.digest('hex');
}
