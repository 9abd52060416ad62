import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AwsError } from '../shared/index.js';
import { parseQueryRequest, serializeQueryError, serializeQueryResponse, hasOperation, unsupportedOperation, modelledError, escapeXml, writeShapeXml } from './index.js';

function parse(service: 'ec2' | 'iam' | 'sts', qs: string) {
  return parseQueryRequest(service, new URLSearchParams(qs));
}

function err(fn: () => unknown): AwsError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AwsError) return e;
    throw e;
  }
  assert.fail('expected an AwsError');
}

test('EC2: lists, nested structures, numbers, booleans, plus and %20 spaces', () => {
  const r = parse('ec2', 'Action=RunInstances&Version=2010-01-01&ImageId=emi-1&MinCount=1&MaxCount=2&EbsOptimized=TRUE' +
    '&BlockDeviceMapping.1.DeviceName=%2Fdev%2Fsda&BlockDeviceMapping.1.Ebs.VolumeSize=10&SecurityGroupId.2=sg-b&SecurityGroupId.1=sg-a' +
    '&TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=a+b&TagSpecification.1.Tag.1.Value=c%20d');
  assert.equal(r.operation, 'RunInstances');
  assert.deepEqual(r.input, {
    ImageId: 'emi-1', MinCount: 1, MaxCount: 2, EbsOptimized: true,
    BlockDeviceMappings: [{ DeviceName: '/dev/sda', Ebs: { VolumeSize: 10 } }],
    SecurityGroupIds: ['sg-a', 'sg-b'],
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'a b', Value: 'c d' }] }],
  });
});

test('EC2: queryName members (PrivateIpAddresses) and timestamps', () => {
  const r = parse('ec2', 'Action=RunInstances&ImageId=x&MinCount=1&MaxCount=1&NetworkInterface.1.DeviceIndex=0&NetworkInterface.1.PrivateIpAddresses.1.PrivateIpAddress=10.0.0.1&NetworkInterface.1.PrivateIpAddresses.1.Primary=true');
  assert.deepEqual(r.input.NetworkInterfaces, [{ DeviceIndex: 0, PrivateIpAddresses: [{ PrivateIpAddress: '10.0.0.1', Primary: true }] }]);
  const t = parse('ec2', 'Action=DescribeSpotPriceHistory&StartTime=2026-01-02T03:04:05.123Z&EndTime=2026-01-02T03:04:05Z');
  assert.deepEqual(t.input, { StartTime: new Date('2026-01-02T03:04:05.123Z'), EndTime: new Date('2026-01-02T03:04:05Z') });
});

test('EC2 errors: InvalidAction, MissingParameter, InvalidParameterValue', () => {
  assert.equal(err(() => parse('ec2', 'Version=2016-11-15')).code, 'InvalidAction');
  assert.equal(err(() => parse('ec2', 'Action=Nope')).code, 'InvalidAction');
  const m = err(() => parse('ec2', 'Action=RunInstances&MinCount=1'));
  assert.equal(m.code, 'MissingParameter');
  assert.equal(m.status, 400);
  assert.match(m.message, /MaxCount/);
  const v = err(() => parse('ec2', 'Action=RunInstances&MinCount=x&MaxCount=1'));
  assert.equal(v.code, 'InvalidParameterValue');
  assert.match(v.message, /MinCount/);
  assert.equal(err(() => parse('ec2', 'Action=RunInstances&MinCount=1&MaxCount=1&EbsOptimized=yes')).code, 'InvalidParameterValue');
  assert.equal(err(() => parse('ec2', 'Action=RunInstances&MinCount=1&MaxCount=1&InstanceType=m1.nope')).code, 'InvalidParameterValue');
  assert.equal(err(() => parse('ec2', 'Action=RunInstances&MinCount=99999999999&MaxCount=1')).code, 'InvalidParameterValue');
});

