/**
 * @module api/iam
 * IAM (Euare) handlers, and the policy-engine Authorizer the gateway uses for every service.
 */
export * from './users.js';
export * from './accounts.js';
export * from './directory.js';
export * from './enforce.js';
export * from './simulate.js';
export * from './authorization-details.js';
