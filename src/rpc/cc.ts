/**
 * @module rpc/cc
 * The messages the CLC sends to the cluster controller of a zone, port 8774 (`POST /cc/v1/<Operation>`, see rpc/http).
 *
 * The launch protocol, like Eucalyptus's "pre-allocate, then actuate" (reference eucalyptus.md §1):
 * 1. `ReserveInstances` picks nodes with the zone's scheduling policy, holds their capacity and allocates each
 *    instance a private address and MAC from its node's subnet. All or nothing down to `minCount`: when fewer than
 *    `minCount` fit it fails with `InsufficientInstanceCapacity` and holds nothing. A reservation not launched within
 *    `ttlMs` is released by the CC on its own.
 * 2. The CLC records the instances (state pending) in its database.
 * 3. `RunInstances` sends each reserved instance to its node (idempotent per instance id: a retry after a crash
 *    re-sends safely). Per-instance results: a node refusing one instance does not fail the others.
 * 4. On any failure between 1 and 3 the CLC calls `ReleaseInstances`, which frees capacity and addresses.
 * Terminate/Reboot/Stop/Start/GetConsoleOutput go to the node that holds the instance. `DescribeInstances` returns what
 * the nodes report (desired vs actual is the CLC's business), `DescribeResources` the capacity per instance type
 * (DescribeAvailabilityZones verbose).
 */
import { createRpcClient, op, type RpcClient, type RpcClientOptions } from './http.js';
import { s, type Infer } from './schema.js';
import { InstanceReport, InstanceResult, InstanceTypeSpec, ReportCursor, RunInstanceRequest } from './nc.js';

export const CC_RPC_PREFIX = '/cc/v1';

const instanceId = s.string({ pattern: /^i-[0-9a-f]{8,17}$/ });
const nodeId = s.string({ pattern: /^[A-Za-z0-9._:-]{1,128}$/ });

export const NodeInfo = s.object({
  nodeId,
  url: s.string({ pattern: /^https?:\/\// }),
  zone: s.string(),
  /** ENABLED (serving), DISABLED (deregistering / admin-disabled), NOTREADY (not answering). */
  state: s.literal('ENABLED', 'DISABLED', 'NOTREADY'),
  hypervisor: s.string(),
  subnet: s.string(),
  cores: s.int(),
  memoryMiB: s.int(),
  diskGiB: s.int(),
  coresUsed: s.int(),
  memoryMiBUsed: s.int(),
  diskGiBUsed: s.int(),
  instances: s.int(),
  /** Epoch ms of the last successful poll (0 = never). */
  lastSeen: s.int(),
  message: s.optional(s.string()),
});
export type NodeInfo = Infer<typeof NodeInfo>;

export const Placement = s.object({
  instanceId,
  nodeId,
  privateIp: s.string(),
  mac: s.string(),
});
export type Placement = Infer<typeof Placement>;


const ByIds = s.object({ instanceIds: s.array(instanceId, { max: 10_000 }) });
const Results = s.object({ results: s.array(InstanceResult) });

export const TypeCapacity = s.object({ name: s.string(), cores: s.int(), memoryMiB: s.int(), diskGiB: s.int(), free: s.int(), max: s.int() });
export type TypeCapacity = Infer<typeof TypeCapacity>;

export const CcOps = {
  RegisterNode: op('RegisterNode', s.object({ url: s.string({ pattern: /^https?:\/\// }), nodeId: s.optional(nodeId) }), s.object({ node: NodeInfo })),
  DeregisterNode: op('DeregisterNode', s.object({ nodeId }), s.object({ node: NodeInfo })),
  DescribeNodes: op('DescribeNodes', s.object({}), s.object({ zone: s.string(), policy: s.string(), nodes: s.array(NodeInfo) })),
  DescribeResources: op(
    'DescribeResources',
    s.object({ types: s.array(s.object({ name: s.string({ max: 64 }), cores: s.int({ min: 1 }), memoryMiB: s.int({ min: 1 }), diskGiB: s.int({ min: 0 }) }), { max: 100 }) }),
    s.object({ zone: s.string(), types: s.array(TypeCapacity) }),
  ),
  ReserveInstances: op(
    'ReserveInstances',
    s.object({
      instanceIds: s.array(instanceId, { max: 10_000 }),
      minCount: s.int({ min: 1 }),
      instanceType: InstanceTypeSpec,
      ttlMs: s.optional(s.int({ min: 1000, max: 3_600_000 })),
    }),
    s.object({ placements: s.array(Placement) }),
  ),
  /** Each instance goes to `nodeId`, the node its reservation named; `request.net` carries the reserved address. */
  RunInstances: op(
    'RunInstances',
    s.object({ instances: s.array(s.object({ nodeId, request: RunInstanceRequest }), { max: 10_000 }) }),
    Results,
  ),
  ReleaseInstances: op('ReleaseInstances', ByIds, s.object({ released: s.array(s.string()) })),
  TerminateInstances: op('TerminateInstances', ByIds, Results),
  RebootInstances: op('RebootInstances', ByIds, Results),
  StopInstances: op('StopInstances', s.object({ instanceIds: s.array(instanceId, { max: 10_000 }), force: s.optional(s.boolean()) }), Results),
  StartInstances: op('StartInstances', ByIds, Results),
  /**
   * The zone's instances as their nodes report them: those named, or all, or with `since` (an earlier answer's
   * `cursor`) only those whose report changed after it — the full list again (`full`) when the CC restarted since.
   */
  DescribeInstances: op(
    'DescribeInstances',
    s.object({ instanceIds: s.optional(s.array(instanceId, { max: 10_000 })), since: s.optional(ReportCursor) }),
    s.object({
      instances: s.array(s.object({ nodeId, report: InstanceReport })),
      /** Nodes that did not answer: their instances are unknown, not gone. */
      unreachable: s.array(s.string()),
      cursor: s.optional(ReportCursor),
      full: s.optional(s.boolean()),
    }),
  ),
  GetConsoleOutput: op('GetConsoleOutput', s.object({ instanceId }), s.object({ instanceId: s.string(), output: s.string(), timestamp: s.int() })),
} as const;

export type CcOps = typeof CcOps;
export type CcClient = RpcClient<CcOps>;

export function ccClient(baseUrl: string, opts: RpcClientOptions = {}): CcClient {
  return createRpcClient(baseUrl.replace(/\/+$/, '') + CC_RPC_PREFIX, CcOps, opts);
}
