/**
 * @module api/s3
 * The S3 API of Walrus.
 *
 * Entry points:
 * - `openWalrusService({db, dir, credentials, region, s3Domain?, prefix?, identityPolicies?, lifecycleIntervalMs?})`
 *   → `{walrus, handler, recovered, listen(port, host?), close()}`: opens the blob store under `dir`, runs the
 *   startup sweep, builds the request listener and the lifecycle timer. `db` must have `walrusMigrations` applied.
 *   Walrus's own port: `await svc.listen(8779)`. In the CLC gateway: `if (svc.handler.matches(path)) svc.handler(req, res)`
 *   with `prefix: '/services/objectstorage'` (open a second service object, or call `createS3Handler` with the same walrus).
 * - `createS3Handler(deps)` → `(req, res) => void` for custom composition (deps: walrus, authenticate, region, …).
 * - `resolveS3(method, path, query, headers, {s3Domain, prefix})`: the pure router.
 */
export { createS3Handler, type S3HandlerDeps, type S3Authenticator, type S3AuthOutcome, type S3RequestListener } from './handler.js';
export { sigv4Authenticator, type SigV4AuthOptions } from './auth.js';
export { openWalrusService, type WalrusService, type WalrusServiceOptions } from './service.js';
export { resolveS3, type S3Route, type S3RouteOptions } from './router.js';
export type { IdentityPolicies } from './authz.js';
