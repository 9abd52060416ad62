/**
 * @module api/ec2
 * EC2 handlers by family. The gateway merges the tables into one EC2 dispatch table.
 */
export { computeHandlers, instanceShape } from './compute.js';
