/**
 * @module nc/net/node-network
 * The node's instance network, entirely inside network namespaces it creates (never the root namespace):
 * - the node namespace: bridge `br0` with the gateway address, IP forwarding, the nft DNAT of 169.254.169.254:80 to
 *   the metadata forwarder, dnsmasq (DHCP only, fixed MAC→IP entries), one persistent tap per instance;
 * - optionally an "outside" client namespace joined by a veth, routed to the instance subnet (tests, `euca ssh`).
 * Everything created is recorded in `<runDir>/network.json` and torn down by name and PID (after checking the PID's
 * command line still is ours). `setup()` adopts what a previous NC left running.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import {
  FORWARDER_MARKER, FORWARDER_SCRIPT, cidrOf, dhcpHostsFile, dnsmasqArgs, gatewayOf, natRuleset, parseCidr, type Subnet,
} from './plan.js';

async function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** True when `pid` runs (not a zombie) and its command line contains `marker`. */
function alive(pid: number | undefined, marker: string): boolean {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const st = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (st === 'Z' || st === 'X') return false;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
  } catch {
    return false;
  }
}

export interface NodeNetworkOptions {
  /** Node namespace name (unique per node; tests add a random suffix). */
  netns: string;
  /** Instance subnet, e.g. 10.77.0.0/24; the gateway is its first address. */
  subnet: string;
  /** Where the recorded state, dnsmasq files and logs live. */
  runDir: string;
  /** Unix socket of the NC's metadata service; the forwarder relays guest connections there. */
  metadataSocket: string;
  /** Port of the forwarder on the gateway address (the DNAT target). */
  metadataPort?: number;
  /** Name of the outside client namespace, or false for none. */
  outsideNetns?: string | false;
}

interface NetState {
  netns: string;
  outsideNetns?: string;
  subnet: string;
  dnsmasqPid?: number;
  forwarderPid?: number;
  hosts: { mac: string; ip: string; name: string }[];
}

export const OUTSIDE_NODE_IP = '198.51.100.1';
export const OUTSIDE_CLIENT_IP = '198.51.100.100';

export class NodeNetwork {
  readonly subnet: Subnet;
  readonly gateway: string;
  private state!: NetState;
  private readonly statePath: string;
  private readonly mdPort: number;
  /** Mutations run one at a time (the state file and the hosts file are rewritten whole). */
  private queue: Promise<unknown> = Promise.resolve();

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  constructor(private readonly opts: NodeNetworkOptions) {
    if (!/^[A-Za-z0-9_.-]{1,40}$/.test(opts.netns)) throw new Error(`bad namespace name ${opts.netns}`);
    this.subnet = parseCidr(opts.subnet);
    this.gateway = gatewayOf(this.subnet);
    this.statePath = join(opts.runDir, 'network.json');
    this.mdPort = opts.metadataPort ?? 8775;
  }

  get netns(): string {
    return this.opts.netns;
  }
  get outsideNetns(): string | undefined {
    return this.state?.outsideNetns;
  }

  private async save(): Promise<void> {
    await fs.writeFile(this.statePath + '.tmp', JSON.stringify(this.state, null, 1));
    await fs.rename(this.statePath + '.tmp', this.statePath);
  }

  private files() {
    const r = this.opts.runDir;
    return { hosts: join(r, 'dhcp-hosts'), leases: join(r, 'dhcp.leases'), pid: join(r, 'dnsmasq.pid'), log: join(r, 'dnsmasq.log'), fwdLog: join(r, 'md-forwarder.log') };
  }

  private async nsExists(ns: string): Promise<boolean> {
    return existsSync(`/run/netns/${ns}`) || existsSync(`/var/run/netns/${ns}`);
  }

  /** Creates the namespaces, bridge, NAT, dnsmasq and forwarder, or adopts them when a previous NC left them. */
  async setup(): Promise<void> {
    await fs.mkdir(this.opts.runDir, { recursive: true });
    let prev: NetState | undefined;
    try {
      prev = JSON.parse(await fs.readFile(this.statePath, 'utf8')) as NetState;
    } catch {
      prev = undefined;
    }
    if (prev && prev.netns === this.opts.netns && prev.subnet === cidrOf(this.subnet) && (await this.nsExists(prev.netns))) {
      this.state = prev;
    } else {
      if (prev) await this.teardown(prev);
      this.state = { netns: this.opts.netns, subnet: cidrOf(this.subnet), hosts: [] };
      await this.createNamespace();
    }
    await fs.writeFile(this.files().hosts, dhcpHostsFile(this.state.hosts));
    if (!alive(this.state.dnsmasqPid, 'dnsmasq')) await this.startDnsmasq();
    if (!alive(this.state.forwarderPid, FORWARDER_MARKER)) await this.startForwarder();
    await this.save();
  }

