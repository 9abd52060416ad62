/**
 * @module main/cli
 * `euca`: the one command of Eucalyptus-TS. Each subcommand has --help; failures print what went wrong and what to do,
 * and exit non-zero.
 */
import { parseArgs } from 'node:util';
import type { Kysely } from 'kysely';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync, rmSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, DEFAULT_DATA_DIR, type CloudConfig, createLogger } from '../shared/index.js';
import { openDatabase, migrate } from '../db/index.js';
import { IamStore, PropertyStore, IamDirectory, ADMIN_USER, CLOUD_ADMIN_ACCOUNT, parseQuotaArgs, setAccountQuotas, getAccountQuotas, describeQuotas } from '../clc/index.js';
import { allMigrations } from './migrations.js';
import { initCloud, startCloud } from './cloud.js';
import { ccEndpoint, internalSecret } from './compute.js';
import { ccClient, type NodeInfo } from '../rpc/index.js';
import { nodeUnavailableReason, ensureDefaultImage, startLocalNode, type LocalNode } from './node.js';
import { endpointsFor, eucarc, writeAwsProfile, awsCliVersion, cliReadsEndpointConfig, type CredentialSet } from './credentials.js';

class UsageError extends Error {}

const HELP: Record<string, string> = {
  '': `euca — Eucalyptus-TS, a private AWS cloud on your own machines

Usage: euca <command> [options]

Commands:
  init          create the database, the eucalyptus admin account and its key, and the cloud keys
  up            start the cloud-in-a-box (every component on this host) in the background, write credentials
  run           run every component in the foreground (what 'up' starts)
  down          stop the cloud started by 'up'
  credentials   write an eucarc and an AWS CLI profile for a user (default: the cloud admin)
  services      list the cloud's components and their states
  properties    get or set the cloud's configurable properties
  accounts      create, list and delete accounts (cloud admin)
  image         build the default guest image from Debian packages
  ssh           SSH into an instance from the cloud's outside-client namespace
  nodes         register, list and deregister node controllers of a zone

Global options:
  --data-dir DIR   where the cloud keeps its state (default ${DEFAULT_DATA_DIR}, or $EUCA_DATA_DIR)
  -h, --help       help for any command`,
  init: `Usage: euca init [--data-dir DIR] [--db-url URL] [--region NAME] [--host HOST]

Creates the data directory and its euca.json, the database schema (SQLite in DIR by default; --db-url
postgres://user@host:port/db for PostgreSQL), the 'eucalyptus' cloud-admin account with its 'admin' user and an
access key, and the cloud's key pair and certificate. Safe to run again: existing state is kept.`,
  up: `Usage: euca up [--data-dir DIR] [--profile NAME] [--no-credentials] [--no-node] [--foreground]

Initialises the cloud if needed, builds the default guest image on first start (from Debian packages; cached),
starts every component on this host in the background (logs in DIR/logs) — CLC, Walrus, the zone's CC and, as root
with QEMU installed, a node controller running instances as QEMU VMs in network namespaces — waits until they answer,
writes the admin's credentials (see 'euca credentials') and prints the endpoints. --no-node starts no NC.`,
  ssh: `Usage: euca ssh INSTANCE-ID -i KEYFILE [--user NAME] [-- COMMAND...]

Opens SSH to the instance's address from the cloud-in-a-box's outside-client network namespace (euca-outside unless
euca.json's node.outsideNetns says otherwise), the
only place instances are reachable from on this host. KEYFILE is the private key of the instance's key pair
(user 'root' by default).`,
  image: `Usage: euca image build [--force] [--data-dir DIR]

Builds the default guest image (kernel, ramdisk, root filesystem and a bootable disk) from Debian packages with
apt-get download, into DIR/images/default. The build is cached; --force rebuilds. 'euca up' registers it.`,
  run: `Usage: euca run [--data-dir DIR]

Runs every component in the foreground until interrupted (Ctrl-C stops cleanly).`,
  down: `Usage: euca down [--data-dir DIR] [--destroy]

Stops the cloud started by 'euca up'. Instances keep running (their QEMU processes and the node's network namespaces
stay) and the next 'euca up' re-adopts them, as a Eucalyptus node controller does across restarts. --destroy first
terminates every instance of this host's node controller and removes its network namespaces, DHCP server and
instance files, so nothing of the cloud is left running.`,
  credentials: `Usage: euca credentials [--account NAME] [--user NAME] [--profile NAME] [--out DIR] [--aws-cli BIN]

Writes DIR/eucarc (default: the data directory) and the AWS CLI profile NAME (default 'euca') with the endpoints
and an access key of the user (default: the cloud admin, eucalyptus/admin; a key is created if the user has none).
Other profiles in ~/.aws/config and ~/.aws/credentials are left as they are. For aws CLI versions that cannot read
endpoints from the config (v2 before 2.13, e.g. Debian 12's), a small plugin is installed to supply them.`,
  services: `Usage: euca services [--data-dir DIR]

Lists the cloud's components, their endpoints and states (ENABLED, NOTREADY, BROKEN, STOPPED).
The storage controller (SC, EBS volumes) is not part of this release yet, so it is not listed.`,
  properties: `Usage: euca properties get [PREFIX]
       euca properties set NAME VALUE

Shows or changes the cloud's typed properties (e.g. cloud.vmstate.terminated_time).`,
  accounts: `Usage: euca accounts create NAME
       euca accounts list
       euca accounts delete NAME [--recursive]
       euca accounts quota NAME [KEY=VALUE ...] [--clear]

Manages accounts (Eucalyptus's CreateAccount / ListAccounts / DeleteAccount). 'create' prints the new account's id
and its admin user's access key; write them as a profile with 'euca credentials --account NAME'.

'quota' shows or sets the account's quotas (Eucalyptus Limit policies), e.g.
  euca accounts quota acme users=10 instances=5 cores=8 memory=4096 buckets=20
KEY is an alias (users, groups, roles, policies, instance-profiles, instances, active-instances, cores, memory,
disk, images, volumes, volume-size, snapshots, addresses, security-groups, buckets, bucket-objects, bucket-size,
total-bucket-size) or a full key such as iam:quota-usernumber; VALUE 'none' removes one; --clear removes all.`,
  nodes: `Usage: euca nodes register URL [--zone ZONE]
       euca nodes deregister NODE_ID [--zone ZONE]
       euca nodes list [--zone ZONE]

Registers a node controller (e.g. http://10.0.0.5:8775) with the cluster controller of ZONE (default: the first
zone), removes one, or lists them with their state and capacity (cores, memory MiB, disk GiB used/total).
The cloud must be running ('euca up').`,
};

