/**
 * @module main/quotas
 * Eucalyptus quotas on EC2 launches: the `Limit` statements of the account's policies (set by the cloud admin with
 * `euca accounts quota`) and of the caller's own policies cap instances (`ec2:quota-vminstancenumber`), running
 * instances (`…vminstanceactivenumber`), cores (`…cputotalsize`), memory in MiB (`…memorytotalsize`) and root disk in
 * GiB (`…disktotalsize`). A launch that cannot fit MinCount fails with InstanceLimitExceeded naming the limit; one
 * whose MaxCount does not fit is trimmed, as EC2 launches "as many as possible". Wired around the compute handlers
 * here, in the composition root, so the compute component stays unaware of IAM.
 */
import { AwsError } from '../shared/index.js';
import type { IamAuthorizer } from '../clc/index.js';
import { findInstanceType, DEFAULT_INSTANCE_TYPE, type ComputeService } from '../clc/compute/index.js';
import type { HandlerTable } from '../api/gateway/index.js';

const LIVE = ['pending', 'running', 'stopping', 'stopped'];
const ACTIVE = ['pending', 'running'];

export function withEc2Quotas(handlers: HandlerTable, deps: { authz: IamAuthorizer; compute: ComputeService }): HandlerTable {
  const run = handlers.RunInstances;
  const start = handlers.StartInstances;
  if (!run) return handlers;
  return {
    ...handlers,
    // starting stopped instances makes them active again: the running-instance quota applies (the limit is the one
    // set on ec2:RunInstances, as Eucalyptus keeps it)
    ...(start ? {
      StartInstances: {
        ...(start.authz ? { authz: start.authz } : {}),
        handle: async (input: { InstanceIds?: string[] }, ctx) => {
          const limit = (await deps.authz.limits(ctx, 'ec2:RunInstances'))['ec2:quota-vminstanceactivenumber'];
          if (limit && input.InstanceIds?.length) {
            const live = await deps.compute.instances.list(ctx.principal.accountId, { states: LIVE });
            const active = live.filter((i) => ACTIVE.includes(i.state)).length;
            const waking = live.filter((i) => input.InstanceIds!.includes(i.instanceId) && !ACTIVE.includes(i.state)).length;
            if (active + waking > limit.limit) {
              throw new AwsError('InstanceLimitExceeded', `Your quota allows for ${Math.max(0, limit.limit - active)} more running instance(s). You requested ${waking} (limit ${limit.key}: ${limit.limit}).`);
            }
          }
          return start.handle(input, ctx);
        },
      },
    } : {}),
    RunInstances: {
      ...(run.authz ? { authz: run.authz } : {}),
      handle: async (input: { InstanceType?: string; MinCount?: number; MaxCount?: number }, ctx) => {
        const limits = await deps.authz.limits(ctx, 'ec2:RunInstances');
        const keys = Object.keys(limits).filter((k) => k.startsWith('ec2:quota-'));
        const type = findInstanceType(input.InstanceType ?? DEFAULT_INSTANCE_TYPE);
        if (keys.length === 0 || !type || input.MinCount === undefined || input.MaxCount === undefined) return run.handle(input, ctx);
        const live = await deps.compute.instances.list(ctx.principal.accountId, { states: LIVE });
        const sum = (f: (t: { cpu: number; memoryMiB: number; diskGiB: number }) => number): number =>
          live.reduce((n, i) => n + f(findInstanceType(i.instanceType) ?? { cpu: 0, memoryMiB: 0, diskGiB: 0 }), 0);
        let allowed = Infinity;
        let tightest: { key: string; limit: number } | undefined;
        const cap = (key: string, room: number): void => {
          const n = Math.max(0, Math.floor(room));
          if (n < allowed) {
            allowed = n;
            tightest = { key: limits[key]!.key, limit: limits[key]!.limit };
          }
        };
        for (const k of keys) {
          const l = limits[k]!.limit;
          if (k === 'ec2:quota-vminstancenumber') cap(k, l - live.length);
          else if (k === 'ec2:quota-vminstanceactivenumber') cap(k, l - live.filter((i) => ACTIVE.includes(i.state)).length);
          else if (k === 'ec2:quota-cputotalsize') cap(k, (l - sum((t) => t.cpu)) / type.cpu);
          else if (k === 'ec2:quota-memorytotalsize') cap(k, (l - sum((t) => t.memoryMiB)) / type.memoryMiB);
          else if (k === 'ec2:quota-disktotalsize') cap(k, (l - sum((t) => t.diskGiB)) / type.diskGiB);
        }
        if (tightest && allowed < input.MinCount) {
          throw new AwsError('InstanceLimitExceeded',
            `Your quota allows for ${allowed} more instance(s) of type ${type.name}. You requested at least ${input.MinCount} (limit ${tightest.key}: ${tightest.limit}).`);
        }
        return run.handle(allowed < input.MaxCount ? { ...input, MaxCount: allowed } : input, ctx);
      },
    },
  };
}
