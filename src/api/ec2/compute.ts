/**
 * @module api/ec2/compute
 * EC2 handlers of the compute domain: instances, instance types, key pairs, images, tags and availability zones.
 * Thin: read the typed input, call clc/compute, shape the output by the EC2 model's member names.
 */
import { AwsError } from '../../shared/index.js';
import type { AuthzRequest, HandlerTable, OperationHandler, RequestContext } from '../gateway/contract.js';
import {
  INSTANCE_TYPES, findInstanceType, validateTag, STATE_CODES,
  type ComputeService, type Instance, type Image, type KeyPair, type Tag, type StateChange, type InstanceStateName,
} from '../../clc/compute/index.js';
import type * as T from '../../gen/ec2/types.js';
import { applyFilters, paginate as pageOf, type FilterTable } from '../../protocol/index.js';
import { checkMaxResults, encodeToken, decodeToken, hasWildcard } from './describe.js';
import { createRegionHandlers } from './regions.js';

/** Pages sorted items (protocol's engine), after MaxResults was checked by the caller. */
function paginate<X>(items: X[], _key: (x: X) => string, max: number | undefined, token: string | undefined, scope = 'compute') {
  return pageOf(items, { ...(max !== undefined ? { MaxResults: max } : {}), ...(token !== undefined ? { NextToken: token } : {}) }, { scope, min: 1, max: 10_000 });
}

type Ctx = RequestContext;

const arn = (ctx: Ctx, type: string, id = '*', account = ctx.principal.accountId) => `arn:aws:ec2:${ctx.region}:${account}:${type}/${id}`;
const authz = (action: string, resources: string[]): AuthzRequest[] => [{ action: `ec2:${action}`, resources }];

function dryRun(input: { DryRun?: boolean }): void {
  if (input.DryRun) throw new AwsError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', { status: 412 });
}

function handler<I extends { DryRun?: boolean }, O>(
  az: (input: I, ctx: Ctx) => AuthzRequest[],
  handle: (input: I, ctx: Ctx) => Promise<O>,
): OperationHandler<I, O> {
  return {
    authz: az,
    handle: async (input, ctx) => {
      dryRun(input);
      return handle(input, ctx);
    },
  };
}

const tagShape = (tags: Tag[] | undefined): T.Tag[] => (tags ?? []).map((t) => ({ Key: t.key, Value: t.value }));

function tagsFor(specs: T.TagSpecification[] | undefined, resourceType: string, allowed: string[]): Tag[] {
  const out: Tag[] = [];
  for (const s of specs ?? []) {
    if (!s.ResourceType || !allowed.includes(s.ResourceType)) {
      throw new AwsError('InvalidParameterValue', `'${s.ResourceType ?? ''}' is not a valid taggable resource type for this operation.`);
    }
    if (s.ResourceType === resourceType) for (const t of s.Tags ?? []) out.push(validateTag(t));
  }
  return out;
}

const stateShape = (name: InstanceStateName): T.InstanceState => ({ Code: STATE_CODES[name], Name: name });

export function instanceShape(i: Instance, tags: Tag[] | undefined): T.Instance {
  return {
    InstanceId: i.instanceId,
    ImageId: i.imageId,
    State: stateShape(i.state),
    PrivateDnsName: i.privateDnsName,
    PublicDnsName: i.publicDnsName,
    StateTransitionReason: i.stateTransitionReason,
    ...(i.keyName ? { KeyName: i.keyName } : {}),
    AmiLaunchIndex: i.launchIndex,
    ProductCodes: [],
    InstanceType: i.instanceType as T.InstanceType,
    LaunchTime: i.launchTime,
    Placement: { AvailabilityZone: i.zone, GroupName: '', Tenancy: 'default' },
    ...(i.kernelId ? { KernelId: i.kernelId } : {}),
    ...(i.ramdiskId ? { RamdiskId: i.ramdiskId } : {}),
    Monitoring: { State: 'disabled' },
    ...(i.privateIp ? { PrivateIpAddress: i.privateIp } : {}),
    ...(i.publicIp ? { PublicIpAddress: i.publicIp } : {}),
    ...(i.stateReason ? { StateReason: { Code: i.stateReason.code, Message: i.stateReason.message } } : {}),
    Architecture: 'x86_64',
    RootDeviceType: 'instance-store',
    RootDeviceName: i.rootDeviceName,
    BlockDeviceMappings: [],
    VirtualizationType: i.virtualizationType as T.VirtualizationType,
    ...(i.clientToken ? { ClientToken: i.clientToken } : {}),
    Tags: tagShape(tags),
    SecurityGroups: [],
    Hypervisor: 'xen',
    NetworkInterfaces: [],
    EbsOptimized: false,
  };
}

