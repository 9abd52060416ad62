/**
 * @module clc/iam/aws-managed
 * The AWS managed policies scripts most often attach (`arn:aws:iam::aws:policy/<Name>`), as Eucalyptus-TS's own
 * documents for the services this cloud has (EC2, S3, IAM, STS). They cannot be changed or deleted; attachments are
 * per account (`iam_aws_policy_attachments`).
 */
import { createHash } from 'node:crypto';

export interface AwsManagedPolicy {
  name: string;
  path: string;
  arn: string;
  policyId: string;
  description: string;
  document: string;
  createdAt: Date;
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function stableId(name: string): string {
  const h = createHash('sha256').update(`aws-managed:${name}`).digest();
  let s = 'ANPA';
  for (let i = 0; i < 17; i++) s += B32[h[i]! % 32];
  return s;
}

const doc = (...Statement: unknown[]): string => JSON.stringify({ Version: '2012-10-17', Statement }, null, 4);
const allow = (Action: string | string[], extra: Record<string, unknown> = {}) => ({ Effect: 'Allow', Action, Resource: '*', ...extra });

const CATALOGUE: Array<[name: string, description: string, document: string]> = [
  ['AdministratorAccess', 'Provides full access to AWS services and resources.', doc(allow('*'))],
  ['PowerUserAccess', 'Provides full access to AWS services and resources, but does not allow management of Users and groups.',
    doc({ Effect: 'Allow', NotAction: ['iam:*', 'organizations:*', 'account:*'], Resource: '*' },
      allow(['iam:CreateServiceLinkedRole', 'iam:DeleteServiceLinkedRole', 'iam:ListRoles', 'organizations:DescribeOrganization', 'account:ListRegions', 'account:GetAccountInformation']))],
  ['ReadOnlyAccess', 'Provides read-only access to AWS services and resources.',
    doc(allow(['ec2:Describe*', 'ec2:Get*', 's3:Get*', 's3:List*', 'iam:Get*', 'iam:List*', 'iam:Generate*', 'iam:Simulate*', 'sts:GetCallerIdentity']))],
  ['IAMFullAccess', 'Provides full access to IAM via the AWS Management Console.', doc(allow('iam:*'))],
  ['IAMReadOnlyAccess', 'Provides read only access to IAM via the AWS Management Console.', doc(allow(['iam:GenerateCredentialReport', 'iam:GenerateServiceLastAccessedDetails', 'iam:Get*', 'iam:List*', 'iam:SimulateCustomPolicy', 'iam:SimulatePrincipalPolicy']))],
  ['AmazonEC2FullAccess', 'Provides full access to Amazon EC2 via the AWS Management Console.', doc(allow('ec2:*'))],
  ['AmazonEC2ReadOnlyAccess', 'Provides read only access to Amazon EC2 via the AWS Management Console.', doc(allow(['ec2:Describe*', 'ec2:GetConsoleOutput', 'ec2:GetSecurityGroupsForVpc']))],
  ['AmazonS3FullAccess', 'Provides full access to all buckets via the AWS Management Console.', doc(allow(['s3:*', 's3-object-lambda:*']))],
  ['AmazonS3ReadOnlyAccess', 'Provides read only access to all buckets via the AWS Management Console.', doc(allow(['s3:Get*', 's3:List*', 's3:Describe*', 's3-object-lambda:Get*', 's3-object-lambda:List*']))],
];

const CREATED = new Date(Date.UTC(2015, 1, 6, 18, 39, 46));

export const AWS_MANAGED_POLICIES: ReadonlyMap<string, AwsManagedPolicy> = new Map(
  CATALOGUE.map(([name, description, document]) => [
    name.toLowerCase(),
    { name, path: '/', arn: `arn:aws:iam::aws:policy/${name}`, policyId: stableId(name), description, document, createdAt: CREATED },
  ]),
);

/** The AWS managed policy an ARN names, if any. */
export function awsManagedPolicy(arn: string): AwsManagedPolicy | undefined {
  const m = /^arn:aws:iam::aws:policy\/([\w+=,.@-]+)$/.exec(String(arn));
  if (!m) return undefined;
  const p = AWS_MANAGED_POLICIES.get(m[1]!.toLowerCase());
  return p && p.name === m[1] ? p : undefined;
}

export function isAwsPolicyArn(arn: string): boolean {
  return String(arn).startsWith('arn:aws:iam::aws:policy/');
}
