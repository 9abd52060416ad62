/**
 * @module api/iam
 * IAM (Euare) handlers.
 */
export * from './users.js';
