/**
 * @module clc/iam
 * Accounts, users and access keys of the cloud; the credential store used to verify signatures; groups, policies,
 * roles, instance profiles, login profiles, tags (directory); STS sessions; enforcement and quotas (authz).
 */
export * from './schema.js';
export * from './store.js';
export * from './policy-schema.js';
export * from './directory.js';
export * from './sts.js';
export * from './authz.js';
export * from './quotas.js';
export * from './aws-managed.js';
