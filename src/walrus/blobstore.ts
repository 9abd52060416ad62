/**
 * @module walrus/blobstore
 * Where object bytes live. A blob is an immutable byte string named by a random id; objects and multipart parts
 * reference blobs from the database. `FsBlobStore` keeps each blob as one file under `<dir>/blobs/xx/<id>`:
 *
 * - `write` streams the source into `<dir>/tmp/<random>` (never buffering it whole), hashing MD5 (and SHA-256) on
 *   worker threads from what was written (`FileHasher`) and any other requested checksums on the way, then `fsync`s the file, renames it into place and `fsync`s the directory. Only then does
 *   the caller commit the database row that names the blob, so a committed row always points at durable bytes.
 * - A blob is never modified; a new version of an object is a new blob. Readers open the file(s) before they send a
 *   byte, so a concurrent overwrite or delete cannot make them see a partial or mixed object (unlinked files stay
 *   readable through open descriptors).
 * - Crash leftovers: temporary files (removed by `sweepTemp` at startup) and blobs written but never committed
 *   (removed by `collectGarbage` given the set of referenced ids).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { AwsError } from '../shared/index.js';
import { FileHasher } from './hasher.js';

/** An incremental checksum (CRC32, CRC32C, CRC64NVME, SHA1, SHA256 ...): `digest` returns base64, as S3 sends it. */
export interface Checksummer {
  update(chunk: Uint8Array): void;
  digest(): string;
}

export interface BlobWriteOptions {
  /** Extra checksums to compute while streaming, by algorithm name. */
  checksums?: Record<string, Checksummer>;
  /** Refuse (EntityTooLarge) once more than this many bytes arrive. */
  maxSize?: number;
  /** Also compute SHA-256 (hex) of the bytes (for `x-amz-content-sha256` checks). */
  sha256?: boolean;
}

export interface BlobWriteResult {
  blobId: string;
  size: number;
  /** MD5 of the bytes, hex. */
  md5: string;
  /** SHA-256, hex, when asked for. */
  sha256?: string;
  /** Each requested checksum, base64. */
  checksums: Record<string, string>;
}

/** An opened blob: reading it is unaffected by a later delete. */
export interface BlobHandle {
  readonly size: number;
  /** Reads up to `length` bytes at `position` into `buffer`; returns how many were read (0 at the end). */
  read(buffer: Buffer, position: number, length?: number): Promise<number>;
  /** Reads bytes [start, end] (inclusive) into memory and closes the handle: for small reads only. */
  readAll(start?: number, end?: number): Promise<Buffer>;
  /** Streams bytes [start, end] (inclusive); the handle is closed when the stream ends or is destroyed. */
  stream(start?: number, end?: number): Readable;
  close(): Promise<void>;
}

export interface BlobStore {
  /** Streams `source` into a new durable blob. On any error nothing is left behind. */
  write(source: AsyncIterable<Uint8Array>, opts?: BlobWriteOptions): Promise<BlobWriteResult>;
  /**
   * Stores a small, already verified byte string durably with group commit: writes arriving together share one pack
   * file and one fsync. Returns its blob id. Space of deleted packed blobs comes back when `collectGarbage` finds
   * a pack no row references any more.
   */
  writeSmall?(data: Buffer): Promise<string>;
  /** Opens a blob for reading; throws if it does not exist. `size` (known from the database) saves a stat. */
  open(blobId: string, size?: number): Promise<BlobHandle>;
  /** Removes a blob; removing a missing blob is not an error. */
  delete(blobId: string): Promise<void>;
  /** Removes temporary files left by a crash; returns how many. Run at startup, before serving. */
  sweepTemp(): Promise<number>;
  /** Removes every blob not in `referenced` and older than `minAgeMs` (not being committed right now). */
  collectGarbage(referenced: (blobId: string) => Promise<boolean> | boolean, minAgeMs?: number): Promise<number>;
  /** Releases open resources (the spare pack, directory handles). */
  close?(): Promise<void>;
  /** Path of the blob's file, for zero-copy serving; undefined for non-file backends. */
  pathOf?(blobId: string): string;
}