function help(cmd: string): string {
  return HELP[cmd] ?? HELP['']!;
}

async function withStores<T>(cfg: CloudConfig, fn: (s: { iam: IamStore; props: PropertyStore; db: Kysely<any> }) => Promise<T>): Promise<T> {
  if (!existsSync(join(cfg.dataDir, 'euca.json'))) {
    throw new UsageError(`No cloud in ${cfg.dataDir}: run 'euca init' (or 'euca up') first.`);
  }
  const database = await openDatabase(cfg.db);
  try {
    await migrate(database, allMigrations);
    return await fn({ iam: new IamStore(database.db), props: new PropertyStore(database.db), db: database.db });
  } finally {
    await database.close();
  }
}

async function cmdCredentials(cfg: CloudConfig, o: { account?: string; user?: string; profile?: string; out?: string; awsCli?: string }): Promise<string> {
  const creds = await withStores(cfg, async ({ iam }) => {
    const account = await iam.getAccount(o.account ?? CLOUD_ADMIN_ACCOUNT);
    const user = await iam.getUser(account.accountId, o.user ?? ADMIN_USER);
    const keys = (await iam.listAccessKeys(account.accountId, user.name)).filter((k) => k.status === 'Active');
    const key = keys[0] ?? (await iam.createAccessKey(account.accountId, user.name));
    const c: CredentialSet = {
      accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey, accountId: account.accountId, userName: user.name,
      region: cfg.region, endpoints: endpointsFor(cfg.host, cfg.ports),
    };
    return c;
  });
  const outDir = o.out ?? cfg.dataDir;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'eucarc'), eucarc(creds), { mode: 0o600 });
  const profile = o.profile ?? 'euca';
  const configFile = process.env.AWS_CONFIG_FILE ?? join(homedir(), '.aws', 'config');
  const credentialsFile = process.env.AWS_SHARED_CREDENTIALS_FILE ?? join(homedir(), '.aws', 'credentials');
  const version = awsCliVersion(o.awsCli ?? 'aws') ?? awsCliVersion('/usr/bin/aws');
  const plugin = version !== undefined && !cliReadsEndpointConfig(version);
  writeAwsProfile(creds, { profile, configFile, credentialsFile, pluginDir: join(cfg.dataDir, 'awscli-plugin'), plugin });
  return [
    `Credentials of ${o.account ?? CLOUD_ADMIN_ACCOUNT}/${creds.userName} (account ${creds.accountId}):`,
    `  eucarc:          ${join(outDir, 'eucarc')}`,
    `  AWS CLI profile: ${profile} (in ${configFile}${plugin ? `; endpoint plugin enabled for ${version?.split(' ')[0]}` : ''})`,
    `  try:             aws --profile ${profile} ec2 describe-availability-zones`,
  ].join('\n');
}

