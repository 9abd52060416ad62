/**
 * @module nc/instance-states
 * Instance states on the node as data: which transitions exist, and in which states each request is allowed
 * (an operation outside them answers `IncorrectInstanceState`).
 */
import type { InstanceState } from '../rpc/index.js';

export const TRANSITIONS: Record<InstanceState, readonly InstanceState[]> = {
  pending: ['running', 'stopped', 'shutting-down', 'terminated'],
  running: ['stopping', 'stopped', 'shutting-down', 'terminated'],
  stopping: ['stopped', 'shutting-down', 'running'],
  stopped: ['pending', 'shutting-down', 'terminated'],
  'shutting-down': ['terminated'],
  terminated: [],
};

export type InstanceOp = 'reboot' | 'stop' | 'start' | 'terminate' | 'attach' | 'detach' | 'console';

export const ALLOWED: Record<InstanceOp, readonly InstanceState[]> = {
  reboot: ['running'],
  stop: ['running', 'pending'],
  start: ['stopped'],
  terminate: ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'],
  attach: ['running'],
  detach: ['running', 'stopped'],
  console: ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'],
};

export function canTransition(from: InstanceState, to: InstanceState): boolean {
  return from === to || TRANSITIONS[from].includes(to);
}

/** States that hold capacity (cores, memory) on the node. */
export const HOLDS_CAPACITY: readonly InstanceState[] = ['pending', 'running', 'stopping', 'shutting-down'];
