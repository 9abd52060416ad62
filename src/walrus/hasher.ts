/**
 * @module walrus/hasher
 * MD5 (and SHA-256) of what a blob write has already put into its file, computed on worker threads: a worker reads
 * each written range back through the same descriptor (from the page cache) and hashes it. Hashing a large upload
 * then runs on another core beside receiving it, and the event loop neither hashes nor copies for it.
 *
 * Ranges are posted in file order after their write completed; the caller keeps the descriptor open (and readable)
 * until `digest` settles, also when it gives up on the write (so a worker never reads a descriptor closed meanwhile).
 */
import { Worker } from 'node:worker_threads';

/** The worker's program (plain CommonJS: it loads nothing of ours). */
const PROGRAM = `
const { parentPort } = require('node:worker_threads');
const { readSync } = require('node:fs');
const { createHash } = require('node:crypto');
const sessions = new Map();
const buf = Buffer.allocUnsafe(1 << 20);
parentPort.on('message', (m) => {
  const s = sessions.get(m.id);
  if (m.op === 'open') { sessions.set(m.id, { hashes: m.algos.map((a) => createHash(a)) }); return; }
  if (!s) return;
  if (m.op === 'digest') {
    sessions.delete(m.id);
    parentPort.postMessage(s.error ? { id: m.id, error: s.error } : { id: m.id, digests: s.hashes.map((h) => h.digest('hex')) });
    return;
  }
  if (s.error) return;
  try {
    let pos = m.start;
    while (pos < m.end) {
      const n = readSync(m.fd, buf, 0, Math.min(buf.length, m.end - pos), pos);
      if (n === 0) throw new Error('the file is shorter than what was written');
      const v = n === buf.length ? buf : buf.subarray(0, n);
      for (const h of s.hashes) h.update(v);
      pos += n;
    }
  } catch (e) {
    s.error = String((e && e.message) || e);
  }
});
`;

const POOL = 2;

interface PoolWorker {
  worker: Worker;
  pending: Map<number, { resolve: (d: string[]) => void; reject: (e: Error) => void }>;
  open: number;
}

const pool: (PoolWorker | undefined)[] = [];
let rr = 0;
let ids = 0;

function start(slot: number): PoolWorker {
  const worker = new Worker(PROGRAM, { eval: true });
  worker.unref();
  const pw: PoolWorker = { worker, pending: new Map(), open: 0 };
  worker.on('message', (m: { id: number; digests?: string[]; error?: string }) => {
    const p = pw.pending.get(m.id);
    if (!p) return;
    pw.pending.delete(m.id);
    if (m.digests) p.resolve(m.digests);
    else p.reject(new Error(`hashing failed: ${m.error}`));
  });
  const fail = (e: unknown) => {
    if (pool[slot] === pw) pool[slot] = undefined;
    for (const p of pw.pending.values()) p.reject(e instanceof Error ? e : new Error(String(e)));
    pw.pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`hash worker exited (${code})`)));
  return pw;
}

/** Hashes of one file being written, computed off the event loop. */
export class FileHasher {
  private readonly id = ++ids;
  private readonly pw: PoolWorker;
  private closed = false;
  private result: Promise<string[]> | undefined;

  /** `algos`: node:crypto hash names, e.g. ['md5', 'sha256']. */
  constructor(private readonly fd: number, algos: string[]) {
    const slot = rr++ % POOL;
    this.pw = pool[slot] ?? (pool[slot] = start(slot));
    if (this.pw.open++ === 0) this.pw.worker.ref(); // keep the process alive while a digest is owed
    this.pw.worker.postMessage({ op: 'open', id: this.id, algos });
  }

  /** Bytes [start, end) of the file are written: hash them next. */
  written(start: number, end: number): void {
    if (end > start) this.pw.worker.postMessage({ op: 'range', id: this.id, fd: this.fd, start, end });
  }

  /** The hex digests, in the order of `algos`, once every posted range is hashed (the same promise on every call). */
  digest(): Promise<string[]> {
    if (!this.result) {
      const p = new Promise<string[]>((resolve, reject) => this.pw.pending.set(this.id, { resolve, reject }));
      this.pw.worker.postMessage({ op: 'digest', id: this.id });
      this.result = p.finally(() => this.release());
    }
    return this.result;
  }

  private release(): void {
    if (this.closed) return;
    this.closed = true;
    if (--this.pw.open === 0) this.pw.worker.unref();
  }
}
