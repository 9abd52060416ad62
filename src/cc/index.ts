/**
 * @module cc
 * The cluster controller of one zone: node registry and capacity, scheduling (GREEDY, ROUNDROBIN, POWERSAVE),
 * reservations, private address allocation, and the relay to node controllers.
 */
export * from './scheduler.js';
export * from './network.js';
export * from './controller.js';
export * from './server.js';
