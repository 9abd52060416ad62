/**
 * @module protocol
 * The AWS protocol layer for the query family (EC2 `ec2`, IAM and STS `query`), driven by the vendored botocore
 * models, plus the model-driven XML writer shared with S3. The gateway calls:
 * {@link parseQueryRequest} → handler → {@link serializeQueryResponse}, or {@link serializeQueryError};
 * {@link hasOperation} / {@link unsupportedOperation} for modelled operations without a handler.
 */
export { parseQueryRequest, invalidAction, type QueryService } from './query.js';
export { serializeQueryResponse, serializeQueryError, hasOperation, unsupportedOperation, type WireResponse } from './envelope.js';
export { writeShapeXml, escapeXml, formatTimestamp, type WriteXmlOptions, type TimestampStyle } from './xml.js';
export { loadModel, loadPaginators, type ModelService, type ServiceModel, type Paginator } from './model.js';
export { applyFilters, paginate, filterPattern, type Filter, type FilterTable, type Tags, type PageOptions } from './describe.js';
