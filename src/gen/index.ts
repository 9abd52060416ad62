/**
 * @module gen
 * Types and operation tables generated from models/*.json by tools/gen-api.ts (`npm run gen`). Do not edit.
 */
export type * as ec2 from './ec2/types.js';
export { EC2_OPERATIONS, type Ec2Operation, type Ec2Handlers } from './ec2/operations.js';
export type * as iam from './iam/types.js';
export { IAM_OPERATIONS, type IamOperation, type IamHandlers } from './iam/operations.js';
export type * as sts from './sts/types.js';
export { STS_OPERATIONS, type StsOperation, type StsHandlers } from './sts/operations.js';
export type * as s3 from './s3/types.js';
export { S3_OPERATIONS, type S3Operation, type S3Handlers } from './s3/operations.js';
export type { EmptyOutput } from './ec2/operations.js';
