/**
 * @module rpc
 * Typed internal messages between components (HTTP + JSON, validated on both sides).
 */
export * from './schema.js';
export * from './http.js';
export * from './nc.js';
export * from './cc.js';
