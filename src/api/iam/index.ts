/**
 * @module api/iam
 * IAM (Euare) handlers.
 */
export * from './users.js';
export * from './accounts.js';
