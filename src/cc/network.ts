/**
 * @module cc/network
 * Private address allocation for one zone: IPv4 addresses from the zone's private subnet and MAC addresses with
 * Eucalyptus's `d0:0d` prefix (`cloud.vmstate.mac_prefix`), derived from the address so each is unique while its
 * address is. Pure: the pool is a value the CC keeps and persists; nothing here touches the OS.
 */

export interface SubnetSpec {
  /** Network address, e.g. `10.11.0.0`. */
  network: string;
  prefix: number;
}

export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new Error(`bad IPv4 address ${ip}`);
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!/^\d{1,3}$/.test(p) || v > 255) throw new Error(`bad IPv4 address ${ip}`);
    n = n * 256 + v;
  }
  return n;
}

export function intToIp(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(cidr: string): SubnetSpec {
  const [net, len] = cidr.split('/');
  const prefix = Number(len);
  if (!net || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) throw new Error(`bad CIDR ${cidr}`);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { network: intToIp((ipToInt(net) & mask) >>> 0), prefix };
}

/**
 * The addresses instances may get: the subnet minus the network address, the gateway (first host, the NC's bridge),
 * the metadata/DHCP helpers (the next one), and the broadcast address.
 */
export function usableRange(s: SubnetSpec): { first: number; last: number; gateway: string } {
  const base = ipToInt(s.network);
  const size = 2 ** (32 - s.prefix);
  return { first: base + 2, last: base + size - 2, gateway: intToIp(base + 1) };
}

export const MAC_PREFIX = 'd0:0d';

/** `d0:0d:` + the four address octets in hex. */
export function macForIp(ip: string): string {
  const n = ipToInt(ip);
  const hex = n.toString(16).padStart(8, '0');
  return `${MAC_PREFIX}:${hex.match(/../g)!.join(':')}`;
}

/** An allocation table: address → owner (instance id). Kept as a plain object so it serialises as JSON. */
export type AddressTable = Record<string, string>;

/**
 * Allocates `count` addresses for `owners`, lowest free first (after `hint` when given, so addresses are not reused
 * immediately). Returns the new table and the addresses, or undefined when the subnet has not enough free addresses.
 * An owner that already holds an address keeps it (idempotent).
 */
export function allocate(
  table: AddressTable,
  subnet: SubnetSpec,
  owners: readonly string[],
  hint?: string,
): { table: AddressTable; addresses: string[] } | undefined {
  const next: AddressTable = { ...table };
  const held = new Map<string, string>();
  for (const [ip, owner] of Object.entries(table)) held.set(owner, ip);
  const { first, last } = usableRange(subnet);
  const span = last - first + 1;
  let cursor = hint ? Math.max(0, ipToInt(hint) - first + 1) % span : 0;
  const addresses: string[] = [];
  for (const owner of owners) {
    const existing = held.get(owner);
    if (existing) {
      addresses.push(existing);
      continue;
    }
    let found: string | undefined;
    for (let tries = 0; tries < span; tries++) {
      const ip = intToIp(first + ((cursor + tries) % span));
      if (!next[ip]) {
        found = ip;
        cursor = (cursor + tries + 1) % span;
        break;
      }
    }
    if (!found) return undefined;
    next[found] = owner;
    held.set(owner, found);
    addresses.push(found);
  }
  return { table: next, addresses };
}

/** Frees every address held by `owners`. */
export function release(table: AddressTable, owners: readonly string[]): AddressTable {
  const drop = new Set(owners);
  const next: AddressTable = {};
  for (const [ip, owner] of Object.entries(table)) if (!drop.has(owner)) next[ip] = owner;
  return next;
}