const INSTANCE_FILTERS: FilterTable<Instance> = {
  'instance-id': (i) => i.instanceId,
  'instance-state-name': (i) => i.state,
  'instance-state-code': (i) => i.stateCode,
  'instance-type': (i) => i.instanceType,
  'image-id': (i) => i.imageId,
  'key-name': (i) => i.keyName,
  'reservation-id': (i) => i.reservationId,
  'availability-zone': (i) => i.zone,
  'placement-availability-zone': (i) => i.zone,
  'private-ip-address': (i) => i.privateIp,
  'network-interface.addresses.private-ip-address': (i) => i.privateIp,
  'ip-address': (i) => i.publicIp,
  'private-dns-name': (i) => i.privateDnsName,
  'dns-name': (i) => i.publicDnsName,
  'kernel-id': (i) => i.kernelId,
  'ramdisk-id': (i) => i.ramdiskId,
  'owner-id': (i) => i.ownerId,
  'requester-id': (i) => i.requesterId,
  'launch-index': (i) => i.launchIndex,
  'ami-launch-index': (i) => i.launchIndex,
  'root-device-type': (i) => i.rootDeviceType,
  'root-device-name': (i) => i.rootDeviceName,
  'architecture': () => 'x86_64',
  'virtualization-type': (i) => i.virtualizationType,
  'hypervisor': () => 'xen',
  'client-token': (i) => i.clientToken,
  'launch-time': (i) => i.launchTime.toISOString(),
  'state-reason-code': (i) => i.stateReason?.code,
  'state-reason-message': (i) => i.stateReason?.message,
  'tenancy': () => 'default',
  'monitoring-state': () => 'disabled',
  'product-code': () => undefined,
};

/** Filters that the database can answer (exact values): filter name → column. */
const PUSHDOWN: Record<string, 'instance_type' | 'image_id' | 'zone' | 'reservation_id' | 'key_name' | 'private_ip'> = {
  'instance-type': 'instance_type',
  'image-id': 'image_id',
  'availability-zone': 'zone',
  'placement-availability-zone': 'zone',
  'reservation-id': 'reservation_id',
  'key-name': 'key_name',
  'private-ip-address': 'private_ip',
};

function changeShape(c: StateChange): T.InstanceStateChange {
  return { InstanceId: c.instanceId, PreviousState: stateShape(c.previous), CurrentState: stateShape(c.current) };
}

function groupReservations(instances: Instance[], tags: Map<string, Tag[]>): T.Reservation[] {
  const by = new Map<string, T.Reservation>();
  for (const i of instances) {
    let r = by.get(i.reservationId);
    if (!r) {
      r = { ReservationId: i.reservationId, OwnerId: i.ownerId, RequesterId: i.requesterId, Groups: [], Instances: [] };
      by.set(i.reservationId, r);
    }
    r.Instances!.push(instanceShape(i, tags.get(i.instanceId)));
  }
  return [...by.values()];
}

function imageShape(img: Image, tags: Tag[] | undefined, systemAccountId?: string): T.Image {
  return {
    ImageId: img.imageId,
    ImageLocation: img.location,
    State: img.state as T.ImageState,
    OwnerId: img.ownerId,
    ...(systemAccountId && img.ownerId === systemAccountId ? { ImageOwnerAlias: 'eucalyptus' } : {}),
    CreationDate: img.createdAt.toISOString(),
    Public: img.isPublic,
    Architecture: img.architecture as T.ArchitectureValues,
    ImageType: img.imageType,
    ...(img.kernelId ? { KernelId: img.kernelId } : {}),
    ...(img.ramdiskId ? { RamdiskId: img.ramdiskId } : {}),
    Name: img.name,
    ...(img.description ? { Description: img.description } : {}),
    RootDeviceType: 'instance-store',
    RootDeviceName: img.rootDeviceName,
    BlockDeviceMappings: [],
    VirtualizationType: img.virtualizationType as T.VirtualizationType,
    Hypervisor: 'xen',
    ProductCodes: [],
    Tags: tagShape(tags),
  };
}

const IMAGE_FILTERS: FilterTable<Image> = {
  'image-id': (i) => i.imageId,
  'image-type': (i) => i.imageType,
  'name': (i) => i.name,
  'description': (i) => i.description,
  'owner-id': (i) => i.ownerId,
  'owner-alias': (i) => i.ownerId,
  'state': (i) => i.state,
  'architecture': (i) => i.architecture,
  'is-public': (i) => i.isPublic,
  'kernel-id': (i) => i.kernelId,
  'ramdisk-id': (i) => i.ramdiskId,
  'manifest-location': (i) => i.location,
  'root-device-type': (i) => i.rootDeviceType,
  'root-device-name': (i) => i.rootDeviceName,
  'virtualization-type': (i) => i.virtualizationType,
  'hypervisor': () => 'xen',
};

function keyShape(k: KeyPair, tags: Tag[] | undefined, includePublic: boolean): T.KeyPairInfo {
  return {
    KeyPairId: k.keyPairId,
    KeyName: k.name,
    KeyFingerprint: k.fingerprint,
    KeyType: k.keyType,
    CreateTime: k.createdAt,
    ...(includePublic ? { PublicKey: k.publicKey } : {}),
    Tags: tagShape(tags),
  };
}

const KEY_FILTERS: FilterTable<KeyPair> = {
  'key-pair-id': (k) => k.keyPairId,
  'key-name': (k) => k.name,
  'fingerprint': (k) => k.fingerprint,
  'key-type': (k) => k.keyType,
};

function attrBool(v: T.AttributeBooleanValue | undefined): boolean | undefined {
  return v?.Value;
}

