/**
 * @module clc
 * The cloud controller's domain: accounts and credentials (iam), properties; compute, images and the rest as they land.
 */
export * from './iam/index.js';
export * from './properties/index.js';
