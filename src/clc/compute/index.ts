/**
 * @module clc/compute
 * The cloud controller's compute domain: instances (state machine as data), reservations, instance types, key pairs,
 * images and tags, and the reconciliation loop that records what the cluster controllers report.
 */
export * from './states.js';
export * from './instance-types.js';
export * from './keys.js';
