/**
 * @module cc/scheduler
 * Placement as small pure functions over node state, as nova's filters/weighers and Eucalyptus's CC policies
 * (`schedule_instance_greedy/roundrobin/explicit` in `cluster/handlers.c`):
 * - filters drop nodes that cannot take the instance (not enabled, stale, not enough cores/memory/disk);
 * - a policy picks one of the remaining nodes: GREEDY fills nodes in registration order, ROUNDROBIN rotates from the
 *   node after the last one used, POWERSAVE packs onto the busiest awake node and wakes an idle one last.
 * `placeMany` places several instances one after another, charging each placement against the view it works on, so a
 * count of N either gets N nodes slots or reports how many fit.
 */

export type SchedulingPolicy = 'GREEDY' | 'ROUNDROBIN' | 'POWERSAVE';
export const SCHEDULING_POLICIES: readonly SchedulingPolicy[] = ['GREEDY', 'ROUNDROBIN', 'POWERSAVE'];

export interface Resources {
  cores: number;
  memoryMiB: number;
  diskGiB: number;
}

/** The scheduler's view of one node: its totals and what is taken (running instances plus reservations). */
export interface NodeView {
  nodeId: string;
  /** Registration order; GREEDY and ROUNDROBIN walk nodes in this order. */
  order: number;
  enabled: boolean;
  /** The node answered its last poll. */
  healthy: boolean;
  total: Resources;
  used: Resources;
  /** Instances (and reservations) on the node. */
  instances: number;
}

export type NodeFilter = (node: NodeView, need: Resources) => boolean;

export const FILTERS: Readonly<Record<string, NodeFilter>> = {
  enabled: (n) => n.enabled,
  healthy: (n) => n.healthy,
  cores: (n, need) => n.total.cores - n.used.cores >= need.cores,
  memory: (n, need) => n.total.memoryMiB - n.used.memoryMiB >= need.memoryMiB,
  disk: (n, need) => n.total.diskGiB - n.used.diskGiB >= need.diskGiB,
};

export function candidates(nodes: readonly NodeView[], need: Resources, filters: readonly NodeFilter[] = Object.values(FILTERS)): NodeView[] {
  return nodes.filter((n) => filters.every((f) => f(n, need))).sort((a, b) => a.order - b.order);
}

/** Free room on a node, as a fraction of its totals (the mean over cores and memory). */
function freeFraction(n: NodeView): number {
  const c = n.total.cores > 0 ? (n.total.cores - n.used.cores) / n.total.cores : 0;
  const m = n.total.memoryMiB > 0 ? (n.total.memoryMiB - n.used.memoryMiB) / n.total.memoryMiB : 0;
  return (c + m) / 2;
}

export interface PolicyState {
  /** ROUNDROBIN: `order` of the node used last. */
  lastOrder?: number;
}

/** Picks a node among `fit` (already filtered, sorted by order). */
export function pick(policy: SchedulingPolicy, fit: readonly NodeView[], state: PolicyState): NodeView | undefined {
  if (fit.length === 0) return undefined;
  switch (policy) {
    case 'GREEDY':
      return fit[0];
    case 'ROUNDROBIN': {
      const last = state.lastOrder ?? -Infinity;
      return fit.find((n) => n.order > last) ?? fit[0];
    }
    case 'POWERSAVE': {
      const awake = fit.filter((n) => n.instances > 0);
      const pool = awake.length > 0 ? awake : fit;
      // Busiest first (least free room); ties by registration order.
      return [...pool].sort((a, b) => freeFraction(a) - freeFraction(b) || a.order - b.order)[0];
    }
  }
}

export interface Placement {
  nodeId: string;
}

/**
 * Places up to `count` instances needing `need` each. Returns the placements made (fewer than `count` when the zone
 * runs out) and does not mutate `nodes`; `state` is updated for ROUNDROBIN.
 */
export function placeMany(
  policy: SchedulingPolicy,
  nodes: readonly NodeView[],
  need: Resources,
  count: number,
  state: PolicyState = {},
): Placement[] {
  const view = nodes.map((n) => ({ ...n, used: { ...n.used } }));
  const out: Placement[] = [];
  for (let i = 0; i < count; i++) {
    const node = pick(policy, candidates(view, need), state);
    if (!node) break;
    node.used.cores += need.cores;
    node.used.memoryMiB += need.memoryMiB;
    node.used.diskGiB += need.diskGiB;
    node.instances += 1;
    state.lastOrder = node.order;
    out.push({ nodeId: node.nodeId });
  }
  return out;
}

/** How many instances of `need` the zone could still take (the `verbose` DescribeAvailabilityZones "free" column). */
export function freeSlots(nodes: readonly NodeView[], need: Resources): number {
  let n = 0;
  for (const node of nodes) {
    if (!node.enabled || !node.healthy) continue;
    const free = {
      cores: node.total.cores - node.used.cores,
      memoryMiB: node.total.memoryMiB - node.used.memoryMiB,
      diskGiB: node.total.diskGiB - node.used.diskGiB,
    };
    n += Math.max(0, Math.min(
      need.cores > 0 ? Math.floor(free.cores / need.cores) : Infinity,
      need.memoryMiB > 0 ? Math.floor(free.memoryMiB / need.memoryMiB) : Infinity,
      need.diskGiB > 0 ? Math.floor(free.diskGiB / need.diskGiB) : Infinity,
    ));
  }
  return n;
}

/** How many instances of `need` the zone could hold when empty (the "max" column). */
export function maxSlots(nodes: readonly NodeView[], need: Resources): number {
  return freeSlots(nodes.map((n) => ({ ...n, used: { cores: 0, memoryMiB: 0, diskGiB: 0 }, healthy: true, enabled: true })), need);
}
