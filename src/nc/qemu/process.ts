/**
 * @module nc/qemu/process
 * The OS edge of process supervision: start a program detached (its own session, so it survives the NC, even a
 * `kill -9`), recognise a PID as ours by its command line (PIDs get reused), wait for exit (a zombie counts as
 * gone: after an NC restart the process is no longer our child and its new parent may reap it late), kill.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';

export interface Started {
  pid: number;
  /** Resolves with the exit code when the process exits (only while this NC is its parent). */
  exited: Promise<number | null>;
}

export interface ProcessRunner {
  startDetached(cmd: string, args: string[], logFile: string): Started;
  /** True when `pid` runs (not a zombie) and its command line contains `marker`. */
  isOurs(pid: number, marker: string): boolean;
  kill(pid: number, signal: NodeJS.Signals): void;
}

export function procState(pid: number): string | undefined {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

export function procCmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

export const osProcessRunner: ProcessRunner = {
  startDetached(cmd, args, logFile) {
    const fd = openSync(logFile, 'a');
    try {
      const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd] });
      const exited = new Promise<number | null>((resolve) => {
        child.once('exit', (code) => resolve(code));
        child.once('error', () => resolve(-1));
      });
      child.unref();
      if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
      return { pid: child.pid, exited };
    } finally {
      closeSync(fd);
    }
  },
  isOurs(pid, marker) {
    const st = procState(pid);
    if (!st || st === 'Z' || st === 'X') return false;
    return procCmdline(pid)?.includes(marker) ?? false;
  },
  kill(pid, signal) {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  },
};

/** Polls until `pid` is no longer ours (exited or zombie), up to `timeoutMs`. Returns true when gone. */
export async function waitGone(runner: ProcessRunner, pid: number, marker: string, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (runner.isOurs(pid, marker)) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}
