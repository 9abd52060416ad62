/**
 * @module shared/config
 * The cloud's static configuration: where its state lives, which database, which ports, region and zones.
 * Read from `<dataDir>/euca.json` (written by `euca init`), overridden by `EUCA_*` environment variables.
 * Runtime-tunable settings are *properties* stored in the database, not here.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export type DbConfig =
  | { kind: 'sqlite'; file: string }
  | { kind: 'postgres'; url: string; schema?: string };

export interface CloudConfig {
  dataDir: string;
  db: DbConfig;
  region: string;
  /** The public host name clients use to reach the API (endpoints written into credentials). */
  host: string;
  ports: { clc: number; walrus: number; cc: number; sc: number; nc: number };
  /** Availability zones (Eucalyptus "partitions"), one CC and one SC each. */
  zones: string[];
  /** Domain for virtual-host style S3 (`<bucket>.<s3Domain>`). */
  s3Domain: string;
  /**
   * The cloud-in-a-box's own node: the network namespace its instances live in, the outside-client namespace that
   * reaches them (`euca ssh`), and the instances' private subnet.
   */
  node: { netns: string; outsideNetns: string; subnet: string };
}

export const DEFAULT_DATA_DIR = '/var/lib/eucalyptus-ts';

export function defaultConfig(dataDir = DEFAULT_DATA_DIR): CloudConfig {
  return {
    dataDir,
    db: { kind: 'sqlite', file: join(dataDir, 'cloud.db') },
    region: 'eucalyptus',
    host: '127.0.0.1',
    ports: { clc: 8773, walrus: 8779, cc: 8774, sc: 8776, nc: 8775 },
    zones: ['euca-zone-1'],
    s3Domain: 's3.localhost',
    node: { netns: 'euca-node', outsideNetns: 'euca-outside', subnet: '10.77.0.0/16' },
  };
}

/** Loads `<dataDir>/euca.json` over the defaults, then applies environment overrides. */
export function loadConfig(dataDir = process.env.EUCA_DATA_DIR ?? DEFAULT_DATA_DIR): CloudConfig {
  let cfg = defaultConfig(dataDir);
  const file = join(dataDir, 'euca.json');
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Partial<CloudConfig>;
    cfg = { ...cfg, ...saved, ports: { ...cfg.ports, ...(saved.ports ?? {}) }, node: { ...cfg.node, ...(saved.node ?? {}) }, dataDir };
  }
  return applyEnv(cfg);
}

export function applyEnv(cfg: CloudConfig, env: NodeJS.ProcessEnv = process.env): CloudConfig {
  const out = { ...cfg, ports: { ...cfg.ports }, node: { ...cfg.node } };
  if (env.EUCA_DB_URL) {
    out.db = env.EUCA_DB_URL.startsWith('postgres')
      ? { kind: 'postgres', url: env.EUCA_DB_URL, ...(env.EUCA_DB_SCHEMA ? { schema: env.EUCA_DB_SCHEMA } : {}) }
      : { kind: 'sqlite', file: env.EUCA_DB_URL.replace(/^sqlite:/, '') };
  }
  if (env.EUCA_REGION) out.region = env.EUCA_REGION;
  if (env.EUCA_HOST) out.host = env.EUCA_HOST;
  for (const k of ['clc', 'walrus', 'cc', 'sc', 'nc'] as const) {
    const v = env[`EUCA_PORT_${k.toUpperCase()}`];
    if (v) out.ports[k] = Number(v);
  }
  return out;
}
