/**
 * @module nc/image-cache
 * The node's cache of image artifacts (root disks, kernels, ramdisks), fetched at most once each: from a URL
 * (HTTP GET, e.g. a presigned Walrus URL) into `<dir>/<id>`, checked against its SHA-256 when given; or used in
 * place when it is a local path. Root disk formats are probed with `qemu-img info` unless given.
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

export class ImageCache {
  private readonly inflight = new Map<string, Promise<CachedArtifact>>();

  constructor(private readonly dir: string) {}

  /** The local file of an artifact, fetching it when needed. `disk` probes/validates the disk format. */
  get(a: ImageArtifact, disk: boolean): Promise<CachedArtifact> {
    const key = `${a.id}:${a.sha256 ?? ''}:${a.path ?? a.url ?? ''}`;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.fetch(a, disk);
      this.inflight.set(key, p);
      void p.catch(() => undefined).finally(() => this.inflight.delete(key));
    }
    return p;
  }

  private async fetch(a: ImageArtifact, disk: boolean): Promise<CachedArtifact> {
    let path: string;
    if (a.path) {
      path = a.path;
      try {
        await fs.access(path);
      } catch {
        throw new Error(`image ${a.id}: ${path} does not exist on this node`);
      }
      if (a.sha256) {
        const marker = join(this.dir, `${a.id}.verified`);
        const st = await fs.stat(path);
        const stamp = `${a.sha256} ${st.size} ${st.mtimeMs}`;
        if ((await fs.readFile(marker, 'utf8').catch(() => '')) !== stamp) {
          const got = await sha256File(path);
          if (got !== a.sha256) throw new Error(`image ${a.id}: checksum mismatch (${got} != ${a.sha256})`);
          await fs.mkdir(this.dir, { recursive: true });
          await fs.writeFile(marker, stamp);
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
    } else {
      throw new Error(`image ${a.id}: neither a url nor a path`);
    }
    if (!disk) return { path, format: 'raw' };
    let probed: string;
    try {
      const { stdout } = await pexec('qemu-img', ['info', '--output=json', path]);
      probed = (JSON.parse(stdout) as { format: string }).format;
    } catch (e) {
      throw new Error(`image ${a.id}: not a readable disk image: ${((e as { stderr?: string }).stderr ?? (e as Error).message).trim()}`);
    }
    const format = a.format ?? probed;
    if (format !== 'raw' && format !== 'qcow2') throw new Error(`image ${a.id}: unsupported disk format ${format}`);
    if (a.format && a.format !== probed && !(a.format === 'raw')) throw new Error(`image ${a.id}: declared ${a.format} but is ${probed}`);
    return { path, format };
  }
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