  private async createNamespace(): Promise<void> {
    const ns = this.opts.netns;
    const ipns = (...a: string[]) => run('ip', ['-n', ns, ...a]);
    await run('ip', ['netns', 'add', ns]);
    await this.save();
    await ipns('link', 'set', 'lo', 'up');
    await ipns('link', 'add', 'br0', 'type', 'bridge');
    await ipns('addr', 'add', `${this.gateway}/${this.subnet.prefix}`, 'dev', 'br0');
    await ipns('link', 'set', 'br0', 'up');
    await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await run('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], natRuleset(this.gateway, this.mdPort));
    const out = this.opts.outsideNetns;
    if (out) {
      await run('ip', ['netns', 'add', out]);
      this.state.outsideNetns = out;
      await this.save();
      await run('ip', ['-n', out, 'link', 'set', 'lo', 'up']);
      await ipns('link', 'add', 'out0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', out);
      await ipns('addr', 'add', `${OUTSIDE_NODE_IP}/24`, 'dev', 'out0');
      await ipns('link', 'set', 'out0', 'up');
      await run('ip', ['-n', out, 'addr', 'add', `${OUTSIDE_CLIENT_IP}/24`, 'dev', 'eth0']);
      await run('ip', ['-n', out, 'link', 'set', 'eth0', 'up']);
      await run('ip', ['-n', out, 'route', 'add', cidrOf(this.subnet), 'via', OUTSIDE_NODE_IP]);
    }
  }

  private async startDnsmasq(): Promise<void> {
    const f = this.files();
    await fs.rm(f.leases, { force: true }); // replayed leases would confuse lease tracking
    await fs.rm(f.pid, { force: true });
    await run('ip', ['netns', 'exec', this.opts.netns, 'dnsmasq', ...dnsmasqArgs(this.subnet, 'br0', f)]);
    // dnsmasq daemonises itself and writes its pid file
    for (let i = 0; i < 100 && !existsSync(f.pid); i++) await new Promise((r) => setTimeout(r, 20));
    this.state.dnsmasqPid = Number((await fs.readFile(f.pid, 'utf8')).trim());
  }

  private async startForwarder(): Promise<void> {
    const fd = openSync(this.files().fwdLog, 'a');
    try {
      const child = spawn('ip', ['netns', 'exec', this.opts.netns, process.execPath, '-e', FORWARDER_SCRIPT, this.gateway, String(this.mdPort), this.opts.metadataSocket], {
        detached: true, stdio: ['ignore', fd, fd],
      });
      child.unref();
      this.state.forwarderPid = child.pid;
    } finally {
      closeSync(fd);
    }
    // wait until it listens (a connect to gateway:port from inside the namespace succeeds)
    for (let i = 0; i < 100; i++) {
      if (await this.listening()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the metadata forwarder did not start in ${this.opts.netns} (see ${this.files().fwdLog})`);
  }

  private async listening(): Promise<boolean> {
    try {
      const out = await run('ip', ['netns', 'exec', this.opts.netns, 'ss', '-Hltn', `sport = :${this.mdPort}`]);
      return out.trim().length > 0;
    } catch {
      return false;
    }
  }

  private async hup(): Promise<void> {
    await fs.writeFile(this.files().hosts, dhcpHostsFile(this.state.hosts));
    if (this.state.dnsmasqPid && alive(this.state.dnsmasqPid, 'dnsmasq')) process.kill(this.state.dnsmasqPid, 'SIGHUP');
  }

  /** Adds the DHCP entry and the persistent tap (on br0) of an instance. Idempotent. */
  async addInstance(e: { mac: string; ip: string; name: string; tap: string }): Promise<void> {
    return this.serial(() => this.addInstanceNow(e));
  }

  private async addInstanceNow(e: { mac: string; ip: string; name: string; tap: string }): Promise<void> {
    this.state.hosts = this.state.hosts.filter((h) => h.mac !== e.mac && h.ip !== e.ip);
    this.state.hosts.push({ mac: e.mac, ip: e.ip, name: e.name });
    await this.save();
    await this.hup();
    await this.ensureTap(e.tap);
  }

  async ensureTap(tap: string): Promise<void> {
    const ns = this.opts.netns;
    try {
      await run('ip', ['-n', ns, 'link', 'show', tap]);
    } catch {
      await run('ip', ['-n', ns, 'tuntap', 'add', tap, 'mode', 'tap']);
    }
    await run('ip', ['-n', ns, 'link', 'set', tap, 'master', 'br0', 'up']);
  }

  async tapExists(tap: string): Promise<boolean> {
    try {
      await run('ip', ['-n', this.opts.netns, 'link', 'show', tap]);
      return true;
    } catch {
      return false;
    }
  }

  /** Removes the tap and the DHCP entry. Idempotent. */
  async removeInstance(e: { mac: string; tap: string }): Promise<void> {
    return this.serial(() => this.removeInstanceNow(e));
  }

  private async removeInstanceNow(e: { mac: string; tap: string }): Promise<void> {
    await run('ip', ['-n', this.opts.netns, 'link', 'del', e.tap]).catch(() => undefined);
    const before = this.state.hosts.length;
    this.state.hosts = this.state.hosts.filter((h) => h.mac !== e.mac);
    if (this.state.hosts.length !== before) {
      await this.save();
      await this.hup();
    }
  }

  /** Lease events seen by dnsmasq (its log), for tests and timing. */
  async dhcpLog(): Promise<string> {
    return fs.readFile(this.files().log, 'utf8').catch(() => '');
  }

  /** Kills dnsmasq and the forwarder (by recorded PID) and deletes the namespaces. */
  async destroy(): Promise<void> {
    if (this.state) await this.teardown(this.state);
    await fs.rm(this.statePath, { force: true });
  }

  private async teardown(s: NetState): Promise<void> {
    for (const [pid, marker] of [[s.dnsmasqPid, 'dnsmasq'], [s.forwarderPid, FORWARDER_MARKER]] as const) {
      if (pid && alive(pid, marker)) process.kill(pid, 'SIGTERM');
    }
    for (const [pid, marker] of [[s.dnsmasqPid, 'dnsmasq'], [s.forwarderPid, FORWARDER_MARKER]] as const) {
      for (let i = 0; i < 50 && alive(pid, marker); i++) await new Promise((r) => setTimeout(r, 20));
      if (pid && alive(pid, marker)) process.kill(pid, 'SIGKILL');
    }
    for (const ns of [s.outsideNetns, s.netns]) if (ns) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  }
}