/** Calls `step` every `everyMs` until it returns a value or `timeoutMs` has passed (then undefined). */
async function poll<T>(timeoutMs: number, everyMs: number, step: () => Promise<T | undefined> | T | undefined): Promise<T | undefined> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const r = await step();
    if (r !== undefined) return r;
    await new Promise((res) => setTimeout(res, everyMs));
  }
  return undefined;
}

async function waitHealthy(url: string, timeoutMs: number, child?: { exitCode: number | null }): Promise<boolean> {
  const r = await poll(timeoutMs, 200, async () => {
    if (child && child.exitCode !== null) return false;
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(2000) })).ok) return true;
    } catch {
      // not up yet
    }
    return undefined;
  });
  return r ?? false;
}

/** What `euca run` says of this host's node controller, for `euca up` to wait on. */
interface NodeStatus { state: 'starting' | 'ready' | 'failed' | 'absent'; url?: string; imageId?: string; error?: string }

function nodeStatusFile(cfg: CloudConfig): string {
  return join(cfg.dataDir, 'node.status.json');
}

function writeNodeStatus(cfg: CloudConfig, st: NodeStatus): void {
  writeFileSync(nodeStatusFile(cfg) + '.tmp', JSON.stringify(st));
  renameSync(nodeStatusFile(cfg) + '.tmp', nodeStatusFile(cfg));
}

async function waitNodeStatus(cfg: CloudConfig, timeoutMs: number): Promise<NodeStatus | undefined> {
  let st: NodeStatus | undefined;
  const r = await poll(timeoutMs, 250, () => {
    try {
      st = JSON.parse(readFileSync(nodeStatusFile(cfg), 'utf8')) as NodeStatus;
    } catch {
      // not written yet
    }
    // settled, or the cloud process is gone: either way there is nothing more to wait for
    return (st && st.state !== 'starting') || !runningPid(cfg) ? { st } : undefined;
  });
  return r ? r.st : st;
}

function pidFile(cfg: CloudConfig): string {
  return join(cfg.dataDir, 'euca.pid');
}

