/**
 * @module clc/iam/quotas
 * Account quotas as Eucalyptus keeps them: an account policy (`quota`) of `"Effect": "Limit"` statements, one per
 * action, whose `NumericLessThanEquals` conditions cap `<service>:quota-<what>` keys. The cloud admin sets them with
 * `euca accounts quota NAME users=5 instances=10 …`; the IAM, EC2 (and S3) create paths enforce them.
 */
import { AwsError } from '../../shared/index.js';
import type { IamDirectory } from './directory.js';

/** Every quota key we enforce or store, with the action it limits and a short alias for the command line. */
export const QUOTA_KEYS: ReadonlyArray<{ key: string; action: string; alias: string; unit?: string }> = [
  { key: 'iam:quota-usernumber', action: 'iam:CreateUser', alias: 'users' },
  { key: 'iam:quota-groupnumber', action: 'iam:CreateGroup', alias: 'groups' },
  { key: 'iam:quota-rolenumber', action: 'iam:CreateRole', alias: 'roles' },
  { key: 'iam:quota-policynumber', action: 'iam:CreatePolicy', alias: 'policies' },
  { key: 'iam:quota-instanceprofilenumber', action: 'iam:CreateInstanceProfile', alias: 'instance-profiles' },
  { key: 'ec2:quota-vminstancenumber', action: 'ec2:RunInstances', alias: 'instances' },
  { key: 'ec2:quota-vminstanceactivenumber', action: 'ec2:RunInstances', alias: 'active-instances' },
  { key: 'ec2:quota-cputotalsize', action: 'ec2:RunInstances', alias: 'cores' },
  { key: 'ec2:quota-memorytotalsize', action: 'ec2:RunInstances', alias: 'memory', unit: 'MiB' },
  { key: 'ec2:quota-disktotalsize', action: 'ec2:RunInstances', alias: 'disk', unit: 'GiB' },
  { key: 'ec2:quota-imagenumber', action: 'ec2:RegisterImage', alias: 'images' },
  { key: 'ec2:quota-volumenumber', action: 'ec2:CreateVolume', alias: 'volumes' },
  { key: 'ec2:quota-volumetotalsize', action: 'ec2:CreateVolume', alias: 'volume-size', unit: 'GiB' },
  { key: 'ec2:quota-snapshotnumber', action: 'ec2:CreateSnapshot', alias: 'snapshots' },
  { key: 'ec2:quota-addressnumber', action: 'ec2:AllocateAddress', alias: 'addresses' },
  { key: 'ec2:quota-securitygroupnumber', action: 'ec2:CreateSecurityGroup', alias: 'security-groups' },
  { key: 's3:quota-bucketnumber', action: 's3:CreateBucket', alias: 'buckets' },
  { key: 's3:quota-bucketobjectnumber', action: 's3:PutObject', alias: 'bucket-objects' },
  { key: 's3:quota-bucketsize', action: 's3:PutObject', alias: 'bucket-size', unit: 'MiB' },
  { key: 's3:quota-buckettotalsize', action: 's3:PutObject', alias: 'total-bucket-size', unit: 'MiB' },
];

export const QUOTA_POLICY_NAME = 'quota';

function keyFor(name: string): (typeof QUOTA_KEYS)[number] {
  const n = name.toLowerCase();
  const k = QUOTA_KEYS.find((q) => q.key === n || q.alias === n);
  if (!k) throw new AwsError('InvalidInput', `Unknown quota '${name}'. Known: ${QUOTA_KEYS.map((q) => q.alias).join(', ')} (or their keys, e.g. iam:quota-usernumber).`);
  return k;
}

/** The limits of a quota document (key → limit). Other statements are ignored. */
export function readQuotaDocument(doc: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!doc) return out;
  const parsed = JSON.parse(doc) as { Statement?: unknown };
  const list = Array.isArray(parsed.Statement) ? parsed.Statement : parsed.Statement ? [parsed.Statement] : [];
  for (const st of list as Array<{ Effect?: string; Condition?: Record<string, Record<string, unknown>> }>) {
    if (st.Effect !== 'Limit') continue;
    for (const [k, v] of Object.entries(st.Condition?.NumericLessThanEquals ?? {})) {
      const n = Number(Array.isArray(v) ? v[0] : v);
      if (Number.isFinite(n)) out[k.toLowerCase()] = n;
    }
  }
  return out;
}

/** A quota document with one Limit statement per action. */
export function quotaDocument(limits: Record<string, number>): string {
  const byAction = new Map<string, Record<string, string>>();
  for (const [key, limit] of Object.entries(limits)) {
    const q = keyFor(key);
    const cond = byAction.get(q.action) ?? {};
    cond[q.key] = String(limit);
    byAction.set(q.action, cond);
  }
  const Statement = [...byAction].map(([action, cond]) => ({ Effect: 'Limit', Action: action, Resource: '*', Condition: { NumericLessThanEquals: cond } }));
  return JSON.stringify({ Version: '2012-10-17', Statement });
}

/** Parses `users=5`, `iam:quota-usernumber=5`, `cores=none` (removes). */
export function parseQuotaArgs(args: readonly string[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const a of args) {
    const eq = a.lastIndexOf('=');
    if (eq < 1) throw new AwsError('InvalidInput', `Expected NAME=VALUE, got '${a}'.`);
    const q = keyFor(a.slice(0, eq));
    const v = a.slice(eq + 1);
    if (v === 'none' || v === '-' || v === '') out[q.key] = null;
    else if (/^\d+$/.test(v)) out[q.key] = Number(v);
    else throw new AwsError('InvalidInput', `Quota ${q.alias} must be a whole number (or 'none'), got '${v}'.`);
  }
  return out;
}

export async function getAccountQuotas(dir: IamDirectory, accountId: string): Promise<Record<string, number>> {
  const docs = await dir.accountPolicyDocuments(accountId);
  return readQuotaDocument(docs.find((d) => d.name === `account/${QUOTA_POLICY_NAME}`)?.document);
}

/** Applies changes (null removes a quota) to the account's quota policy; returns the resulting limits. */
export async function setAccountQuotas(dir: IamDirectory, accountId: string, changes: Record<string, number | null>): Promise<Record<string, number>> {
  const limits = await getAccountQuotas(dir, accountId);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete limits[k];
    else limits[k] = v;
  }
  if (Object.keys(limits).length === 0) {
    await dir.deleteInlinePolicy(accountId, 'account', accountId, QUOTA_POLICY_NAME).catch(() => undefined);
  } else {
    await dir.putInlinePolicy(accountId, 'account', accountId, QUOTA_POLICY_NAME, quotaDocument(limits));
  }
  return limits;
}

/** `users = 5` lines for display. */
export function describeQuotas(limits: Record<string, number>): string[] {
  return QUOTA_KEYS.filter((q) => limits[q.key] !== undefined).map((q) => `${q.alias.padEnd(18)} ${String(limits[q.key]).padStart(8)}${q.unit ? ` ${q.unit}` : ''}   (${q.key} on ${q.action})`);
}