test('IAM/STS: ValidationError in AWS style, lists with .member', () => {
  const e = err(() => parse('iam', 'Action=CreateUser'));
  assert.equal(e.code, 'ValidationError');
  assert.equal(e.message, "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null");
  const e2 = err(() => parse('iam', `Action=CreateUser&UserName=${'a'.repeat(65)}&Path=nope`));
  assert.match(e2.message, /^2 validation errors detected: /);
  assert.match(e2.message, /Member must have length less than or equal to 64/);
  const r = parse('iam', 'Action=TagUser&UserName=bob&Tags.member.1.Key=k1&Tags.member.1.Value=v1&Tags.member.2.Key=k2&Tags.member.2.Value=');
  assert.deepEqual(r.input, { UserName: 'bob', Tags: [{ Key: 'k1', Value: 'v1' }, { Key: 'k2', Value: '' }] });
  assert.equal(err(() => parse('sts', 'Action=AssumeRole&RoleArn=arn:aws:iam::1:role/r&RoleSessionName=s&DurationSeconds=5')).code, 'ValidationError');
  assert.equal(err(() => parse('iam', 'Action=GetUser2')).code, 'InvalidAction');
  // empty list `X=`
  assert.deepEqual(parse('iam', 'Action=TagUser&UserName=bob&Tags=').input, { UserName: 'bob', Tags: [] });
});

test('weird params never crash: deep nesting, huge indexes, duplicates, junk', () => {
  const deep = Array.from({ length: 5000 }, () => 'a').join('.');
  const big = new URLSearchParams();
  big.append('Action', 'DescribeInstances');
  big.append('Filter.99999999.Name', 'x');
  big.append('Filter.99999999.Value.1', 'y');
  big.append('Filter.1.Name', 'first');
  big.append('Filter.1.Name', 'second');
  big.append('Filter.999999999999999999999.Name', 'ignored');
  big.append('Filter.abc.Name', 'ignored');
  big.append('Filter', 'scalar-on-a-list');
  big.append(deep, 'x');
  big.append('MaxResults.1.2.3', '7');
  big.append('__proto__.polluted', 'yes');
  big.append('InstanceId.1', '\uFFFD\u0000');
  const r = parseQueryRequest('ec2', big);
  assert.deepEqual(r.input, { Filters: [{ Name: 'first' }, { Name: 'x', Values: ['y'] }], InstanceIds: ['\uFFFD\u0000'] });
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  // invalid UTF-8 percent-escapes decode to U+FFFD and stay strings
  const bad = parse('ec2', 'Action=CreateKeyPair&KeyName=%FF%FE');
  assert.equal(bad.input.KeyName, '\uFFFD\uFFFD');
});

test('hasOperation knows every service model, s3 included', () => {
  assert.ok(hasOperation('iam', 'CreateUser'));
  assert.ok(hasOperation('s3', 'PutObject'));
  assert.ok(!hasOperation('sts', 'CreateUser'));
});

test('serializeQueryResponse: EC2 envelope, query envelope, policy documents URL-encoded', () => {
  const ec2 = serializeQueryResponse('ec2', 'DescribeKeyPairs', { KeyPairs: [{ KeyName: 'a<b', KeyPairId: 'key-1', CreateTime: new Date(Date.UTC(2026, 0, 1)) }] }, 'rid-1');
  assert.equal(ec2.status, 200);
  assert.equal(ec2.headers['x-amzn-RequestId'], 'rid-1');
  assert.match(ec2.headers['content-type']!, /^text\/xml/);
  assert.match(ec2.body, /<DescribeKeyPairsResponse xmlns="http:\/\/ec2.amazonaws.com\/doc\/2016-11-15\/"><requestId>rid-1<\/requestId><keySet><item><createTime>2026-01-01T00:00:00.000Z<\/createTime><keyName>a&lt;b<\/keyName><keyPairId>key-1<\/keyPairId><\/item><\/keySet>/);
  const iam = serializeQueryResponse('iam', 'GetRolePolicy', { RoleName: 'r', PolicyName: 'p', PolicyDocument: '{"Version":"2012-10-17"}' }, 'rid-2');
  assert.match(iam.body, /<GetRolePolicyResponse xmlns="https:\/\/iam.amazonaws.com\/doc\/2010-05-08\/"><GetRolePolicyResult>/);
  assert.match(iam.body, /<PolicyDocument>%7B%22Version%22%3A%222012-10-17%22%7D<\/PolicyDocument>/);
  assert.match(iam.body, /<ResponseMetadata><RequestId>rid-2<\/RequestId><\/ResponseMetadata><\/GetRolePolicyResponse>$/);
  const empty = serializeQueryResponse('iam', 'DeleteUser', undefined, 'rid-3');
  assert.match(empty.body, /<DeleteUserResponse xmlns="[^"]+"><ResponseMetadata><RequestId>rid-3<\/RequestId><\/ResponseMetadata><\/DeleteUserResponse>$/);
});

