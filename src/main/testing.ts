/**
 * @module main/testing
 * A whole cloud-in-a-box for one test: temporary data directory, a fresh database (SQLite, or PostgreSQL with
 * EUCA_TEST_DB=postgres), every server on an ephemeral 127.0.0.1 port, and the cloud admin's credentials.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testDbConfig } from '../db/index.js';
import { defaultConfig, silentLogger, createLogger, type CloudConfig } from '../shared/index.js';
import { startCloud, type RunningCloud, type StartOptions } from './cloud.js';
import { writeAwsProfile, awsCliVersion, cliReadsEndpointConfig, endpointsFor } from './credentials.js';

export interface TestCloud extends RunningCloud {
  admin: { accessKeyId: string; secretAccessKey: string; accountId: string };
  /** SDK v3 client options for the admin against a service endpoint. */
  clientConfig(service: 'ec2' | 'iam' | 'sts', creds?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): {
    endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }; maxAttempts: number;
  };
}

const PATHS = { ec2: '/services/compute', iam: '/services/Euare', sts: '/services/Tokens' } as const;

export async function startTestCloud(opts: StartOptions & { configure?: (c: CloudConfig) => void } = {}): Promise<TestCloud> {
  const dataDir = mkdtempSync(join(tmpdir(), 'euca-cloud-'));
  const { cfg: db, cleanup } = testDbConfig();
  const config: CloudConfig = { ...defaultConfig(dataDir), db };
  opts.configure?.(config);
  const log = opts.log ?? (process.env.EUCA_TEST_LOG ? createLogger('test-cloud', process.env.EUCA_TEST_LOG) : silentLogger());
  const cloud = await startCloud(config, { ...opts, log, ephemeralPorts: true });
  const boot = await cloud.iam.bootstrap();
  const admin = { accessKeyId: boot.key.accessKeyId, secretAccessKey: boot.key.secretAccessKey, accountId: boot.account.accountId };
  return {
    ...cloud,
    admin,
    clientConfig(service, creds = admin) {
      return { endpoint: `${cloud.endpoints.clc}${PATHS[service]}`, region: config.region, credentials: creds, maxAttempts: 1 };
    },
    async stop() {
      await cloud.stop();
      await cleanup();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Debian's aws CLI, the one the tests judge with. */
export const DEBIAN_AWS = '/usr/bin/aws';

export interface AwsCliProfile {
  /** Environment for running the CLI with the written profile `euca` (outside traffic blocked by a dead proxy). */
  env: NodeJS.ProcessEnv;
  /** Runs `aws --profile euca ARGS…`; never throws: the exit code, stdout and stderr come back. */
  aws(args: string[], opts?: { timeoutMs?: number }): Promise<{ out: string; err: string; code: number }>;
}

/**
 * Writes the admin's profile `euca` for Debian's aws CLI into `dir` (as `euca credentials` would, with the endpoint
 * plugin for CLIs that need it), keeping `existingConfig` (another profile) to check it is left alone.
 */
export function awsCliProfile(cloud: TestCloud, dir: string, existingConfig = ''): AwsCliProfile {
  const configFile = join(dir, 'config');
  const credentialsFile = join(dir, 'credentials');
  writeFileSync(configFile, existingConfig);
  const version = awsCliVersion(DEBIAN_AWS);
  if (!version) throw new Error(`${DEBIAN_AWS} must be installed (Debian package awscli)`);
  writeAwsProfile({
    accessKeyId: cloud.admin.accessKeyId, secretAccessKey: cloud.admin.secretAccessKey, accountId: cloud.admin.accountId,
    userName: 'admin', region: cloud.config.region, endpoints: endpointsFor('127.0.0.1', { clc: cloud.ports.clc, walrus: cloud.ports.walrus }),
  }, { profile: 'euca', configFile, credentialsFile, pluginDir: join(dir, 'plugin'), plugin: !cliReadsEndpointConfig(version) });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH, HOME: dir, AWS_CONFIG_FILE: configFile, AWS_SHARED_CREDENTIALS_FILE: credentialsFile, AWS_PAGER: '',
    HTTP_PROXY: 'http://127.0.0.1:9', HTTPS_PROXY: 'http://127.0.0.1:9', NO_PROXY: '127.0.0.1,localhost',
  };
  return {
    env,
    async aws(args, opts = {}) {
      try {
        const r = await promisify(execFile)(DEBIAN_AWS, ['--profile', 'euca', ...args], { env, timeout: opts.timeoutMs ?? 60_000 });
        return { out: r.stdout, err: r.stderr, code: 0 };
      } catch (e) {
        const x = e as { stdout?: string; stderr?: string; code?: number };
        return { out: x.stdout ?? '', err: x.stderr ?? String(e), code: typeof x.code === 'number' ? x.code : 1 };
      }
    },
  };
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for components whose port must be configured up front). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