/** Builds the compute handlers over a ComputeService. */
export function computeHandlers(svc: ComputeService): HandlerTable {
  const acct = (ctx: Ctx) => ctx.principal.accountId;
  const inst = svc.instances;

  const describeInstancesRaw = async (ctx: Ctx, ids: string[] | undefined, filters: T.Filter[] | undefined, max: number | undefined, token: string | undefined) => {
    const where: Partial<Record<(typeof PUSHDOWN)[string], string[]>> = {};
    let states: string[] | undefined;
    let idFilter: string[] | undefined = ids?.length ? ids : undefined;
    const rest: T.Filter[] = [];
    const tagConds: Array<{ key: string; values?: string[] }> = [];
    for (const f of filters ?? []) {
      const values = f.Values ?? [];
      const name = f.Name ?? '';
      if (!values.some(hasWildcard) && name.startsWith('tag:')) {
        tagConds.push({ key: name.slice(4), values });
        continue;
      }
      if (!values.some(hasWildcard) && name === 'tag-key' && values.length === 1) {
        tagConds.push({ key: values[0]! });
        continue;
      }
      const col = PUSHDOWN[name];
      if (values.some(hasWildcard) || (!col && f.Name !== 'instance-state-name' && f.Name !== 'instance-id')) {
        rest.push(f);
        continue;
      }
      if (f.Name === 'instance-state-name') states = states ? states.filter((s) => values.includes(s)) : values;
      else if (f.Name === 'instance-id') idFilter = idFilter ? idFilter.filter((s) => values.includes(s)) : values;
      else where[col!] = where[col!] ? where[col!]!.filter((s) => values.includes(s)) : values;
    }
    // Validate every filter name (including pushed-down ones) before answering.
    applyFilters([] as Instance[], filters, INSTANCE_FILTERS, () => []);
    const needTags = rest.some((f) => f.Name?.startsWith('tag'));
    const base = { ...(idFilter ? { ids: idFilter } : {}), ...(states ? { states } : {}), where, ...(tagConds.length ? { tags: tagConds } : {}) };
    const checkIds = (rows: Instance[]) => {
      // Named instances that do not exist fail the call (not just filter to nothing).
      const missing = (ids ?? []).filter((id) => !rows.some((r) => r.instanceId === id));
      if (missing.length === 0) return Promise.resolve();
      return inst.require(acct(ctx), missing).then(() => undefined);
    };
    if (rest.length === 0) {
      // Everything in SQL: page there too.
      const after = decodeToken(token);
      const rows = await inst.list(acct(ctx), { ...base, ...(after ? { afterId: after } : {}), ...(max ? { limit: max + 1 } : {}) });
      if (ids?.length && Object.keys(where).length === 0 && !states && !tagConds.length && !filters?.length) await checkIds(rows);
      else if (ids?.length) await inst.require(acct(ctx), ids);
      const page = max ? rows.slice(0, max) : rows;
      const tags = await svc.tags.forResources(acct(ctx), page.map((r) => r.instanceId));
      return { page, tags, ...(max && rows.length > max ? { nextToken: encodeToken(page[page.length - 1]!.instanceId) } : {}) };
    }
    if (ids?.length) await inst.require(acct(ctx), ids);
    const rows = await inst.list(acct(ctx), base);
    const allTags = needTags ? await svc.tags.forResources(acct(ctx), rows.map((r) => r.instanceId)) : new Map<string, Tag[]>();
    const filtered = applyFilters(rows, rest, INSTANCE_FILTERS, (i) => (allTags.get(i.instanceId) ?? []).map((t) => ({ Key: t.key, Value: t.value })));
    const { page, nextToken } = paginate(filtered, (i) => i.instanceId, max, token);
    const tags = needTags ? allTags : await svc.tags.forResources(acct(ctx), page.map((r) => r.instanceId));
    return { page, tags, ...(nextToken ? { nextToken } : {}) };
  };

  const table: Record<string, OperationHandler<any, any>> = {
    // ---------------------------------------------------------------- instances
    RunInstances: handler<T.RunInstancesRequest, T.Reservation>(
      (i, ctx) => authz('RunInstances', [arn(ctx, 'instance'), `arn:aws:ec2:${ctx.region}::image/${i.ImageId ?? '*'}`]),
      async (i, ctx) => {
        if (i.MinCount === undefined) throw new AwsError('MissingParameter', 'The request must contain the parameter MinCount');
        if (i.MaxCount === undefined) throw new AwsError('MissingParameter', 'The request must contain the parameter MaxCount');
        const instanceTags = tagsFor(i.TagSpecifications, 'instance', ['instance', 'volume', 'network-interface']);
        const r = await inst.run(acct(ctx), ctx.principal.userId, {
          ...(i.ImageId !== undefined ? { imageId: i.ImageId } : {}),
          ...(i.InstanceType !== undefined ? { instanceType: i.InstanceType } : {}),
          minCount: i.MinCount,
          maxCount: i.MaxCount,
          ...(i.KeyName !== undefined ? { keyName: i.KeyName } : {}),
          ...(i.UserData !== undefined ? { userData: i.UserData } : {}),
          ...(i.Placement?.AvailabilityZone ? { zone: i.Placement.AvailabilityZone } : {}),
          ...(i.ClientToken !== undefined ? { clientToken: i.ClientToken } : {}),
          ...(i.KernelId !== undefined ? { kernelId: i.KernelId } : {}),
          ...(i.RamdiskId !== undefined ? { ramdiskId: i.RamdiskId } : {}),
          ...(i.DisableApiTermination !== undefined ? { disableApiTermination: i.DisableApiTermination } : {}),
          ...(i.InstanceInitiatedShutdownBehavior !== undefined ? { instanceInitiatedShutdownBehavior: i.InstanceInitiatedShutdownBehavior } : {}),
          instanceTags,
        });
        svc.kick();
        const tags = await svc.tags.forResources(acct(ctx), r.instances.map((x) => x.instanceId));
        return { ReservationId: r.reservationId, OwnerId: r.ownerId, RequesterId: r.requesterId, Groups: [], Instances: r.instances.map((x) => instanceShape(x, tags.get(x.instanceId))) };
      },
    ),
    DescribeInstances: handler<T.DescribeInstancesRequest, T.DescribeInstancesResult>(
      (_i, ctx) => authz('DescribeInstances', ['*']).map((a) => ({ ...a, resources: [arn(ctx, 'instance')] })),
      async (i, ctx) => {
        const max = checkMaxResults(i.MaxResults, 5, 1000, !!i.InstanceIds?.length);
        const { page, tags, nextToken } = await describeInstancesRaw(ctx, i.InstanceIds, i.Filters, max, i.NextToken);
        return { Reservations: groupReservations(page, tags), ...(nextToken ? { NextToken: nextToken } : {}) };
      },
    ),
    DescribeInstanceStatus: handler<T.DescribeInstanceStatusRequest, T.DescribeInstanceStatusResult>(
      (_i, ctx) => authz('DescribeInstanceStatus', [arn(ctx, 'instance')]),
      async (i, ctx) => {
        const max = checkMaxResults(i.MaxResults, 5, 1000, !!i.InstanceIds?.length);
        if (i.InstanceIds?.length) await inst.require(acct(ctx), i.InstanceIds);
        let rows = await inst.list(acct(ctx), i.InstanceIds?.length ? { ids: i.InstanceIds } : {});
        if (!i.IncludeAllInstances) rows = rows.filter((r) => r.state === 'running');
        const status = (r: Instance): T.SummaryStatus => (r.state === 'running' ? (r.reportedState === 'running' ? 'ok' : 'initializing') : 'not-applicable');
        const filtered = applyFilters(rows, i.Filters, {
          'availability-zone': (r) => r.zone,
          'instance-state-name': (r) => r.state,
          'instance-state-code': (r) => r.stateCode,
          'instance-status.status': (r) => status(r),
          'system-status.status': (r) => status(r),
          'instance-status.reachability': (r) => (status(r) === 'ok' ? 'passed' : status(r) === 'initializing' ? 'initializing' : undefined),
          'system-status.reachability': (r) => (status(r) === 'ok' ? 'passed' : status(r) === 'initializing' ? 'initializing' : undefined),
        });
        const { page, nextToken } = paginate(filtered, (r) => r.instanceId, max, i.NextToken);
        const summary = (r: Instance): T.InstanceStatusSummary => {
          const s = status(r);
          return { Status: s, Details: s === 'not-applicable' ? [] : [{ Name: 'reachability', Status: s === 'ok' ? 'passed' : 'initializing' }] };
        };
        return {
          InstanceStatuses: page.map((r) => ({
            InstanceId: r.instanceId, AvailabilityZone: r.zone, InstanceState: stateShape(r.state), InstanceStatus: summary(r), SystemStatus: summary(r), Events: [],
          })),
          ...(nextToken ? { NextToken: nextToken } : {}),
        };
      },
    ),
    TerminateInstances: handler<T.TerminateInstancesRequest, T.TerminateInstancesResult>(
      (i, ctx) => authz('TerminateInstances', (i.InstanceIds ?? []).map((id) => arn(ctx, 'instance', id))),
      async (i, ctx) => {
        if (!i.InstanceIds?.length) throw new AwsError('MissingParameter', 'The request must contain the parameter InstanceId');
        const changes = await inst.terminate(acct(ctx), i.InstanceIds);
        svc.kick();
        return { TerminatingInstances: changes.map(changeShape) };
      },
    ),
    StopInstances: handler<T.StopInstancesRequest, T.StopInstancesResult>(
      (i, ctx) => authz('StopInstances', (i.InstanceIds ?? []).map((id) => arn(ctx, 'instance', id))),
      async (i, ctx) => {
        if (!i.InstanceIds?.length) throw new AwsError('MissingParameter', 'The request must contain the parameter InstanceId');
        const changes = await inst.stop(acct(ctx), i.InstanceIds, i.Force ?? false);
        svc.kick();
        return { StoppingInstances: changes.map(changeShape) };
      },
    ),
    StartInstances: handler<T.StartInstancesRequest, T.StartInstancesResult>(
      (i, ctx) => authz('StartInstances', (i.InstanceIds ?? []).map((id) => arn(ctx, 'instance', id))),
      async (i, ctx) => {
        if (!i.InstanceIds?.length) throw new AwsError('MissingParameter', 'The request must contain the parameter InstanceId');
        const changes = await inst.start(acct(ctx), i.InstanceIds);
        svc.kick();
        return { StartingInstances: changes.map(changeShape) };
      },
    ),
    RebootInstances: handler<T.RebootInstancesRequest, Record<string, never>>(
      (i, ctx) => authz('RebootInstances', (i.InstanceIds ?? []).map((id) => arn(ctx, 'instance', id))),
      async (i, ctx) => {
        if (!i.InstanceIds?.length) throw new AwsError('MissingParameter', 'The request must contain the parameter InstanceId');
        await inst.reboot(acct(ctx), i.InstanceIds);
        return {};
      },
    ),
    GetConsoleOutput: handler<T.GetConsoleOutputRequest, T.GetConsoleOutputResult>(
      (i, ctx) => authz('GetConsoleOutput', [arn(ctx, 'instance', i.InstanceId ?? '*')]),
      async (i, ctx) => {
        if (!i.InstanceId) throw new AwsError('MissingParameter', 'The request must contain the parameter InstanceId');
        const r = await inst.consoleOutput(acct(ctx), i.InstanceId);
        return { InstanceId: r.instanceId, Timestamp: r.timestamp, ...(r.output !== undefined ? { Output: r.output } : {}) };
      },
    ),
    DescribeInstanceAttribute: handler<T.DescribeInstanceAttributeRequest, T.InstanceAttribute>(
      (i, ctx) => authz('DescribeInstanceAttribute', [arn(ctx, 'instance', i.InstanceId ?? '*')]),
      async (i, ctx) => {
        if (!i.InstanceId) throw new AwsError('MissingParameter', 'The request must contain the parameter InstanceId');
        if (!i.Attribute) throw new AwsError('MissingParameter', 'The request must contain the parameter Attribute');
        const [x] = await inst.require(acct(ctx), [i.InstanceId]);
        const r = x!;
        const base = { InstanceId: r.instanceId };
        switch (i.Attribute) {
          case 'instanceType': return { ...base, InstanceType: { Value: r.instanceType } };
          case 'kernel': return { ...base, KernelId: r.kernelId ? { Value: r.kernelId } : {} };
          case 'ramdisk': return { ...base, RamdiskId: r.ramdiskId ? { Value: r.ramdiskId } : {} };
          case 'userData': return { ...base, UserData: r.userData ? { Value: r.userData } : {} };
          case 'disableApiTermination': return { ...base, DisableApiTermination: { Value: !!r.attributes.disableApiTermination } };
          case 'disableApiStop': return { ...base, DisableApiStop: { Value: false } };
          case 'instanceInitiatedShutdownBehavior': return { ...base, InstanceInitiatedShutdownBehavior: { Value: r.attributes.instanceInitiatedShutdownBehavior ?? 'stop' } };
          case 'rootDeviceName': return { ...base, RootDeviceName: { Value: r.rootDeviceName } };
          case 'blockDeviceMapping': return { ...base, BlockDeviceMappings: [] };
          case 'groupSet': return { ...base, Groups: [] };
          case 'productCodes': return { ...base, ProductCodes: [] };
          case 'sourceDestCheck': return { ...base, SourceDestCheck: { Value: true } };
          case 'ebsOptimized': return { ...base, EbsOptimized: { Value: false } };
          case 'enaSupport': return { ...base, EnaSupport: { Value: false } };
          default: throw new AwsError('InvalidParameterValue', `Value (${String(i.Attribute)}) for parameter attribute is invalid. Unknown attribute.`);
        }
      },
    ),
    ModifyInstanceAttribute: handler<T.ModifyInstanceAttributeRequest, Record<string, never>>(
      (i, ctx) => authz('ModifyInstanceAttribute', [arn(ctx, 'instance', i.InstanceId ?? '*')]),
      async (i, ctx) => {
        if (!i.InstanceId) throw new AwsError('MissingParameter', 'The request must contain the parameter InstanceId');
        const change: Parameters<typeof inst.modifyAttributes>[2] = {};
        const attr = i.Attribute;
        const value = i.Value;
        if (i.InstanceType?.Value !== undefined || (attr === 'instanceType' && value !== undefined)) change.instanceType = i.InstanceType?.Value ?? value!;
        if (i.UserData?.Value !== undefined || (attr === 'userData' && value !== undefined)) {
          const raw = i.UserData?.Value as unknown;
          change.userData = raw === undefined ? value! : Buffer.isBuffer(raw) ? raw.toString('base64') : String(raw);
        }
        const dat = attrBool(i.DisableApiTermination) ?? (attr === 'disableApiTermination' && value !== undefined ? value === 'true' : undefined);
        if (dat !== undefined) change.disableApiTermination = dat;
        const sb = i.InstanceInitiatedShutdownBehavior?.Value ?? (attr === 'instanceInitiatedShutdownBehavior' ? value : undefined);
        if (sb !== undefined) change.instanceInitiatedShutdownBehavior = sb;
        if (Object.keys(change).length === 0) {
          if (i.Groups || i.SourceDestCheck || i.Kernel || i.Ramdisk || i.EbsOptimized || i.BlockDeviceMappings) throw new AwsError('UnsupportedOperation', 'Modifying this attribute is not supported by this cloud');
          throw new AwsError('MissingParameter', 'No attributes specified.');
        }
        await inst.modifyAttributes(acct(ctx), i.InstanceId, change);
        return {};
      },
    ),
    DescribeInstanceTypes: handler<T.DescribeInstanceTypesRequest, T.DescribeInstanceTypesResult>(
      () => authz('DescribeInstanceTypes', ['*']),
      async (i) => {
        const max = checkMaxResults(i.MaxResults, 5, 100, false);
        for (const t of i.InstanceTypes ?? []) if (!findInstanceType(t)) throw new AwsError('InvalidInstanceType', `The following supplied instance types do not exist: [${t}]`);
        let types = INSTANCE_TYPES.filter((t) => !i.InstanceTypes?.length || i.InstanceTypes.includes(t.name as T.InstanceType));
        types = applyFilters(types, i.Filters, {
          'instance-type': (t) => t.name,
          'vcpu-info.default-vcpus': (t) => t.cpu,
          'memory-info.size-in-mib': (t) => t.memoryMiB,
          'instance-storage-supported': (t) => !t.ebsOnly,
          'instance-storage-info.total-size-in-gb': (t) => t.diskGiB,
          'current-generation': () => true,
        });
        const { page, nextToken } = paginate([...types].sort((a, b) => (a.name < b.name ? -1 : 1)), (t) => t.name, max, i.NextToken);
        return {
          InstanceTypes: page.map((t) => ({
            InstanceType: t.name as T.InstanceType,
            CurrentGeneration: true,
            FreeTierEligible: false,
            SupportedUsageClasses: ['on-demand'],
            SupportedRootDeviceTypes: t.ebsOnly ? ['ebs'] : ['ebs', 'instance-store'],
            SupportedVirtualizationTypes: ['hvm', 'paravirtual'],
            BareMetal: false,
            Hypervisor: 'xen',
            ProcessorInfo: { SupportedArchitectures: ['x86_64'] },
            VCpuInfo: { DefaultVCpus: t.cpu, DefaultCores: t.cpu, DefaultThreadsPerCore: 1 },
            MemoryInfo: { SizeInMiB: t.memoryMiB },
            InstanceStorageSupported: !t.ebsOnly,
            ...(t.ebsOnly ? {} : { InstanceStorageInfo: { TotalSizeInGB: t.diskGiB, Disks: [{ SizeInGB: t.diskGiB, Count: 1, Type: 'hdd' }] } }),
            NetworkInfo: { MaximumNetworkInterfaces: t.enis, Ipv4AddressesPerInterface: 1, Ipv6Supported: false, NetworkPerformance: 'Moderate' },
          })),
          ...(nextToken ? { NextToken: nextToken } : {}),
        };
      },
    ),

    // ---------------------------------------------------------------- key pairs
    CreateKeyPair: handler<T.CreateKeyPairRequest, T.KeyPair>(
      (i, ctx) => authz('CreateKeyPair', [arn(ctx, 'key-pair', i.KeyName ?? '*')]),
      async (i, ctx) => {
        const type = i.KeyType ?? 'rsa';
        const format = i.KeyFormat ?? 'pem';
        if (type !== 'rsa' && type !== 'ed25519') throw new AwsError('InvalidParameterValue', `Value (${String(type)}) for parameter KeyType is invalid.`);
        if (format !== 'pem' && format !== 'ppk') throw new AwsError('InvalidParameterValue', `Value (${String(format)}) for parameter KeyFormat is invalid.`);
        const tags = tagsFor(i.TagSpecifications, 'key-pair', ['key-pair']);
        const k = await svc.keyPairs.create(acct(ctx), i.KeyName, type, format, tags);
        return { KeyName: k.name, KeyFingerprint: k.fingerprint, KeyMaterial: k.keyMaterial, KeyPairId: k.keyPairId, Tags: tagShape(tags) };
      },
    ),
    ImportKeyPair: handler<T.ImportKeyPairRequest, T.ImportKeyPairResult>(
      (i, ctx) => authz('ImportKeyPair', [arn(ctx, 'key-pair', i.KeyName ?? '*')]),
      async (i, ctx) => {
        const tags = tagsFor(i.TagSpecifications, 'key-pair', ['key-pair']);
        const k = await svc.keyPairs.import(acct(ctx), i.KeyName, i.PublicKeyMaterial, tags);
        return { KeyName: k.name, KeyFingerprint: k.fingerprint, KeyPairId: k.keyPairId, Tags: tagShape(tags) };
      },
    ),
    DeleteKeyPair: handler<T.DeleteKeyPairRequest, T.DeleteKeyPairResult>(
      (i, ctx) => authz('DeleteKeyPair', [arn(ctx, 'key-pair', i.KeyName ?? i.KeyPairId ?? '*')]),
      async (i, ctx) => {
        const k = await svc.keyPairs.delete(acct(ctx), { ...(i.KeyName ? { name: i.KeyName } : {}), ...(i.KeyPairId ? { id: i.KeyPairId } : {}) });
        return { Return: true, ...(k ? { KeyPairId: k.keyPairId } : {}) };
      },
    ),
    DescribeKeyPairs: handler<T.DescribeKeyPairsRequest, T.DescribeKeyPairsResult>(
      (_i, ctx) => authz('DescribeKeyPairs', [arn(ctx, 'key-pair')]),
      async (i, ctx) => {
        const keys = await svc.keyPairs.describe(acct(ctx), i.KeyNames ?? [], i.KeyPairIds ?? []);
        const tags = await svc.tags.forResources(acct(ctx), keys.map((k) => k.keyPairId));
        const filtered = applyFilters(keys, i.Filters, KEY_FILTERS, (k) => (tags.get(k.keyPairId) ?? []).map((t) => ({ Key: t.key, Value: t.value })));
        return { KeyPairs: filtered.map((k) => keyShape(k, tags.get(k.keyPairId), !!i.IncludePublicKey)) };
      },
    ),

    // ---------------------------------------------------------------- images
    RegisterImage: handler<T.RegisterImageRequest, T.RegisterImageResult>(
      (_i, ctx) => authz('RegisterImage', [`arn:aws:ec2:${ctx.region}::image/*`]),
      async (i, ctx) => {
        const tags = tagsFor(i.TagSpecifications, 'image', ['image']);
        const img = await svc.images.register(acct(ctx), {
          name: i.Name,
          ...(i.Description !== undefined ? { description: i.Description } : {}),
          ...(i.ImageLocation !== undefined ? { imageLocation: i.ImageLocation } : {}),
          ...(i.Architecture !== undefined ? { architecture: i.Architecture } : {}),
          ...(i.KernelId !== undefined ? { kernelId: i.KernelId } : {}),
          ...(i.RamdiskId !== undefined ? { ramdiskId: i.RamdiskId } : {}),
          ...(i.RootDeviceName !== undefined ? { rootDeviceName: i.RootDeviceName } : {}),
          ...(i.VirtualizationType !== undefined ? { virtualizationType: i.VirtualizationType } : {}),
        }, tags);
        return { ImageId: img.imageId };
      },
    ),
    DescribeImages: handler<T.DescribeImagesRequest, T.DescribeImagesResult>(
      () => authz('DescribeImages', ['*']),
      async (i, ctx) => {
        const max = checkMaxResults(i.MaxResults, 5, 1000, !!i.ImageIds?.length);
        const images = await svc.images.describe(acct(ctx), {
          ...(i.ImageIds ? { imageIds: i.ImageIds } : {}),
          ...(i.Owners ? { owners: i.Owners } : {}),
          ...(i.ExecutableUsers ? { executableBy: i.ExecutableUsers } : {}),
          ...(svc.systemAccountId ? { systemAccountId: svc.systemAccountId } : {}),
        });
        // Tags are the caller's own (tags are per account).
        const tags = await svc.tags.forResources(acct(ctx), images.map((x) => x.imageId));
        const filtered = applyFilters(images, i.Filters, IMAGE_FILTERS, (x) => (tags.get(x.imageId) ?? []).map((t) => ({ Key: t.key, Value: t.value })));
        const { page, nextToken } = paginate(filtered, (x) => x.imageId, max, i.NextToken);
        return { Images: page.map((x) => imageShape(x, tags.get(x.imageId), svc.systemAccountId)), ...(nextToken ? { NextToken: nextToken } : {}) };
      },
    ),
    DeregisterImage: handler<T.DeregisterImageRequest, T.DeregisterImageResult>(
      (i, ctx) => authz('DeregisterImage', [`arn:aws:ec2:${ctx.region}::image/${i.ImageId ?? '*'}`]),
      async (i, ctx) => {
        if (!i.ImageId) throw new AwsError('MissingParameter', 'The request must contain the parameter ImageId');
        await svc.images.deregister(acct(ctx), i.ImageId);
        return { Return: true };
      },
    ),
    DescribeImageAttribute: handler<T.DescribeImageAttributeRequest, T.ImageAttribute>(
      (i, ctx) => authz('DescribeImageAttribute', [`arn:aws:ec2:${ctx.region}::image/${i.ImageId ?? '*'}`]),
      async (i, ctx) => {
        if (!i.ImageId) throw new AwsError('MissingParameter', 'The request must contain the parameter ImageId');
        if (!i.Attribute) throw new AwsError('MissingParameter', 'The request must contain the parameter Attribute');
        const a = await svc.images.describeAttribute(acct(ctx), i.ImageId, i.Attribute);
        const out: T.ImageAttribute = { ImageId: i.ImageId };
        if ('launchPermissions' in a) out.LaunchPermissions = a.launchPermissions!.map((p) => (p.group ? { Group: 'all' } : { UserId: p.userId! }));
        if ('description' in a) out.Description = a.description !== undefined ? { Value: a.description } : {};
        if ('kernelId' in a) out.KernelId = a.kernelId ? { Value: a.kernelId } : {};
        if ('ramdiskId' in a) out.RamdiskId = a.ramdiskId ? { Value: a.ramdiskId } : {};
        if ('blockDeviceMappings' in a) out.BlockDeviceMappings = [];
        if ('productCodes' in a) out.ProductCodes = [];
        return out;
      },
    ),
    ModifyImageAttribute: handler<T.ModifyImageAttributeRequest, Record<string, never>>(
      (i, ctx) => authz('ModifyImageAttribute', [`arn:aws:ec2:${ctx.region}::image/${i.ImageId ?? '*'}`]),
      async (i, ctx) => {
        if (!i.ImageId) throw new AwsError('MissingParameter', 'The request must contain the parameter ImageId');
        const add: Array<{ group?: string; userId?: string }> = [];
        const remove: Array<{ group?: string; userId?: string }> = [];
        for (const p of i.LaunchPermission?.Add ?? []) add.push({ ...(p.Group ? { group: p.Group } : {}), ...(p.UserId ? { userId: p.UserId } : {}) });
        for (const p of i.LaunchPermission?.Remove ?? []) remove.push({ ...(p.Group ? { group: p.Group } : {}), ...(p.UserId ? { userId: p.UserId } : {}) });
        // The older form: Attribute=launchPermission OperationType=add|remove UserId.N / UserGroup.N
        if (i.OperationType && (i.UserIds?.length || i.UserGroups?.length)) {
          const list = i.OperationType === 'add' ? add : remove;
          for (const u of i.UserIds ?? []) list.push({ userId: u });
          for (const g of i.UserGroups ?? []) list.push({ group: g });
        }
        const description = i.Description?.Value ?? (i.Attribute === 'description' ? i.Value : undefined);
        if (add.length === 0 && remove.length === 0 && description === undefined) {
          if (i.Attribute && !['launchPermission', 'description'].includes(i.Attribute)) throw new AwsError('InvalidParameterValue', `Value (${i.Attribute}) for parameter attribute is invalid.`);
          throw new AwsError('MissingParameter', 'No attributes specified.');
        }
        await svc.images.modifyAttribute(acct(ctx), i.ImageId, { add, remove, ...(description !== undefined ? { description } : {}) });
        return {};
      },
    ),
    ResetImageAttribute: handler<T.ResetImageAttributeRequest, Record<string, never>>(
      (i, ctx) => authz('ResetImageAttribute', [`arn:aws:ec2:${ctx.region}::image/${i.ImageId ?? '*'}`]),
      async (i, ctx) => {
        if (i.Attribute !== 'launchPermission') throw new AwsError('InvalidParameterValue', `Value (${String(i.Attribute)}) for parameter attribute is invalid.`);
        await svc.images.resetLaunchPermissions(acct(ctx), i.ImageId);
        return {};
      },
    ),

    // ---------------------------------------------------------------- tags
    CreateTags: handler<T.CreateTagsRequest, Record<string, never>>(
      (i, ctx) => authz('CreateTags', (i.Resources ?? []).map((id) => arn(ctx, id.startsWith('i-') ? 'instance' : '*', id))),
      async (i, ctx) => {
        if (!i.Resources?.length) throw new AwsError('MissingParameter', 'The request must contain the parameter ResourceId');
        if (!i.Tags?.length) throw new AwsError('MissingParameter', 'The request must contain the parameter Tag');
        await svc.tags.create(acct(ctx), i.Resources, i.Tags.map(validateTag));
        return {};
      },
    ),
    DeleteTags: handler<T.DeleteTagsRequest, Record<string, never>>(
      (i, ctx) => authz('DeleteTags', (i.Resources ?? []).map((id) => arn(ctx, id.startsWith('i-') ? 'instance' : '*', id))),
      async (i, ctx) => {
        if (!i.Resources?.length) throw new AwsError('MissingParameter', 'The request must contain the parameter ResourceId');
        await svc.tags.delete(acct(ctx), i.Resources, i.Tags?.map((t) => ({ key: t.Key ?? '', ...(t.Value !== undefined ? { value: t.Value } : {}) })));
        return {};
      },
    ),
    DescribeTags: handler<T.DescribeTagsRequest, T.DescribeTagsResult>(
      () => authz('DescribeTags', ['*']),
      async (i, ctx) => {
        const max = checkMaxResults(i.MaxResults, 5, 1000, false);
        const all = await svc.tags.list(acct(ctx));
        const filtered = applyFilters(all, i.Filters, {
          key: (t) => t.key,
          value: (t) => t.value,
          'resource-id': (t) => t.resourceId,
          'resource-type': (t) => t.resourceType,
        });
        const keyed = filtered.map((t) => ({ ...t, k: `${t.resourceId}\u0000${t.key}` }));
        const { page, nextToken } = paginate(keyed, (t) => t.k, max, i.NextToken);
        return {
          Tags: page.map((t) => ({ ResourceId: t.resourceId, ResourceType: t.resourceType as T.ResourceType, Key: t.key, Value: t.value })),
          ...(nextToken ? { NextToken: nextToken } : {}),
        };
      },
    ),

    // ---------------------------------------------------------------- zones
    DescribeAvailabilityZones: handler<T.DescribeAvailabilityZonesRequest, T.DescribeAvailabilityZonesResult>(
      () => authz('DescribeAvailabilityZones', ['*']),
      async (i, ctx) => {
        const base = createRegionHandlers({ region: svc.region, zones: svc.zones, endpoint: '' }).DescribeAvailabilityZones!;
        const res = (await base.handle(i, ctx)) as T.DescribeAvailabilityZonesResult;
        if (!(i.ZoneNames ?? []).includes('verbose')) return res;
        // Eucalyptus's capacity table after each zone: one row per instance type, "free / max   cpu   ram  disk".
        const out: T.AvailabilityZone[] = [];
        const pad = (n: number, w: number) => String(n).padStart(w, '0');
        for (const z of res.AvailabilityZones ?? []) {
          out.push(z);
          const cap = await inst.capacity(z.ZoneName!);
          out.push({ ZoneName: '|- vm types', State: 'free / max   cpu   ram  disk' as T.AvailabilityZoneState, Messages: [] });
          for (const c of cap) {
            out.push({
              ZoneName: `|- ${c.type.name}`,
              State: `${pad(c.free, 4)} / ${pad(c.max, 4)}   ${String(c.type.cpu).padStart(2)}   ${String(c.type.memoryMiB).padStart(5)}  ${String(c.type.diskGiB).padStart(4)}` as T.AvailabilityZoneState,
              Messages: [],
            });
          }
        }
        return { AvailabilityZones: out };
      },
    ),
  };
  return table;
}

export type { InstanceStateName };