test('serializeQueryError: EC2 and query envelopes', () => {
  const e = serializeQueryError('ec2', new AwsError('InvalidInstanceID.NotFound', "The instance ID 'i-1' does not exist"), 'r1');
  assert.equal(e.status, 400);
  assert.match(e.body, /<Response><Errors><Error><Code>InvalidInstanceID.NotFound<\/Code><Message>The instance ID &apos;i-1&apos; does not exist<\/Message><\/Error><\/Errors><RequestID>r1<\/RequestID><\/Response>$/);
  const q = serializeQueryError('iam', new AwsError('NoSuchEntity', 'x', { status: 404 }), 'r2');
  assert.equal(q.status, 404);
  assert.match(q.body, /<ErrorResponse xmlns="https:\/\/iam.amazonaws.com\/doc\/2010-05-08\/"><Error><Type>Sender<\/Type><Code>NoSuchEntity<\/Code><Message>x<\/Message><\/Error><RequestId>r2<\/RequestId><\/ErrorResponse>$/);
  assert.equal(unsupportedOperation('ec2', 'CreateFleet').code, 'UnsupportedOperation');
  assert.equal(unsupportedOperation('iam', 'CreateSAMLProvider').status, 501);
});

test('escapeXml escapes markup and strips characters illegal in XML 1.0', () => {
  assert.equal(escapeXml(`a&<>"'b`), 'a&amp;&lt;&gt;&quot;&apos;b');
  assert.equal(escapeXml('x\u0001y\u0000z\uFFFE\uD800q\t\n'), 'xyzq\t\n');
  assert.equal(escapeXml('a\r\nb'), 'a&#xD;\nb');
  assert.equal(escapeXml('\uD83D\uDE00'), '\uD83D\uDE00');
});

test('writeShapeXml: S3 flattened lists, attributes, namespaces, skips header members', () => {
  const xml = writeShapeXml('s3', 'ListObjectsV2Output', {
    Name: 'b', IsTruncated: false, KeyCount: 1, RequestCharged: 'requester',
    Contents: [{ Key: 'k\u0001', LastModified: new Date(0), Size: 3 }],
    CommonPrefixes: [{ Prefix: 'p/' }],
  }, { rootName: 'ListBucketResult', xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/', declaration: true });
  assert.equal(xml, '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    '<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes><Contents><Key>k</Key><LastModified>1970-01-01T00:00:00.000Z</LastModified><Size>3</Size></Contents>' +
    '<IsTruncated>false</IsTruncated><KeyCount>1</KeyCount><Name>b</Name></ListBucketResult>');
  const acl = writeShapeXml('s3', 'Grant', { Grantee: { Type: 'CanonicalUser', ID: 'abc' }, Permission: 'READ' });
  assert.equal(acl, '<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>abc</ID></Grantee><Permission>READ</Permission></Grant>');
  // cyclic output never hangs
  const cyc: Record<string, unknown> = { Name: 'x' };
  cyc.Self = cyc;
  assert.ok(writeShapeXml('ec2', 'Tag', cyc).length > 0);
});

test('modelledError: status and fault from the model, by code or exception shape name', () => {
  const a = modelledError('iam', 'NoSuchEntity', 'x');
  assert.deepEqual([a.code, a.status, a.fault], ['NoSuchEntity', 404, 'Sender']);
  const b = modelledError('iam', 'NoSuchEntityException', 'x');
  assert.deepEqual([b.code, b.status], ['NoSuchEntity', 404]);
  const c = modelledError('iam', 'ServiceFailure', 'x');
  assert.deepEqual([c.code, c.status, c.fault], ['ServiceFailure', 500, 'Receiver']);
  const d = modelledError('sts', 'ExpiredTokenException', 'x');
  assert.equal(d.code, 'ExpiredTokenException');
  const e = modelledError('iam', 'SomethingElse', 'x');
  assert.deepEqual([e.code, e.status], ['SomethingElse', 400]);
  const s3 = modelledError('s3', 'NoSuchKey', 'x');
  assert.deepEqual([s3.code, s3.status], ['NoSuchKey', 404]);
});
