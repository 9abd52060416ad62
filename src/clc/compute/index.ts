/**
 * @module clc/compute
 * The cloud controller's compute domain: instances (state machine as data), reservations, instance types, key pairs,
 * images and tags, and the reconciliation loop that records what the cluster controllers report.
 */
export * from './states.js';
export * from './instance-types.js';
export * from './keys.js';
export * from './errors.js';
export * from './schema.js';
export * from './tags.js';
export * from './keypairs.js';
export * from './images.js';
export * from './instances.js';
export * from './service.js';
