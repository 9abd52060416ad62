/** Shared by the benchmarks that drive wrk: its summary (with --latency) parsed into numbers. */
export interface WrkSummary { rps: number; p50: number; p99: number; non2xx: number; requests: number }

/** Parses wrk's output: requests/s, p50 and p99 in ms, non-2xx/3xx responses, total requests. */
export function parseWrk(out: string): WrkSummary {
  const ms = (s: string): number => {
    const m = /([\d.]+)(us|ms|s)/.exec(s);
    if (!m) return NaN;
    const v = Number(m[1]);
    return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
  };
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50: ms(/\n\s+50%\s+(\S+)/.exec(out)?.[1] ?? ''),
    p99: ms(/\n\s+99%\s+(\S+)/.exec(out)?.[1] ?? ''),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? 0),
  };
}
