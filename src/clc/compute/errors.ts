/**
 * @module clc/compute/errors
 * EC2 error codes raised by the compute domain, with AWS's messages.
 */
import { AwsError } from '../../shared/index.js';

export const ec2Errors = {
  instanceNotFound: (id: string | string[]) =>
    new AwsError('InvalidInstanceID.NotFound', `The instance ID${Array.isArray(id) && id.length > 1 ? 's' : ''} '${[id].flat().join(', ')}' ${Array.isArray(id) && id.length > 1 ? 'do' : 'does'} not exist`),
  instanceMalformed: (id: string) => new AwsError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`),
  amiNotFound: (id: string) => new AwsError('InvalidAMIID.NotFound', `The image id '[${id}]' does not exist`),
  amiMalformed: (id: string) => new AwsError('InvalidAMIID.Malformed', `Invalid id: "${id}" (expecting "emi-...")`),
  amiUnavailable: (id: string, state: string) => new AwsError('InvalidAMIID.Unavailable', `Image ${id} is ${state}`),
  keyNotFound: (name: string) => new AwsError('InvalidKeyPair.NotFound', `The key pair '${name}' does not exist`),
  keyDuplicate: (name: string) => new AwsError('InvalidKeyPair.Duplicate', `The keypair '${name}' already exists.`),
  keyFormat: (why: string) => new AwsError('InvalidKey.Format', `Key is not in valid OpenSSH public key format${why ? ` (${why})` : ''}`),
  param: (msg: string) => new AwsError('InvalidParameterValue', msg),
  combination: (msg: string) => new AwsError('InvalidParameterCombination', msg),
  missing: (name: string) => new AwsError('MissingParameter', `The request must contain the parameter ${name}`),
  incorrectState: (id: string, state: string, what: string) =>
    new AwsError('IncorrectInstanceState', `The instance '${id}' is not in a state from which it can be ${what}. (current state: ${state})`),
  idempotentMismatch: (token: string) =>
    new AwsError('IdempotentParameterMismatch', `Arguments on this idempotent request are inconsistent with arguments used in previous request(s) with client token ${token}.`),
  zone: (zone: string) => new AwsError('InvalidParameterValue', `Invalid availability zone: [${zone}]`),
  instanceType: (t: string) => new AwsError('InvalidParameterValue', `The instance type '${t}' does not exist`),
  notPermitted: (msg: string) => new AwsError('OperationNotPermitted', msg),
  unsupported: (msg: string) => new AwsError('UnsupportedOperation', msg),
  manifest: (msg: string) => new AwsError('InvalidManifest', msg),
  tagLimit: (msg: string) => new AwsError('TagLimitExceeded', msg),
  resourceNotFound: (id: string) => new AwsError('InvalidID', `The ID '${id}' is not valid`),
} as const;
