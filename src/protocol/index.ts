/**
 * @module protocol
 * The AWS protocol layer for the query family (EC2 `ec2`, IAM and STS `query`), driven by the vendored botocore
 * models, plus the model-driven XML writer shared with S3. The gateway calls:
 * {@link parseQueryRequest} → handler → {@link serializeQueryResponse}, or {@link serializeQueryError};
 * {@link hasOperation} / {@link unsupportedOperation} for modelled operations without a handler.
 */
export { parseQueryRequest, invalidAction, type QueryService } from './query.js';
export { serializeQueryResponse, serializeQueryError, hasOperation, unsupportedOperation, modelledError, type WireResponse } from './envelope.js';
export { writeShapeXml, escapeXml, formatTimestamp, type WriteXmlOptions, type TimestampStyle } from './xml.js';
export { loadModel, loadPaginators, type ModelService, type ServiceModel, type Paginator } from './model.js';
export { EC2_ERRORS, ec2Error, ec2ErrorStatus, fillTemplate, type Ec2ErrorCode, type Ec2ErrorDef } from './ec2-errors.js';
export { dryRun, takesDryRun, idempotencyKey, idempotencyTokenMember, checkIdempotency, canonicalJson, type IdempotencyKey, type IdempotencyRecord } from './prehandlers.js';
export { applyFilters, paginate, filterPattern, wildcardMatch, type Filter, type FilterTable, type FilterValue, type Tags, type PageRequest, type PageOptions } from './describe.js';
