/**
 * @module nc/net/plan
 * Pure parts of the node network: addressing (subnet arithmetic, IP and MAC allocation, tap names) and the text of
 * the nft ruleset, the dnsmasq command line and hosts file, and the metadata forwarder.
 */

export interface Subnet {
  /** Network address as a 32-bit number. */
  base: number;
  prefix: number;
}

export function ipToInt(ip: string): number {
  const p = ip.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`bad IPv4 address ${ip}`);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(cidr: string): Subnet {
  const [ip, pre] = cidr.split('/');
  const prefix = Number(pre);
  if (!ip || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) throw new Error(`bad subnet ${cidr} (want a.b.c.d/8..30)`);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (ipToInt(ip) & mask) >>> 0, prefix };
}

export function inSubnet(s: Subnet, ip: string): boolean {
  const mask = (0xffffffff << (32 - s.prefix)) >>> 0;
  return ((ipToInt(ip) & mask) >>> 0) === s.base;
}

export function cidrOf(s: Subnet): string {
  return `${intToIp(s.base)}/${s.prefix}`;
}

/** The node's own address on the instance bridge: the first host address. */
export function gatewayOf(s: Subnet): string {
  return intToIp(s.base + 1);
}

export function netmaskOf(s: Subnet): string {
  return intToIp((0xffffffff << (32 - s.prefix)) >>> 0);
}

/** First free instance address (from .10 on; the addresses before are the node's), or undefined when full. */
export function allocateIp(s: Subnet, used: ReadonlySet<string>): string | undefined {
  const size = 2 ** (32 - s.prefix);
  for (let i = Math.min(10, size - 2); i < size - 1; i++) {
    const ip = intToIp(s.base + i);
    if (!used.has(ip)) return ip;
  }
  return undefined;
}

/** Eucalyptus-style MAC derived from the private IP: `d0:0d:` + the four octets in hex. */
export function macForIp(ip: string): string {
  const n = ipToInt(ip);
  return ['d0', '0d', ...[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((x) => x.toString(16).padStart(2, '0'))].join(':');
}

/** Interface names are at most 15 bytes: `vn` + the last 12 characters of the instance id. */
export function tapName(instanceId: string): string {
  return `vn${instanceId.replace(/^i-/, '').slice(-12)}`;
}

export const METADATA_IP = '169.254.169.254';

/** nft ruleset of the node namespace: DNAT of the metadata address to the in-namespace forwarder. */
export function natRuleset(gateway: string, mdPort: number): string {
  return `table ip euca_nat {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr ${METADATA_IP} tcp dport 80 dnat to ${gateway}:${mdPort}
  }
  chain output {
    type nat hook output priority -100; policy accept;
    ip daddr ${METADATA_IP} tcp dport 80 dnat to ${gateway}:${mdPort}
  }
}
`;
}

export interface DnsmasqPaths {
  hosts: string;
  leases: string;
  pid: string;
  log: string;
}

/** dnsmasq as a DHCP server only (`--port=0`: no DNS, never forwards anything), answering listed MACs only. */
export function dnsmasqArgs(s: Subnet, bridge: string, p: DnsmasqPaths): string[] {
  return [
    '--conf-file=/dev/null', '--port=0', '--no-resolv', '--no-hosts', '--user=root',
    `--interface=${bridge}`, '--bind-interfaces', '--except-interface=lo',
    `--dhcp-range=${intToIp(s.base)},static,${netmaskOf(s)},12h`, `--dhcp-hostsfile=${p.hosts}`,
    `--dhcp-option=option:router,${gatewayOf(s)}`, '--dhcp-option=option:dns-server', '--dhcp-authoritative',
    `--dhcp-leasefile=${p.leases}`, '--log-dhcp', `--log-facility=${p.log}`, `--pid-file=${p.pid}`,
  ];
}

export function dhcpHostsFile(entries: readonly { mac: string; ip: string; name: string }[]): string {
  return entries.map((e) => `${e.mac},${e.ip},${e.name}`).join('\n') + (entries.length ? '\n' : '');
}

/**
 * The metadata forwarder, a few lines of plain Node run inside the node namespace: it accepts the DNATed guest
 * connections on `<gateway>:<port>` and relays them to the NC's unix socket, prefixed with a PROXY protocol v1
 * line that carries the guest's address (the metadata service answers by it). The NC itself stays in the root
 * namespace, and no link between the namespaces is needed.
 */
export const FORWARDER_MARKER = 'euca-metadata-forwarder';
export const FORWARDER_SCRIPT = `/* ${FORWARDER_MARKER} */
const net = require('net');
const [ip, port, sock] = process.argv.slice(1);
net.createServer((c) => {
  const u = net.connect(sock);
  u.on('error', () => c.destroy());
  c.on('error', () => u.destroy());
  u.write('PROXY TCP4 ' + String(c.remoteAddress).replace(/^::ffff:/, '') + ' ' + ip + ' ' + c.remotePort + ' ' + port + '\\r\\n');
  c.pipe(u);
  u.pipe(c);
}).listen(Number(port), ip);
`;
