/**
 * @module nc/driver
 * The HypervisorDriver contract (driver.ts) and its conformance suite (conformance.ts, for tests).
 */
export * from './driver.js';