function runningPid(cfg: CloudConfig): number | undefined {
  if (!existsSync(pidFile(cfg))) return undefined;
  const pid = Number(readFileSync(pidFile(cfg), 'utf8').trim());
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

async function cmdUp(cfg: CloudConfig, o: { profile?: string; noCredentials?: boolean; noNode?: boolean }): Promise<string> {
  const init = await initCloud(cfg);
  const lines: string[] = [];
  if (init.created) lines.push(`Initialised a new cloud in ${cfg.dataDir} (account eucalyptus ${init.account.accountId}).`);
  const why = o.noNode ? 'not asked for (--no-node)' : nodeUnavailableReason();
  if (why === false) {
    const img = await ensureDefaultImage(cfg, (p) => console.log(`  image [${p.step}/${p.total}] ${p.message}`));
    lines.push(`Default guest image: ${img.cached ? 'cached' : 'built'} (kernel ${img.kernelVersion}) in ${img.dir}.`);
  } else {
    lines.push(`No node controller on this host: ${why}. The APIs work; instances cannot launch here.`);
  }
  const health = `http://${cfg.host}:${cfg.ports.clc}/healthz`;
  const existing = runningPid(cfg);
  if (existing) {
    lines.push(`The cloud is already running (pid ${existing}).`);
  } else {
    const logDir = join(cfg.dataDir, 'logs');
    mkdirSync(logDir, { recursive: true });
    const out = openSync(join(logDir, 'euca.log'), 'a');
    const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'euca');
    rmSync(nodeStatusFile(cfg), { force: true });
    const child = spawn(bin, ['run', '--data-dir', cfg.dataDir, ...(o.noNode ? ['--no-node'] : [])], { detached: true, stdio: ['ignore', out, out], env: process.env });
    child.unref();
    writeFileSync(pidFile(cfg), String(child.pid));
    if (!(await waitHealthy(health, 120_000, child))) {
      throw new Error(`The cloud did not start: see ${join(logDir, 'euca.log')}.`);
    }
    lines.push(`Started the cloud-in-a-box (pid ${child.pid}); logs in ${join(logDir, 'euca.log')}.`);
  }
  if (why === false) {
    // The node controller starts after the APIs answer; instances can launch once it is registered with its image.
    const st = await waitNodeStatus(cfg, 300_000);
    if (st?.state === 'ready') lines.push(`Node controller ${st.url ?? ''} registered; default image ${st.imageId ?? ''}.`);
    else if (st?.state === 'failed') lines.push(`The node controller did not start: ${st.error ?? 'see the log'}. The APIs work; instances cannot launch.`);
    else lines.push(`The node controller is still starting (see ${join(cfg.dataDir, 'logs', 'euca.log')}).`);
  }
  const e = endpointsFor(cfg.host, cfg.ports);
  lines.push('Endpoints:', `  EC2 ${e.ec2}`, `  IAM ${e.iam}`, `  STS ${e.sts}`, `  S3  ${e.s3}`);
  if (why === false) lines.push(`Instances: aws --profile ${o.profile ?? 'euca'} ec2 describe-images  (the default image is registered once the node is up)`);
  if (!o.noCredentials) lines.push(await cmdCredentials(cfg, { ...(o.profile ? { profile: o.profile } : {}) }));
  return lines.join('\n');
}

