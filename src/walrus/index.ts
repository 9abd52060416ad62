/**
 * @module walrus
 * The object store component: the `Walrus` domain (buckets, versions, multipart, listings, lifecycle), the
 * `BlobStore` contract with its local-filesystem implementation, and the component's migrations.
 *
 * Composition: `const blobs = await FsBlobStore.create(dir); const walrus = new Walrus(db.db, blobs);
 * await walrus.recover();` (startup sweep) — then serve it with `createS3Handler` from `src/api/s3`.
 */
export * from './blobstore.js';
export * from './model.js';
export * from './schema.js';
export * from './walrus.js';
