/**
 * @module main/credentials
 * Writes a user's credentials: an `eucarc` (Eucalyptus's environment file) and an AWS CLI profile, without touching
 * any other profile of the user's AWS config. Pure builders + one writer at the edge.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Endpoints { ec2: string; iam: string; sts: string; s3: string }
export interface CredentialSet { accessKeyId: string; secretAccessKey: string; accountId: string; userName: string; region: string; endpoints: Endpoints }

export function endpointsFor(host: string, ports: { clc: number; walrus: number }): Endpoints {
  return {
    ec2: `http://${host}:${ports.clc}/services/compute`,
    iam: `http://${host}:${ports.clc}/services/Euare`,
    sts: `http://${host}:${ports.clc}/services/Tokens`,
    s3: `http://${host}:${ports.walrus}`,
  };
}

export function eucarc(c: CredentialSet): string {
  return [
    '# Eucalyptus-TS credentials: source this file (". eucarc").',
    `export EC2_URL=${c.endpoints.ec2}`,
    `export S3_URL=${c.endpoints.s3}`,
    `export AWS_IAM_URL=${c.endpoints.iam}`,
    `export EUARE_URL=${c.endpoints.iam}`,
    `export TOKEN_URL=${c.endpoints.sts}`,
    `export EC2_ACCOUNT_NUMBER=${c.accountId}`,
    `export EC2_USER_ID=${c.accountId}`,
    `export EC2_ACCESS_KEY=${c.accessKeyId}`,
    `export EC2_SECRET_KEY=${c.secretAccessKey}`,
    `export AWS_ACCESS_KEY_ID=${c.accessKeyId}`,
    `export AWS_SECRET_ACCESS_KEY=${c.secretAccessKey}`,
    `export AWS_ACCESS_KEY=${c.accessKeyId}`,
    `export AWS_SECRET_KEY=${c.secretAccessKey}`,
    `export AWS_DEFAULT_REGION=${c.region}`,
    '',
  ].join('\n');
}

type Ini = { name: string; lines: string[] }[];

export function parseIni(text: string): Ini {
  const out: Ini = [{ name: '', lines: [] }];
  for (const line of text.split('\n')) {
    const m = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (m) out.push({ name: m[1]!.trim(), lines: [] });
    else out[out.length - 1]!.lines.push(line);
  }
  return out;
}

export function renderIni(ini: Ini): string {
  const parts: string[] = [];
  for (const s of ini) {
    const body = s.lines.join('\n').replace(/\n+$/, '');
    if (s.name) parts.push(`[${s.name}]` + (body ? '\n' + body : ''));
    else if (body.trim()) parts.push(body);
  }
  return parts.join('\n\n') + '\n';
}

/** Replaces (or adds) exactly the named sections; every other section is kept byte for byte. */
export function upsertSections(text: string, sections: Record<string, string[]>): string {
  const ini = parseIni(text);
  for (const [name, lines] of Object.entries(sections)) {
    const i = ini.findIndex((s) => s.name === name);
    if (i >= 0) ini[i] = { name, lines };
    else ini.push({ name, lines });
  }
  return renderIni(ini);
}

/** Adds keys to a section, keeping its other keys (for `[plugins]`, which the user may share with other plugins). */
export function mergeKeys(text: string, section: string, keys: Record<string, string>): string {
  const ini = parseIni(text);
  let s = ini.find((x) => x.name === section);
  if (!s) ini.push((s = { name: section, lines: [] }));
  for (const [k, v] of Object.entries(keys)) {
    const idx = s.lines.findIndex((l) => new RegExp(`^\\s*${k}\\s*=`).test(l));
    if (idx >= 0) s.lines[idx] = `${k} = ${v}`;
    else s.lines.push(`${k} = ${v}`);
  }
  return renderIni(ini);
}

/** Whether this aws CLI reads per-service `endpoint_url` from the config (v1 ≥ 1.29, v2 ≥ 2.13). */
export function cliReadsEndpointConfig(version: string): boolean {
  const m = /aws-cli\/(\d+)\.(\d+)/.exec(version);
  if (!m) return true;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major === 1 ? minor >= 29 : major > 2 || minor >= 13;
}

export function awsCliVersion(bin = 'aws'): string | undefined {
  try {
    return execFileSync(bin, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 }).trim();
  } catch {
    return undefined;
  }
}

export interface AwsProfileOptions {
  profile: string;
  configFile: string;
  credentialsFile: string;
  /** Directory where the plugin for old CLIs is installed (only used when `plugin` is true). */
  pluginDir: string;
  /** Install and enable the endpoint plugin (for aws CLI v2 before 2.13, e.g. Debian 12's 2.9). */
  plugin: boolean;
}

/** Writes `[profile <p>]` (+ `[services <p>-endpoints]`) and `[<p>]` credentials, leaving other profiles alone. */
export function writeAwsProfile(c: CredentialSet, o: AwsProfileOptions): void {
  const svc = `${o.profile}-endpoints`;
  const profileLines = [
    `region = ${c.region}`,
    'output = json',
    `services = ${svc}`,
    ...(['ec2', 'iam', 'sts', 's3'] as const).map((s) => `euca_endpoint_${s} = ${c.endpoints[s]}`),
    's3 =',
    '  addressing_style = path',
  ];
  const servicesLines = (['ec2', 'iam', 'sts', 's3'] as const).flatMap((s) => [`${s} =`, `  endpoint_url = ${c.endpoints[s]}`]);
  mkdirSync(dirname(o.configFile), { recursive: true });
  let config = existsSync(o.configFile) ? readFileSync(o.configFile, 'utf8') : '';
  config = upsertSections(config, { [`profile ${o.profile}`]: profileLines, [`services ${svc}`]: servicesLines });
  if (o.plugin) {
    mkdirSync(o.pluginDir, { recursive: true });
    const here = dirname(fileURLToPath(import.meta.url));
    copyFileSync(join(here, 'awscli', 'euca_awscli_plugin.py'), join(o.pluginDir, 'euca_awscli_plugin.py'));
    config = mergeKeys(config, 'plugins', { euca: 'euca_awscli_plugin', cli_legacy_plugin_path: o.pluginDir });
  }
  writeFileSync(o.configFile, config, { mode: 0o600 });
  let creds = existsSync(o.credentialsFile) ? readFileSync(o.credentialsFile, 'utf8') : '';
  creds = upsertSections(creds, { [o.profile]: [`aws_access_key_id = ${c.accessKeyId}`, `aws_secret_access_key = ${c.secretAccessKey}`] });
  writeFileSync(o.credentialsFile, creds, { mode: 0o600 });
  chmodSync(o.credentialsFile, 0o600);
}
