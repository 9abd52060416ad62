/**
 * @module protocol/ec2-errors
 * The EC2 error-code catalogue: code → HTTP status and message template, after the "Error codes for the Amazon EC2
 * API" page (client and server errors) and the messages AWS (and moto, which mirrors them) return. EC2 has no
 * exception shapes in its model, so this table is the source of truth for EC2 error statuses.
 *
 * Templates use `{name}` placeholders filled by {@link ec2Error}. Statuses: 400 for client errors unless listed
 * otherwise (AuthFailure 401, UnauthorizedOperation/OptInRequired/Blocked 403, DryRunOperation 412), 500 for server
 * errors, 503 for RequestLimitExceeded/Unavailable/ServiceUnavailable.
 */
import { AwsError } from '../shared/index.js';

export interface Ec2ErrorDef {
  status: number;
  /** Message template; `{x}` placeholders are filled from the params given to {@link ec2Error}. */
  message: string;
}

const c = (message: string, status = 400): Ec2ErrorDef => ({ status, message });

/** The catalogue. Keys are the exact AWS codes. */
export const EC2_ERRORS = {
  // --- authentication, authorization, throttling, request-level
  AuthFailure: c('AWS was not able to validate the provided access credentials', 401),
  Blocked: c('Your account is currently blocked. Contact the cloud administrator.', 403),
  DryRunOperation: c('Request would have succeeded, but DryRun flag is set.', 412),
  IdempotentParameterMismatch: c('Arguments on this idempotent request are inconsistent with arguments used in previous request(s).'),
  IncompleteSignature: c('The request signature does not conform to AWS standards.'),
  InvalidAction: c('The action {action} is not valid for this web service.'),
  InvalidCharacter: c('A specified character is invalid.'),
  InvalidClientTokenId: c('The X.509 certificate or AWS access key ID provided does not exist in our records.', 401),
  InvalidPaginationToken: c('The specified pagination token is not valid or is expired.'),
  InvalidNextToken: c("The token '{token}' is invalid"),
  InvalidParameter: c('{message}'),
  InvalidParameterCombination: c('{message}'),
  InvalidParameterValue: c('Value ({value}) for parameter {parameter} is invalid. {reason}'),
  InvalidQueryParameter: c('The AWS query string is malformed or does not adhere to AWS standards.'),
  MalformedQueryString: c('The query string contains a syntax error.'),
  MissingAction: c('The request is missing an action or a required parameter.'),
  MissingAuthenticationToken: c('The request must contain either a valid (registered) AWS access key ID or X.509 certificate.', 401),
  MissingParameter: c('The request must contain the parameter {parameter}'),
  OptInRequired: c('You are not subscribed to this service.', 403),
  PendingVerification: c('Your account is pending verification.'),
  RequestExpired: c('Request has expired.'),
  RequestLimitExceeded: c('Request limit exceeded.', 503),
  UnauthorizedOperation: c('You are not authorized to perform this operation.', 403),
  UnknownParameter: c('The parameter {parameter} is not recognized'),
  UnsupportedOperation: c('The operation {operation} is not supported by this cloud.'),
  UnsupportedProtocol: c('The protocol {protocol} is not supported.'),
  ValidationError: c('{message}'),
  FilterLimitExceeded: c('The request uses too many filters or too many filter values.'),
  ResourceLimitExceeded: c('You have exceeded the limit on the number of resources: {message}'),
  // --- not found / malformed ids
  'InvalidAMIID.Malformed': c('Invalid id: "{id}" (expecting "emi-...")'),
  'InvalidAMIID.NotFound': c("The image id '[{id}]' does not exist"),
  'InvalidAMIID.Unavailable': c("The image id '[{id}]' is no longer available"),
  'InvalidAMIName.Duplicate': c('AMI name {name} is already in use by AMI {id}'),
  'InvalidAMIName.Malformed': c('AMI names must be between 3 and 128 characters long: {name}'),
  InvalidAMIAttributeItemValue: c('Invalid attribute item value "{value}" for {attribute} item type.'),
  'InvalidAddress.Locked': c('The address {ip} is locked.'),
  'InvalidAddress.Malformed': c('The address {ip} is malformed.'),
  'InvalidAddress.NotFound': c("Address '{ip}' not found."),
  InvalidAddressID: c("The address ID '{id}' is not valid"),
  'InvalidAllocationID.NotFound': c("Allocation ID '{id}' not found."),
  'InvalidAssociationID.NotFound': c("Association ID '{id}' not found."),
  'InvalidAttachment.NotFound': c('Volume {volumeId} can not be detached from {instanceId} because it is not attached'),
  'InvalidAttachmentID.NotFound': c("The network interface attachment ID '{id}' does not exist"),
  InvalidAvailabilityZone: c("Invalid availability zone: [{zone}]"),
  'InvalidBlockDeviceMapping': c('{message}'),
  'InvalidCustomerGatewayID.NotFound': c("The customer gateway ID '{id}' does not exist"),
  'InvalidDhcpOptionID.NotFound': c('DhcpOptionID {id} does not exist.'),
  'InvalidDhcpOptionsId.Malformed': c('Invalid id: "{id}" (expecting "dopt-...")'),
  InvalidDevice: c('Invalid device name {device}'),
  'InvalidDevice.InUse': c('The device {device} is already in use'),
  'InvalidFilter': c("The filter '{filter}' is invalid"),
  'InvalidGatewayID.NotFound': c("The gateway ID '{id}' does not exist"),
  'InvalidGroup.Duplicate': c("The security group '{name}' already exists"),
  'InvalidGroup.InUse': c('There are active instances using security group {id}'),
  'InvalidGroup.NotFound': c("The security group '{id}' does not exist"),
  'InvalidGroup.Reserved': c("The security group 'default' is reserved"),
  'InvalidGroupId.Malformed': c('Invalid id: "{id}" (expecting "sg-...")'),
  InvalidID: c('The ID {id} is not valid.'),
  'InvalidInstanceID': c("Invalid id: '{id}'"),
  'InvalidInstanceID.Malformed': c('Invalid id: "{id}" (expecting "i-...")'),
  'InvalidInstanceID.NotFound': c("The instance ID '{id}' does not exist"),
  InvalidInstanceType: c("The instance type '{type}' is not supported."),
  'InvalidInstanceAttributeValue': c('Value ({value}) for parameter {attribute} is invalid.'),
  'InvalidInternetGatewayID.NotFound': c("InternetGatewayID {id} does not exist."),
  'InvalidKeyPair.Duplicate': c("The keypair '{name}' already exists."),
  'InvalidKeyPair.Format': c('Key is not in valid OpenSSH public key format'),
  'InvalidKeyPair.NotFound': c("The key pair '{name}' does not exist"),
  'InvalidKeyPair.Malformed': c('Invalid id: "{id}" (expecting "key-...")'),
  'InvalidLaunchTemplateId.Malformed': c('The specified launch template ID {id} is malformed.'),
  'InvalidLaunchTemplateId.NotFound': c('The specified launch template, with template ID {id}, does not exist.'),
  'InvalidLaunchTemplateName.AlreadyExistsException': c("Launch template name already in use."),
  'InvalidLaunchTemplateName.NotFoundException': c('The specified launch template, with template name {name}, does not exist.'),
  'InvalidManifest': c('{message}'),
  'InvalidNetworkAclID.NotFound': c("The network acl ID '{id}' does not exist"),
  'InvalidNetworkAclEntry.NotFound': c('The network acl entry identified by {rule} does not exist.'),
  'InvalidNetworkInterfaceID.Malformed': c('Invalid id: "{id}" (expecting "eni-...")'),
  'InvalidNetworkInterfaceID.NotFound': c("The network interface ID '{id}' does not exist"),
  'InvalidNetworkInterface.InUse': c('Interface: [{id}] in use.'),
  'InvalidPermission.Duplicate': c('the specified rule "{rule}" already exists'),
  'InvalidPermission.Malformed': c('{message}'),
  'InvalidPermission.NotFound': c('The specified rule does not exist in this security group.'),
  'InvalidPlacementGroup.Duplicate': c('The placement group {name} already exists.'),
  'InvalidPlacementGroup.NotFound': c('The placement group {name} is unknown.'),
  'InvalidRegion': c('The region {region} does not exist.'),
  'InvalidRequest': c('The request received was invalid.'),
  'InvalidReservationID.NotFound': c("The reservation ID '{id}' does not exist"),
  'InvalidRoute.NotFound': c('no route with destination-cidr-block {cidr} in route table {id}'),
  'InvalidRouteTableID.NotFound': c("The routeTable ID '{id}' does not exist"),
  'InvalidSecurity.RequestHasExpired': c('The request has expired.'),
  'InvalidSecurityGroupID.NotFound': c("The security group ID '{id}' does not exist"),
  'InvalidSnapshot.InUse': c('The snapshot {id} is currently in use by {user}'),
  'InvalidSnapshot.NotFound': c("The snapshot '{id}' does not exist."),
  'InvalidSnapshotID.Malformed': c('Invalid id: "{id}" (expecting "snap-...")'),
  InvalidState: c('{message}'),
  InvalidStateTransition: c('{message}'),
  'InvalidSubnetID.NotFound': c("The subnet ID '{id}' does not exist"),
  'InvalidSubnet.Conflict': c('The CIDR {cidr} conflicts with another subnet'),
  'InvalidSubnet.Range': c('The CIDR {cidr} is invalid.'),
  'InvalidTagKey.Malformed': c('{message}'),
  'InvalidUserID.Malformed': c('User ID {id} is not valid.'),
  InvalidUserData: c('{message}'),
  'InvalidVolume.NotFound': c("The volume '{id}' does not exist."),
  'InvalidVolume.ZoneMismatch': c('The volume {id} is not in the same availability zone as instance {instanceId}'),
  'InvalidVolumeID.Malformed': c('Invalid id: "{id}" (expecting "vol-...")'),
  'InvalidVpcID.Malformed': c('Invalid id: "{id}" (expecting "vpc-...")'),
  'InvalidVpcID.NotFound': c("The vpc ID '{id}' does not exist"),
  'InvalidVpcRange': c('The CIDR {cidr} is invalid.'),
  'InvalidVpcPeeringConnectionID.NotFound': c("The vpcPeeringConnection ID '{id}' does not exist"),
  'InvalidVpnConnectionID.NotFound': c("The vpnConnection ID '{id}' does not exist"),
  'InvalidVpnGatewayID.NotFound': c("The virtual private gateway ID '{id}' does not exist"),
  'InvalidZone.NotFound': c("The zone '{zone}' does not exist."),
  'InvalidInstanceState': c('{message}'),
  IncorrectInstanceState: c('The instance {id} is not in a state from which it can be {action}.'),
  IncorrectState: c('{message}'),
  DependencyViolation: c('{message}'),
  'Gateway.NotAttached': c('resource {id} is not attached'),
  'Resource.AlreadyAssociated': c('resource {id} is already associated with {other}'),
  'RouteAlreadyExists': c('The route identified by {cidr} already exists.'),
  'SecurityGroupLimitExceeded': c('The maximum number of security groups has been reached.'),
  'RulesPerSecurityGroupLimitExceeded': c('The maximum number of rules per security group has been reached.'),
  'VolumeLimitExceeded': c('You have exceeded your maximum gigabyte limit or volume count.'),
  'SnapshotLimitExceeded': c('You have reached the limit on the number of snapshots that you can create.'),
  'AddressLimitExceeded': c('The maximum number of addresses has been reached.'),
  'InstanceLimitExceeded': c('You have requested more instances ({requested}) than your current instance limit of {limit} allows for the specified instance type.'),
  'VpcLimitExceeded': c('The maximum number of VPCs has been reached.'),
  'TagLimitExceeded': c('The maximum number of tags per resource has been reached.'),
  'KeyPairLimitExceeded': c('The maximum number of key pairs has been reached.'),
  VolumeInUse: c('Volume {id} is currently attached to {instanceId}'),
  'VolumeTypeNotAvailableInZone': c('The volume type {type} is not available in zone {zone}.'),
  'OperationNotPermitted': c('{message}'),
  'MaxIOPSLimitExceeded': c('You have exceeded your maximum IOPS limit.'),
  'AttachmentLimitExceeded': c('You have reached the limit on the number of volumes that can be attached to instance {id}.'),
  'CannotDelete': c('{message}'),
  'DefaultVpcAlreadyExists': c('A Default VPC already exists for this account in this region.'),
  'ConcurrentTagAccess': c('You can\'t run simultaneous commands to modify a tag for a specific resource.'),
  // --- server errors
  InsufficientAddressCapacity: c('Not enough available addresses to satisfy your minimum request.', 500),
  InsufficientCapacity: c('There is not enough capacity to fulfill your request.', 500),
  InsufficientInstanceCapacity: c('We currently do not have sufficient {type} capacity in the Availability Zone you requested ({zone}).', 500),
  InsufficientHostCapacity: c('There is not enough capacity to fulfill your Dedicated Host request.', 500),
  InsufficientVolumeCapacity: c('There is not enough storage capacity to fulfill your volume request.', 500),
  InternalError: c('An internal error has occurred.', 500),
  'Server.InternalError': c('Internal error on server: {reason}', 500),
  'Server.InsufficientInstanceCapacity': c('Insufficient capacity.', 500),
  InternalFailure: c('The request processing has failed because of an unknown error, exception, or failure.', 500),
  ServiceUnavailable: c('The request has failed due to a temporary failure of the server.', 503),
  Unavailable: c('The server is overloaded and can\'t handle the request.', 503),
} as const satisfies Record<string, Ec2ErrorDef>;