const ID = /^[0-9a-f]{32}$/;
/** A blob inside a pack file: `<pack id>.<offset>.<length>`. */
const PACKED = /^([0-9a-f]{32})\.(\d{1,15})\.(\d{1,15})$/;
/** Bytes kept in the database with their version row (`walrus_inline`), not in the blob store. */
const INLINE = /^i[0-9a-f]{32}$/;

export function isInlineBlob(blobId: string): boolean {
  return INLINE.test(blobId);
}

/**
 * A blob already in memory (an inline one), with the `BlobHandle` interface (a class: one is made per small GET, and
 * methods on its prototype cost nothing per handle).
 */
class MemoryBlobHandle implements BlobHandle {
  constructor(private readonly data: Buffer) {}

  get size(): number {
    return this.data.length;
  }

  read(buffer: Buffer, position: number, length = buffer.length): Promise<number> {
    const d = this.data;
    return Promise.resolve(position >= d.length ? 0 : d.copy(buffer, 0, position, Math.min(d.length, position + length)));
  }

  readAll(start = 0, end = this.data.length - 1): Promise<Buffer> {
    return Promise.resolve(this.data.subarray(start, Math.max(end + 1, start)));
  }

  stream(start = 0, end = this.data.length - 1): Readable {
    return Readable.from(end < start ? [] : [this.data.subarray(start, end + 1)]);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export function memoryBlobHandle(data: Buffer): BlobHandle {
  return new MemoryBlobHandle(data);
}

/** Most blobs one pack takes (writev's iovec limit is 1024). */
const PACK_BATCH = 512;

/** The file a blob id lives in: itself, or its pack. */
export function blobFileId(blobId: string): string {
  const m = PACKED.exec(blobId);
  return m ? m[1]! : blobId;
}
const BATCH = 1 << 20; // write in ~1 MiB batches
/** Writes (and the background datasync) a blob write keeps in flight before it waits for the oldest. */
const WRITES_IN_FLIGHT = 4;
/** Start writing back every this many bytes while the upload continues, so the final fsync finds little to do. */
const SYNC_EVERY = 32 << 20;


export class FsBlobStore implements BlobStore {
  readonly dir: string;
  private readonly tmpDir: string;
  private readonly blobDir: string;
  private readonly made = new Set<string>();
  /** Open directory handles, for fsync after a rename without an open/close each time. */
  private readonly dirHandles = new Map<string, Promise<FileHandle>>();

  private async fsyncDir(dir: string): Promise<void> {
    let h = this.dirHandles.get(dir);
    if (!h) {
      h = open(dir, 'r');
      this.dirHandles.set(dir, h);
      h.catch(() => this.dirHandles.delete(dir));
    }
    await (await h).sync();
  }

  private constructor(dir: string) {
    this.dir = dir;
    this.tmpDir = join(dir, 'tmp');
    this.blobDir = join(dir, 'blobs');
  }

  /** Opens (creating if needed) a store rooted at `dir`. Call `sweepTemp()` before serving. */
  static async create(dir: string): Promise<FsBlobStore> {
    const s = new FsBlobStore(dir);
    await mkdir(s.tmpDir, { recursive: true });
    await mkdir(s.blobDir, { recursive: true });
    return s;
  }

  pathOf(blobId: string): string {
    if (!ID.test(blobId)) throw new Error(`bad blob id ${blobId}${PACKED.test(blobId) ? ' (a packed small object has no file of its own)' : ''}`);
    return join(this.blobDir, blobId.slice(0, 2), blobId);
  }

  async write(source: AsyncIterable<Uint8Array>, opts: BlobWriteOptions = {}): Promise<BlobWriteResult> {
    const blobId = randomBytes(16).toString('hex');
    const tmp = join(this.tmpDir, `${blobId}.part`);
    const extra = Object.entries(opts.checksums ?? {});
    const max = opts.maxSize ?? Number.MAX_SAFE_INTEGER;
    let fh: FileHandle | undefined;
    let hasher: FileHasher | undefined;
    let size = 0;
    let md5 = '';
    let sha256: string | undefined;
    const inflight: Promise<unknown>[] = [];
    try {
      // read and write: the hash workers read back what was written (see FileHasher)
      fh = await open(tmp, 'wx+', 0o600);
      const h = new FileHasher(fh.fd, opts.sha256 ? ['md5', 'sha256'] : ['md5']);
      hasher = h;
      let batch: Uint8Array[] = [];
      let batchBytes = 0;
      let written = 0;
      let syncing: Promise<unknown> | undefined;
      let unsynced = 0;
      let posted: Promise<void> = Promise.resolve();
      const handle = fh;
      const flush = async () => {
        if (batchBytes === 0) return;
        // positioned writes, several in flight: receiving goes on while the page cache (or a busy disk) takes them
        while (inflight.length >= WRITES_IN_FLIGHT) await inflight.shift();
        const bufs = batch;
        const from = written;
        const len = batchBytes;
        written += len;
        unsynced += len;
        batch = [];
        batchBytes = 0;
        const w = handle.writev(bufs, from).then((r) => {
          if (r.bytesWritten !== len) throw new Error(`short write (${r.bytesWritten} of ${len} bytes)`);
        });
        // the hasher gets the ranges in file order, each once it is written
        const p = Promise.all([w, posted]).then(() => h.written(from, from + len));
        p.catch(() => undefined);
        posted = p;
        inflight.push(p);
        if (unsynced >= SYNC_EVERY && !syncing) {
          // overlap disk writeback with receiving: a background datasync once this much was written, never more than
          // one at a time, and receiving never waits for it (a slow disk just gets fewer of them)
          unsynced = 0;
          const sy = handle.datasync().finally(() => { if (syncing === sy) syncing = undefined; });
          sy.catch(() => undefined);
          syncing = sy;
          inflight.push(sy.then(() => undefined));
        }
      };
      for await (const chunk of source) {
        if (chunk.length === 0) continue;
        size += chunk.length;
        if (size > max) {
          throw new AwsError('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
        }
        for (const [, c] of extra) c.update(chunk);
        batch.push(chunk);
        batchBytes += chunk.length;
        if (batchBytes >= BATCH) await flush();
      }
      await flush();
      while (inflight.length) await inflight.shift();
      const [digests] = await Promise.all([h.digest(), fh.sync()]);
      hasher = undefined;
      md5 = digests[0]!;
      sha256 = digests[1];
      await fh.close();
      fh = undefined;
      const final = this.pathOf(blobId);
      const sub = join(this.blobDir, blobId.slice(0, 2));
      if (!this.made.has(sub)) {
        await mkdir(sub, { recursive: true });
        this.made.add(sub);
      }
      await rename(tmp, final);
      await this.fsyncDir(sub);
    } catch (e) {
      // nothing may still use the descriptor when it closes (a reused number would be another file)
      await Promise.allSettled(inflight);
      if (hasher) await hasher.digest().catch(() => undefined);
      if (fh) await fh.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    const checksums: Record<string, string> = {};
    for (const [name, c] of extra) checksums[name] = c.digest();
    return { blobId, size, md5, ...(sha256 !== undefined ? { sha256 } : {}), checksums };
  }

  private readonly packQueue: { data: Buffer; resolve: (id: string) => void; reject: (e: unknown) => void }[] = [];
  private packing = false;

  async writeSmall(data: Buffer): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.packQueue.push({ data, resolve, reject });
      if (!this.packing) void this.flushPacks();
    });
  }

  /**
   * The next pack file, created (and its directory entry made durable) ahead of need, so that committing a batch
   * costs one fsync of the pack alone. An unused or half-written pack is unreferenced and collected as garbage.
   */
  private spare: Promise<{ packId: string; fh: FileHandle }> | undefined;
  /** Packs created but not yet written: never garbage, whatever their age. */
  private readonly reserved = new Set<string>();

  private async createPack(): Promise<{ packId: string; fh: FileHandle }> {
    const packId = randomBytes(16).toString('hex');
    this.reserved.add(packId);
    const sub = join(this.blobDir, packId.slice(0, 2));
    if (!this.made.has(sub)) {
      await mkdir(sub, { recursive: true });
      this.made.add(sub);
    }
    const fh = await open(this.pathOf(packId), 'wx', 0o600);
    try {
      await this.fsyncDir(sub);
    } catch (e) {
      await fh.close();
      throw e;
    }
    return { packId, fh };
  }

  private takePack(): Promise<{ packId: string; fh: FileHandle }> {
    const p = this.spare ?? this.createPack();
    this.spare = this.createPack();
    this.spare.catch(() => { this.spare = undefined; });
    return p;
  }

  /** Group commit: whatever queued while the previous pack was being synced goes into the next pack. */
  private async flushPacks(): Promise<void> {
    this.packing = true;
    try {
      while (this.packQueue.length) {
        const batch = this.packQueue.splice(0, PACK_BATCH);
        try {
          const { packId, fh } = await this.takePack();
          try {
            await fh.writev(batch.map((b) => b.data), 0);
            await fh.sync();
          } finally {
            await fh.close();
            this.reserved.delete(packId);
          }
          let off = 0;
          for (const b of batch) {
            b.resolve(`${packId}.${off}.${b.data.length}`);
            off += b.data.length;
          }
        } catch (e) {
          for (const b of batch) b.reject(e);
        }
      }
    } finally {
      this.packing = false;
    }
  }

  async open(blobId: string, knownSize?: number): Promise<BlobHandle> {
    const packed = PACKED.exec(blobId);
    const fh = await open(this.pathOf(packed ? packed[1]! : blobId), 'r');
    const base = packed ? Number(packed[2]) : 0;
    const size = packed ? Number(packed[3]) : knownSize ?? (await fh.stat()).size;
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await fh.close();
    };
    return {
      size,
      close,
      read: async (buffer, position, length = buffer.length) => {
        const n = Math.min(length, size - position);
        return n <= 0 ? 0 : (await fh.read(buffer, 0, n, base + position)).bytesRead;
      },
      readAll: async (start = 0, end = size - 1) => {
        try {
          const len = Math.max(end - start + 1, 0);
          const buf = Buffer.allocUnsafe(len);
          let off = 0;
          while (off < len) {
            const { bytesRead } = await fh.read(buf, off, len - off, base + start + off);
            if (bytesRead === 0) break;
            off += bytesRead;
          }
          return buf.subarray(0, off);
        } finally {
          await close();
        }
      },
      stream: (start = 0, end = size - 1) => {
        closed = true; // the stream owns the descriptor now
        if (end < start) {
          // an empty range: a stream that ends at once, after releasing the descriptor
          void fh.close();
          return Readable.from([]);
        }
        return createReadStream('', { fd: fh, start: base + start, end: base + Math.min(end, size - 1), highWaterMark: 1 << 20, autoClose: true });
      },
    };
  }

