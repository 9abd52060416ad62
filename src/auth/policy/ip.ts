/**
 * @module auth/policy/ip
 * IPv4 and IPv6 addresses and CIDR ranges for `IpAddress`/`NotIpAddress`. IPv4-mapped IPv6 addresses
 * (`::ffff:10.0.0.1`, as Node reports IPv4 clients on a dual-stack socket) compare as IPv4.
 */

export interface Cidr {
  v: 4 | 6;
  net: bigint;
  bits: number;
  /** Precomputed mask; and for IPv4, the network and mask as 32-bit numbers (no BigInt on the hot path). */
  mask: bigint;
  net4: number;
  mask4: number;
}

export interface ParsedIp {
  v: 4 | 6;
  n: bigint;
}

let lastText = '';
let lastParsed: ParsedIp | null = null;

function parseV4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const x = Number(p);
    if (x > 255) return null;
    n = (n << 8n) | BigInt(x);
  }
  return n;
}

function parseV6(s: string): bigint | null {
  if (s.includes('%')) s = s.slice(0, s.indexOf('%'));
  let tail4: bigint | null = null;
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.slice(lastColon + 1).includes('.')) {
    tail4 = parseV4(s.slice(lastColon + 1));
    if (tail4 === null) return null;
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = s.split('::');
  if (dbl.length > 2) return null;
  const head = dbl[0] ? dbl[0].split(':') : [];
  const tail = dbl.length === 2 && dbl[1] ? dbl[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (dbl.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(dbl.length === 2 ? missing : 0).fill('0'), ...tail];
  let n = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  if (tail4 !== null) n = (n & ~0xffffffffn) | tail4;
  return n;
}

const MAPPED_PREFIX = 0xffffn << 32n;

/** Parses an address; IPv4-mapped IPv6 becomes IPv4. The last answer is remembered (one request, many conditions). */
export function parseIp(s: string): ParsedIp | null {
  if (s === lastText) return lastParsed;
  const r = parseIpUncached(s);
  lastText = s;
  lastParsed = r;
  return r;
}

function parseIpUncached(s: string): ParsedIp | null {
  s = s.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (!s.includes(':')) {
    const n = parseV4(s);
    return n === null ? null : { v: 4, n };
  }
  const n = parseV6(s);
  if (n === null) return null;
  if (n >> 32n === 0xffffn && (n & ~0xffffffffn) === MAPPED_PREFIX) return { v: 4, n: n & 0xffffffffn };
  return { v: 6, n };
}

/** Parses `a.b.c.d/n`, `x::y/n` or a bare address (a /32 or /128). */
export function parseCidr(s: string): Cidr | null {
  const slash = s.indexOf('/');
  const addr = parseIp(slash < 0 ? s : s.slice(0, slash));
  if (!addr) return null;
  const mapped = addr.v === 4 && (slash < 0 ? s : s.slice(0, slash)).includes(':');
  const max = addr.v === 4 && !mapped ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const b = s.slice(slash + 1).trim();
    if (!/^\d{1,3}$/.test(b)) return null;
    bits = Number(b);
    if (bits > max) return null;
  }
  if (mapped) {
    // an IPv4-mapped range with an IPv6 prefix length: translate to IPv4
    if (bits < 96) return null;
    bits -= 96;
  }
  const width = BigInt(addr.v === 4 ? 32 : 128);
  const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << (width - BigInt(bits));
  const net = addr.n & mask;
  return { v: addr.v, net, bits, mask, net4: addr.v === 4 ? Number(net) : 0, mask4: addr.v === 4 ? Number(mask) : 0 };
}

export function cidrContains(c: Cidr, ip: ParsedIp): boolean {
  if (c.v !== ip.v) return false;
  if (c.v === 4) return ((Number(ip.n) & c.mask4) >>> 0) === c.net4;
  return (ip.n & c.mask) === c.net;
}

/** `::ffff:1.2.3.4` → `1.2.3.4`; other addresses unchanged. */
export function normalizeIp(s: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
  return m ? m[1]! : s;
}
