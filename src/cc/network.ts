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

/** An allocation table: address → owner (instance id), as it is persisted (a plain object serialises as JSON). */
export type AddressTable = Record<string, string>;

/**
 * The zone's allocated addresses, indexed both ways so that allocating and releasing cost O(1) however many
 * instances the zone holds. One address per owner: assigning another one to an owner frees its old one.
 */
export class AddressPool {
  private readonly byIp = new Map<string, string>();
  private readonly byOwner = new Map<string, string>();

  constructor(table: AddressTable = {}) {
    for (const [ip, owner] of Object.entries(table)) this.assign(ip, owner);
  }

  get size(): number {
    return this.byIp.size;
  }

  ownerOf(ip: string): string | undefined {
    return this.byIp.get(ip);
  }

  addressOf(owner: string): string | undefined {
    return this.byOwner.get(owner);
  }

  /** Records that `owner` holds `ip` (a node's report, a re-sent launch); the caller checks `ownerOf(ip)` first. */
  assign(ip: string, owner: string): void {
    const old = this.byOwner.get(owner);
    if (old !== undefined && old !== ip) this.byIp.delete(old);
    const prev = this.byIp.get(ip);
    if (prev !== undefined && prev !== owner) this.byOwner.delete(prev);
    this.byIp.set(ip, owner);
    this.byOwner.set(owner, ip);
  }

  /**
   * An address for `owner` in `subnet`: the one it holds already (idempotent), else the lowest free one after `hint`
   * (so addresses are not reused at once). Undefined when the subnet is full.
   */
  allocate(subnet: SubnetSpec, owner: string, hint?: string): string | undefined {
    const existing = this.byOwner.get(owner);
    if (existing !== undefined) return existing;
    const { first, last } = usableRange(subnet);
    const span = last - first + 1;
    const cursor = hint ? Math.max(0, ipToInt(hint) - first + 1) % span : 0;
    for (let tries = 0; tries < span; tries++) {
      const ip = intToIp(first + ((cursor + tries) % span));
      if (!this.byIp.has(ip)) {
        this.assign(ip, owner);
        return ip;
      }
    }
    return undefined;
  }

  /** Frees the address `owner` holds; true when it held one. */
  release(owner: string): boolean {
    const ip = this.byOwner.get(owner);
    if (ip === undefined) return false;
    this.byOwner.delete(owner);
    this.byIp.delete(ip);
    return true;
  }

  toJSON(): AddressTable {
    return Object.fromEntries(this.byIp);
  }
}
