/**
 * @module nc/fake
 * An in-memory hypervisor for scheduler and API scale simulation (thousands of instances). It follows the
 * HypervisorDriver contract exactly (the conformance suite runs against it) but boots nothing: never use it where a
 * real VM is expected.
 */
export * from './fake-driver.js';
