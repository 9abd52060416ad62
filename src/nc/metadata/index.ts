/**
 * @module nc/metadata
 * The EC2 instance metadata service of a node.
 */
export * from './metadata.js';