async function cmdRun(cfg: CloudConfig, o: { noNode?: boolean } = {}): Promise<void> {
  const init = await initCloud(cfg);
  // stdout is the log file under `euca up`: buffered asynchronous writes, so requests never wait on the disk
  // (pino flushes what is left when the process exits)
  const log = createLogger('euca', undefined, 1);
  const cloud = await startCloud(cfg, { log });
  let node: LocalNode | undefined;
  const why = o.noNode ? 'not asked for' : nodeUnavailableReason();
  if (why === false) {
    writeNodeStatus(cfg, { state: 'starting' });
    try {
      const img = await ensureDefaultImage(cfg, (p) => log.info(p, 'building the default guest image'));
      node = await startLocalNode(cfg, cloud.compute, init.account.accountId, log, img);
      writeNodeStatus(cfg, { state: 'ready', url: node.nc.url, imageId: node.imageId });
    } catch (e) {
      log.error({ err: e }, 'the node controller did not start; the APIs keep running, instances cannot launch');
      writeNodeStatus(cfg, { state: 'failed', error: e instanceof Error ? e.message : String(e) });
    }
  } else {
    log.warn({ why }, 'no node controller on this host');
    writeNodeStatus(cfg, { state: 'absent', error: why });
  }
  const stop = (sig: string) => {
    let destroy = false;
    try {
      destroy = readFileSync(downRequestFile(cfg), 'utf8').trim() === 'destroy';
      rmSync(downRequestFile(cfg), { force: true });
    } catch {
      // a plain stop
    }
    log.info({ sig, destroy }, 'stopping');
    rmSync(nodeStatusFile(cfg), { force: true });
    (node ? (destroy ? node.nc.destroy() : node.close()) : Promise.resolve()).then(() => cloud.stop()).then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await new Promise(() => undefined);
}

function downRequestFile(cfg: CloudConfig): string {
  return join(cfg.dataDir, 'down.request');
}

async function cmdDown(cfg: CloudConfig, destroy: boolean): Promise<string> {
  const pid = runningPid(cfg);
  if (!pid) return 'The cloud is not running.';
  // `euca run` reads this when it is told to stop: 'destroy' terminates the node's instances and removes its network.
  if (destroy) writeFileSync(downRequestFile(cfg), 'destroy');
  process.kill(pid, 'SIGTERM');
  const waitS = destroy ? 180 : 30;
  for (let i = 0; i < waitS * 5; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      rmSync(pidFile(cfg), { force: true });
      return destroy ? `Stopped the cloud (pid ${pid}); terminated its node's instances and removed its network.` : `Stopped the cloud (pid ${pid}).`;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  process.kill(pid, 'SIGKILL');
  rmSync(pidFile(cfg), { force: true });
  return `Killed the cloud (pid ${pid}) after it did not stop in ${waitS} s.`;
}

async function cmdServices(cfg: CloudConfig): Promise<string> {
  const comps: { name: string; port: number; path: string }[] = [
    { name: 'CLC (cloud controller, EC2/IAM/STS)', port: cfg.ports.clc, path: '/healthz' },
    { name: 'Walrus (object storage, S3)', port: cfg.ports.walrus, path: '/healthz' },
    { name: 'CC (cluster controller)', port: cfg.ports.cc, path: '/healthz' },
    { name: 'NC (node controller)', port: cfg.ports.nc, path: '/healthz' },
  ];
  const rows = await Promise.all(comps.map(async (c) => {
    const url = `http://${cfg.host}:${c.port}`;
    let state = 'STOPPED';
    try {
      const r = await fetch(url + c.path, { signal: AbortSignal.timeout(2000) });
      // Walrus answers its own S3 errors on any path (an anonymous GET is AccessDenied): answering at all is up.
      state = r.ok || (c.port === cfg.ports.walrus && r.status < 500) ? 'ENABLED' : r.status >= 500 ? 'BROKEN' : 'NOTREADY';
    } catch {
      state = 'STOPPED';
    }
    return `${c.name.padEnd(40)} ${url.padEnd(26)} ${state}`;
  }));
  return [`${'COMPONENT'.padEnd(40)} ${'ENDPOINT'.padEnd(26)} STATE`, ...rows].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const cmd = argv[0] && !argv[0].startsWith('-') ? argv[0] : '';
  const rest = cmd ? argv.slice(1) : argv;
  const { values, positionals } = parseArgs({
    args: rest, allowPositionals: true, strict: true,
    options: {
      help: { type: 'boolean', short: 'h' }, 'data-dir': { type: 'string' }, 'db-url': { type: 'string' },
      region: { type: 'string' }, host: { type: 'string' }, profile: { type: 'string' }, account: { type: 'string' },
      user: { type: 'string' }, out: { type: 'string' }, 'aws-cli': { type: 'string' }, recursive: { type: 'boolean' }, clear: { type: 'boolean' },
      'no-credentials': { type: 'boolean' }, foreground: { type: 'boolean' }, identity: { type: 'string', short: 'i' }, 'no-node': { type: 'boolean' }, destroy: { type: 'boolean' }, force: { type: 'boolean' }, zone: { type: 'string' },
    },
  });
  if (values.help || !cmd || cmd === 'help') {
    console.log(help(cmd === 'help' ? positionals[0] ?? '' : cmd));
    return cmd || values.help ? 0 : 2;
  }
  if (!(cmd in HELP)) throw new UsageError(`Unknown command '${cmd}'. Run 'euca --help' for the list.`);
  const cfg = loadConfig(values['data-dir'] ?? process.env.EUCA_DATA_DIR ?? DEFAULT_DATA_DIR);
  if (values['db-url']) cfg.db = values['db-url'].startsWith('postgres') ? { kind: 'postgres', url: values['db-url'] } : { kind: 'sqlite', file: values['db-url'] };
  if (values.region) cfg.region = values.region;
  if (values.host) cfg.host = values.host;

  switch (cmd) {
    case 'init': {
      const r = await initCloud(cfg);
      console.log(r.created ? `Initialised the cloud in ${cfg.dataDir}: account eucalyptus ${r.account.accountId}, admin key ${r.key.accessKeyId}.` : `The cloud in ${cfg.dataDir} was already initialised (account eucalyptus ${r.account.accountId}).`);
      console.log(`Next: 'euca up' to start it.`);
      return 0;
    }
    case 'up':
      if (values.foreground) {
        await cmdRun(cfg, { noNode: values['no-node'] ?? false });
        return 0;
      }
      console.log(await cmdUp(cfg, { ...(values.profile ? { profile: values.profile } : {}), noCredentials: values['no-credentials'] ?? false, noNode: values['no-node'] ?? false }));
      return 0;
    case 'run':
      await cmdRun(cfg, { noNode: values['no-node'] ?? false });
      return 0;
    case 'ssh': {
      const [instanceId, ...command] = positionals;
      if (!instanceId || !values.identity) throw new UsageError(help('ssh'));
      const ip = await withStores(cfg, async () => {
        const database = await openDatabase(cfg.db);
        try {
          const row = await (database.db as Kysely<{ instances: { instance_id: string; state: string; private_ip: string | null; public_ip: string | null } }>)
            .selectFrom('instances').select(['state', 'private_ip', 'public_ip']).where('instance_id', '=', instanceId).executeTakeFirst();
          if (!row) throw new UsageError(`No instance ${instanceId}.`);
          if (row.state !== 'running') throw new UsageError(`Instance ${instanceId} is ${row.state}, not running.`);
          const addr = row.public_ip ?? row.private_ip;
          if (!addr) throw new UsageError(`Instance ${instanceId} has no address yet.`);
          return addr;
        } finally {
          await database.close();
        }
      });
      const child = spawn('ip', ['netns', 'exec', cfg.node.outsideNetns, 'ssh', '-o', 'StrictHostKeyChecking=accept-new', '-o', `UserKnownHostsFile=${join(cfg.dataDir, 'known_hosts')}`,
        '-i', values.identity, `${values.user ?? 'root'}@${ip}`, ...command], { stdio: 'inherit' });
      return new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
    }
    case 'image': {
      if (positionals[0] !== 'build') throw new UsageError(help('image'));
      const img = await ensureDefaultImage(cfg, (p) => console.log(`[${p.step}/${p.total}] ${p.message}`), values.force ?? false);
      console.log(`${img.cached ? 'Up to date' : 'Built'}: kernel ${img.kernelVersion}\n  kernel  ${img.kernel}\n  ramdisk ${img.ramdisk}\n  rootfs  ${img.rootfs}${img.disk ? `\n  disk    ${img.disk}` : ''}`);
      return 0;
    }
    case 'down':
      console.log(await cmdDown(cfg, values.destroy ?? false));
      return 0;
    case 'credentials':
      console.log(await cmdCredentials(cfg, {
        ...(values.account ? { account: values.account } : {}), ...(values.user ? { user: values.user } : {}),
        ...(values.profile ? { profile: values.profile } : {}), ...(values.out ? { out: values.out } : {}), ...(values['aws-cli'] ? { awsCli: values['aws-cli'] } : {}),
      }));
      return 0;
    case 'services':
      console.log(await cmdServices(cfg));
      return 0;
    case 'properties': {
      const [sub, name, value] = positionals;
      return withStores(cfg, async ({ props }) => {
        if (sub === 'get' || sub === undefined) {
          for (const p of await props.list(name ?? '')) console.log(`${p.name.padEnd(44)} ${p.value.padEnd(22)} ${p.description}`);
          return 0;
        }
        if (sub === 'set') {
          if (!name || value === undefined) throw new UsageError(help('properties'));
          const r = await props.set(name, value);
          console.log(`${name} = ${r.value} (was ${r.old})`);
          return 0;
        }
        throw new UsageError(help('properties'));
      });
    }
    case 'accounts': {
      const [sub, name, ...more] = positionals;
      return withStores(cfg, async ({ iam, db }) => {
        if (sub === 'quota' && name) {
          const account = await iam.getAccount(name);
          const dir = new IamDirectory(db);
          const limits = values.clear
            ? await setAccountQuotas(dir, account.accountId, Object.fromEntries(Object.keys(await getAccountQuotas(dir, account.accountId)).map((k) => [k, null])))
            : more.length
              ? await setAccountQuotas(dir, account.accountId, parseQuotaArgs(more))
              : await getAccountQuotas(dir, account.accountId);
          const lines = describeQuotas(limits);
          console.log(lines.length ? `Quotas of account ${account.name} (${account.accountId}):\n${lines.join('\n')}` : `Account ${account.name} has no quotas.`);
          return 0;
        }
        if (sub === 'list') {
          for (const a of await iam.listAccounts()) console.log(`${a.accountId}  ${a.name}`);
          return 0;
        }
        if (sub === 'create' && name) {
          const { account } = await iam.createAccount(name);
          const key = await iam.createAccessKey(account.accountId, ADMIN_USER);
          console.log(`Created account ${name} (${account.accountId}); admin access key ${key.accessKeyId}.`);
          console.log(`Write it as an AWS CLI profile: euca credentials --account ${name} --profile ${name}`);
          return 0;
        }
        if (sub === 'delete' && name) {
          await iam.deleteAccount(name, values.recursive ?? false);
          console.log(`Deleted account ${name}.`);
          return 0;
        }
        throw new UsageError(help('accounts'));
      });
    }
    case 'nodes': {
      const [sub, arg] = positionals;
      const zone = values.zone ?? cfg.zones[0]!;
      if (!cfg.zones.includes(zone)) throw new UsageError(`Unknown zone ${zone}; this cloud's zones: ${cfg.zones.join(', ')}`);
      const cc = ccClient(ccEndpoint(cfg, zone), { secret: internalSecret(cfg.dataDir) });
      const show = (n: NodeInfo) => `${n.nodeId.padEnd(24)} ${n.state.padEnd(9)} ${n.url.padEnd(28)} cores ${n.coresUsed}/${n.cores}  mem ${n.memoryMiBUsed}/${n.memoryMiB}  disk ${n.diskGiBUsed}/${n.diskGiB}  instances ${n.instances}${n.message ? `  (${n.message})` : ''}`;
      if (sub === 'register' && arg) {
        const { node } = await cc.registerNode({ url: arg });
        console.log(`Registered ${node.nodeId} in ${zone}:\n${show(node)}`);
        return 0;
      }
      if (sub === 'deregister' && arg) {
        const { node } = await cc.deregisterNode({ nodeId: arg });
        console.log(`Deregistered ${node.nodeId} from ${zone}.`);
        return 0;
      }
      if (sub === 'list' || sub === undefined) {
        const r = await cc.describeNodes({});
        console.log(`zone ${r.zone} (scheduling ${r.policy}): ${r.nodes.length} node(s)`);
        for (const n of r.nodes) console.log(show(n));
        return 0;
      }
      throw new UsageError(help('nodes'));
    }
    default:
      throw new UsageError(help(''));
  }
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e: unknown) => {
    const err = e as Error & { code?: string };
    if (e instanceof UsageError) console.error(err.message);
    else if (err.code && /^[A-Z]/.test(err.code)) console.error(`euca: ${err.code}: ${err.message}`);
    else console.error(`euca: ${err.message ?? String(e)}`);
    process.exit(e instanceof UsageError ? 2 : 1);
  });
}
