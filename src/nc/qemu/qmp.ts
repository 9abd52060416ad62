/**
 * @module nc/qemu/qmp
 * A QMP client over a unix socket: negotiates capabilities, sends commands with an `id` and matches replies by it,
 * delivers asynchronous events to listeners, and reports when the socket closes (QEMU exited).
 */
import { connect, type Socket } from 'node:net';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export class QmpError extends Error {
  constructor(readonly command: string, readonly qmpClass: string, desc: string) {
    super(`QMP ${command}: ${qmpClass}: ${desc}`);
    this.name = 'QmpError';
  }
}

/** The QMP operations a driver needs; QemuDriver takes this interface so tests can observe it. */
export interface Qmp {
  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  onEvent(l: (e: QmpEvent) => void): () => void;
  /** Resolves when the connection closes (QEMU exited or closed the monitor). */
  readonly closed: Promise<void>;
  close(): void;
}

export class QmpClient implements Qmp {
  private buf = '';
  private nextId = 1;
  private pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void; cmd: string; timer: NodeJS.Timeout }>();
  private listeners = new Set<(e: QmpEvent) => void>();
  readonly closed: Promise<void>;
  private isClosed = false;

  private constructor(private readonly sock: Socket) {
    this.closed = new Promise((resolve) => {
      sock.on('close', () => {
        this.isClosed = true;
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(new Error(`QMP ${p.cmd}: connection closed`));
        }
        this.pending.clear();
        resolve();
      });
    });
    sock.on('error', () => undefined);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
  }

  /** Connects and negotiates; retries while the socket does not exist yet, up to `timeoutMs`. */
  static async connect(path: string, timeoutMs = 10_000): Promise<QmpClient> {
    const end = Date.now() + timeoutMs;
    let lastErr: unknown;
    while (Date.now() < end) {
      try {
        const c = await QmpClient.tryConnect(path, Math.max(100, end - Date.now()));
        await c.execute('qmp_capabilities');
        return c;
      } catch (e) {
        lastErr = e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`QMP connect ${path}: ${(lastErr as Error)?.message ?? 'timeout'}`);
  }

  private static tryConnect(path: string, timeoutMs: number): Promise<QmpClient> {
    return new Promise((resolve, reject) => {
      const sock = connect(path);
      let greeting = '';
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error('no QMP greeting'));
      }, timeoutMs);
      const onData = (d: Buffer) => {
        greeting += d.toString('utf8');
        const nl = greeting.indexOf('\n');
        if (nl < 0) return;
        clearTimeout(timer);
        sock.off('data', onData);
        sock.off('error', onErr);
        const client = new QmpClient(sock);
        const rest = greeting.slice(nl + 1);
        if (rest) client.onData(rest);
        resolve(client);
      };
      const onErr = (e: Error) => {
        clearTimeout(timer);
        reject(e);
      };
      sock.on('data', onData);
      sock.once('error', onErr);
    });
  }

  private onData(d: string): void {
    this.buf += d;
    let i: number;
    while ((i = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, i).trim();
      this.buf = this.buf.slice(i + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (typeof msg.event === 'string') {
        for (const l of this.listeners) l(msg as unknown as QmpEvent);
        continue;
      }
      const id = typeof msg.id === 'string' ? msg.id : undefined;
      const p = id ? this.pending.get(id) : undefined;
      if (!p || !id) continue;
      this.pending.delete(id);
      clearTimeout(p.timer);
      if (msg.error) {
        const err = msg.error as { class?: string; desc?: string };
        p.reject(new QmpError(p.cmd, err.class ?? 'GenericError', err.desc ?? 'error'));
      } else p.resolve(msg.return);
    }
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = 15_000): Promise<T> {
    if (this.isClosed) return Promise.reject(new Error(`QMP ${command}: connection closed`));
    const id = String(this.nextId++);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`QMP ${command}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, cmd: command, timer });
      this.sock.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id }) + '\n');
    });
  }

  onEvent(l: (e: QmpEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  close(): void {
    this.sock.destroy();
  }
}
