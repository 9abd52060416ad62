/**
 * @module clc/compute/states
 * The instance state machine as data: AWS state names and codes, the events that move an instance, and the one table
 * of allowed transitions. Everything that changes an instance's state goes through `nextState`.
 *
 * NC reports (Eucalyptus's Pending / Extant / Teardown) map onto events with `eventForReport`.
 */

export type InstanceStateName = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

/** AWS state codes (the low byte of `InstanceState.Code`). */
export const STATE_CODES: Readonly<Record<InstanceStateName, number>> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export type InstanceEvent =
  /** The NC reports the VM booted (Extant). */
  | 'booted'
  /** Launch could not complete (scheduling, image, NC failure). A state reason is required. */
  | 'launch-failed'
  /** TerminateInstances. */
  | 'terminate'
  /** The NC tore the VM down, or it is gone from every report after termination. */
  | 'torn-down'
  /** StopInstances. */
  | 'stop'
  /** The NC reports the VM stopped (shut off, disks kept). */
  | 'stopped'
  /** StartInstances. */
  | 'start'
  /** The guest powered itself off (shutdown -h) while running. */
  | 'guest-shutdown'
  /** Not reported by any node for longer than allowed. */
  | 'expired';

/**
 * The transition table: `TRANSITIONS[state][event]` is the next state; a missing entry means the event is not allowed
 * in that state. Self-loops make repeated user calls idempotent, as on AWS (terminating a terminated instance is fine).
 */
export const TRANSITIONS: Readonly<Record<InstanceStateName, Partial<Record<InstanceEvent, InstanceStateName>>>> = {
  pending: {
    booted: 'running',
    'launch-failed': 'terminated',
    terminate: 'shutting-down',
    expired: 'terminated',
    'torn-down': 'terminated',
  },
  running: {
    booted: 'running',
    terminate: 'shutting-down',
    stop: 'stopping',
    'guest-shutdown': 'stopping',
    start: 'running',
    expired: 'terminated',
    'torn-down': 'terminated',
  },
  'shutting-down': {
    terminate: 'shutting-down',
    'torn-down': 'terminated',
    expired: 'terminated',
  },
  terminated: {
    terminate: 'terminated',
    'torn-down': 'terminated',
  },
  stopping: {
    stop: 'stopping',
    stopped: 'stopped',
    terminate: 'shutting-down',
    expired: 'stopped',
  },
  stopped: {
    stop: 'stopped',
    stopped: 'stopped',
    start: 'pending',
    terminate: 'shutting-down',
  },
};

/** The next state, or undefined when the event is not allowed in `from`. */
export function nextState(from: InstanceStateName, event: InstanceEvent): InstanceStateName | undefined {
  return TRANSITIONS[from][event];
}

export function isInstanceState(s: string): s is InstanceStateName {
  return Object.prototype.hasOwnProperty.call(STATE_CODES, s);
}

/** States in which the instance holds node capacity and an address. */
export const ACTIVE_STATES: readonly InstanceStateName[] = ['pending', 'running', 'stopping', 'shutting-down'];

/** A state reason as EC2 reports it (`StateReason.Code` / `.Message`). */
export interface StateReason {
  code: string;
  message: string;
}

export const REASONS = {
  userTerminated: (): StateReason => ({
    code: 'Client.UserInitiatedShutdown',
    message: 'Client.UserInitiatedShutdown: User initiated shutdown',
  }),
  userStopped: (): StateReason => ({
    code: 'Client.UserInitiatedShutdown',
    message: 'Client.UserInitiatedShutdown: User initiated shutdown',
  }),
  guestShutdown: (): StateReason => ({
    code: 'Client.InstanceInitiatedShutdown',
    message: 'Client.InstanceInitiatedShutdown: Instance initiated shutdown',
  }),
  launchFailed: (why: string): StateReason => ({
    code: 'Server.InternalError',
    message: `Server.InternalError: ${why}`,
  }),
  capacity: (why: string): StateReason => ({
    code: 'Server.InsufficientInstanceCapacity',
    message: `Server.InsufficientInstanceCapacity: ${why}`,
  }),
  expired: (): StateReason => ({
    code: 'Server.InternalError',
    message: 'Server.InternalError: Instance was not reported by its node controller and has expired',
  }),
} as const;

/** `StateTransitionReason` text as EC2 writes it: `User initiated (2026-01-02 03:04:05 GMT)`. */
export function userTransitionText(at: Date): string {
  return `User initiated (${at.toISOString().slice(0, 19).replace('T', ' ')} GMT)`;
}

/**
 * NC-side states (Eucalyptus reports Pending / Extant / Teardown; newer NCs may report finer names) mapped to the
 * event they imply for the instance's current CLC state. Returns undefined when the report changes nothing.
 */
export function eventForReport(current: InstanceStateName, reported: string): InstanceEvent | undefined {
  const r = reported.toLowerCase();
  if (r === 'extant' || r === 'running' || r === 'booting') {
    if (current === 'pending') return 'booted';
    return undefined;
  }
  if (r === 'stopped' || r === 'shutoff') {
    if (current === 'stopping') return 'stopped';
    if (current === 'running') return 'guest-shutdown';
    return undefined;
  }
  if (r === 'teardown' || r === 'terminated' || r === 'gone') {
    if (current === 'shutting-down') return 'torn-down';
    return undefined;
  }
  if (r === 'failed' || r === 'crashed') {
    if (current === 'pending') return 'launch-failed';
    return undefined;
  }
  return undefined;
}
