/**
 * @module api/gateway
 * The CLC's API gateway: one node:http server for EC2, IAM and STS (and S3 routed to Walrus). See docs/architecture.md.
 */
export * from './contract.js';
export * from './authorizer.js';
export * from './server.js';
