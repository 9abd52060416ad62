/**
 * @module clc/iam
 * Accounts, users and access keys of the cloud; the credential store used to verify signatures.
 */
export * from './schema.js';
export * from './store.js';