export type Ec2ErrorCode = keyof typeof EC2_ERRORS;

/**
 * An EC2 error with the catalogue's status. `message` is either the full message, or the values for the code's
 * template (`ec2Error('InvalidInstanceID.NotFound', { id: 'i-1' })` → "The instance ID 'i-1' does not exist"), or
 * absent (the template with unfilled placeholders removed). Codes not in the catalogue get status 400 (or `status`).
 */
export function ec2Error(code: Ec2ErrorCode | (string & {}), message?: string | Record<string, string | number>, status?: number): AwsError {
  const def = (EC2_ERRORS as Record<string, Ec2ErrorDef | undefined>)[code];
  let text: string;
  if (typeof message === 'string') text = message;
  else if (def) text = fillTemplate(def.message, message ?? {});
  else text = code;
  return new AwsError(code, text, { status: status ?? def?.status ?? 400 });
}

/** Fills `{name}` placeholders; missing values collapse cleanly (`'{id}'` → `''`). */
export function fillTemplate(template: string, params: Record<string, string | number>): string {
  return template
    .replace(/\{(\w+)\}/g, (_, k: string) => (params[k] === undefined ? '' : String(params[k])))
    .replace(/\s{2,}/g, ' ')
    .trim();
}

/** The status of an EC2 code per the catalogue (400 when unknown). */
export function ec2ErrorStatus(code: string): number {
  return (EC2_ERRORS as Record<string, Ec2ErrorDef | undefined>)[code]?.status ?? 400;
}