  async close(): Promise<void> {
    const spare = this.spare;
    this.spare = undefined;
    if (spare) {
      const r = await spare.catch(() => undefined);
      if (r) {
        await r.fh.close().catch(() => undefined);
        await unlink(this.pathOf(r.packId)).catch(() => undefined);
        this.reserved.delete(r.packId);
      }
    }
    for (const h of this.dirHandles.values()) await (await h.catch(() => undefined))?.close().catch(() => undefined);
    this.dirHandles.clear();
  }

  async delete(blobId: string): Promise<void> {
    // packed blobs share their file: it goes when collectGarbage finds the pack unreferenced
    if (!ID.test(blobId)) return;
    await unlink(this.pathOf(blobId)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }

  async sweepTemp(): Promise<number> {
    let n = 0;
    for (const name of await readdir(this.tmpDir)) {
      await rm(join(this.tmpDir, name), { force: true, recursive: true });
      n++;
    }
    return n;
  }

  async collectGarbage(referenced: (blobId: string) => Promise<boolean> | boolean, minAgeMs = 60 * 60_000): Promise<number> {
    let n = 0;
    const now = Date.now();
    for (const sub of await readdir(this.blobDir)) {
      const d = join(this.blobDir, sub);
      let names: string[];
      try {
        names = await readdir(d);
      } catch {
        continue;
      }
      for (const name of names) {
        if (!ID.test(name) || this.reserved.has(name)) continue;
        if (await referenced(name)) continue;
        const p = join(d, name);
        const st = await stat(p).catch(() => undefined);
        if (!st || now - st.mtimeMs < minAgeMs) continue;
        await unlink(p).catch(() => undefined);
        n++;
      }
    }
    return n;
  }
}
