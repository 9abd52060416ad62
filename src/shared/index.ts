/**
 * @module shared
 * Ids, errors, logging and configuration used by every component. Imports nothing else in src/.
 */
export * from './errors.js';
export * from './ids.js';
export * from './logger.js';
export * from './config.js';
export * from './principal.js';
export * from './body.js';
