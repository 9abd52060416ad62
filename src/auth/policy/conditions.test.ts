import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileCondition, evaluateCondition, parseDate, parseOperator, OPERATORS } from './conditions.js';
import type { KeyLookup } from './glob.js';

type Row = [operator: string, policy: unknown, request: string[] | undefined, expected: boolean, note?: string];

function check(rows: Row[], key = 'test:key', extra: Record<string, string[]> = {}): void {
  for (const [operator, policy, request, expected, note] of rows) {
    const c = compileCondition(operator, key, policy, true);
    const lookup: KeyLookup = (k) => (k === key.toLowerCase() ? request : extra[k]);
    assert.equal(
      evaluateCondition(c, lookup),
      expected,
      `${operator} ${JSON.stringify(policy)} vs ${JSON.stringify(request)}${note ? ` (${note})` : ''}`,
    );
  }
}

test('String operators', () => {
  check([
    ['StringEquals', 'abc', ['abc'], true],
    ['StringEquals', 'abc', ['ABC'], false, 'case-sensitive'],
    ['StringEquals', ['x', 'abc'], ['abc'], true, 'policy values are ORed'],
    ['StringEquals', 'abc', undefined, false, 'missing key'],
    ['StringEquals', 'a*', ['abc'], false, 'no wildcards in Equals'],
    ['StringEquals', 'a*', ['a*'], true],
    ['StringNotEquals', 'abc', ['abc'], false],
    ['StringNotEquals', 'abc', ['abd'], true],
    ['StringNotEquals', ['a', 'b'], ['b'], false, 'must differ from every value'],
    ['StringNotEquals', 'abc', undefined, true, 'negated: missing key is true'],
    ['StringEqualsIgnoreCase', 'AbC', ['aBc'], true],
    ['StringEqualsIgnoreCase', 'AbC', ['aBd'], false],
    ['StringNotEqualsIgnoreCase', 'AbC', ['abc'], false],
    ['StringNotEqualsIgnoreCase', 'AbC', ['abd'], true],
    ['StringNotEqualsIgnoreCase', 'AbC', undefined, true],
    ['StringLike', 'home/*', ['home/alice/x'], true],
    ['StringLike', 'home/*', ['Home/alice'], false, 'case-sensitive'],
    ['StringLike', 'h?me', ['home'], true],
    ['StringLike', 'h?me', ['hoome'], false],
    ['StringLike', '*', [''], true],
    ['StringLike', ['', 'home/'], [''], true, 'empty string value'],
    ['StringLike', 'a.b', ['axb'], false, 'regex specials are literal'],
    ['StringLike', 'a:*:c', ['a:x:y:c'], true, 'StringLike * crosses colons'],
    ['StringNotLike', 'home/*', ['home/x'], false],
    ['StringNotLike', 'home/*', ['other'], true],
    ['StringNotLike', 'home/*', undefined, true],
  ]);
});

test('Numeric operators', () => {
  check([
    ['NumericEquals', '10', ['10'], true],
    ['NumericEquals', '10', ['10.0'], true, 'numbers, not strings'],
    ['NumericEquals', 10, ['10'], true, 'JSON number in the policy'],
    ['NumericEquals', '10', ['11'], false],
    ['NumericEquals', '10', ['abc'], false, 'non-numeric request value'],
    ['NumericNotEquals', '10', ['11'], true],
    ['NumericNotEquals', '10', ['10'], false],
    ['NumericNotEquals', '10', undefined, true],
    ['NumericLessThan', '10', ['9'], true],
    ['NumericLessThan', '10', ['10'], false],
    ['NumericLessThanEquals', '10', ['10'], true],
    ['NumericLessThanEquals', '10', ['10.5'], false],
    ['NumericGreaterThan', '10', ['10.5'], true],
    ['NumericGreaterThan', '10', ['10'], false],
    ['NumericGreaterThanEquals', '10', ['10'], true],
    ['NumericGreaterThanEquals', '10', ['-3'], false],
    ['NumericLessThan', '10', undefined, false],
  ]);
});

test('Date operators (ISO 8601 and epoch seconds)', () => {
  check([
    ['DateEquals', '2020-01-01T00:00:00Z', ['2020-01-01T00:00:00Z'], true],
    ['DateEquals', '2020-01-01T00:00:00Z', ['1577836800'], true, 'epoch seconds'],
    ['DateEquals', '2020-01-01', ['2020-01-01T00:00:00Z'], true, 'date-only precision'],
    ['DateNotEquals', '2020-01-01T00:00:00Z', ['2020-01-01T00:00:01Z'], true],
    ['DateNotEquals', '2020-01-01T00:00:00Z', ['2020-01-01T00:00:00Z'], false],
    ['DateLessThan', '2020-01-01T00:00:00Z', ['2019-12-31T23:59:59Z'], true],
    ['DateLessThan', '2020-01-01T00:00:00Z', ['2020-01-01T00:00:00Z'], false],
    ['DateLessThanEquals', '2020-01-01T00:00:00Z', ['2020-01-01T00:00:00Z'], true],
    ['DateGreaterThan', '2020-01-01T00:00:01Z', ['2020-06-01T00:00:00Z'], true],
    ['DateGreaterThan', '2020-01-01T00:00:01Z', ['2019-06-01T00:00:00Z'], false],
    ['DateGreaterThanEquals', '2020-01-01T02:00:00+02:00', ['2020-01-01T00:00:00Z'], true, 'time zone offset'],
    ['DateGreaterThanEquals', '2020-01-01T00:00:00Z', ['garbage'], false],
    ['DateLessThan', '2020-01-01T00:00:00Z', undefined, false],
  ]);
  assert.equal(parseDate('2020-01-01T00:00:00.500Z'), Date.UTC(2020, 0, 1, 0, 0, 0, 500));
  assert.ok(Number.isNaN(parseDate('2020-13-01')));
});

test('Bool and BinaryEquals', () => {
  check([
    ['Bool', 'true', ['true'], true],
    ['Bool', 'false', ['true'], false],
    ['Bool', 'TRUE', ['true'], true, 'case-insensitive'],
    ['Bool', true, ['true'], true, 'JSON boolean'],
    ['Bool', 'false', undefined, false],
    ['BinaryEquals', 'QmluYXJ5VmFsdWVJbkJhc2U2NA==', ['QmluYXJ5VmFsdWVJbkJhc2U2NA=='], true],
    ['BinaryEquals', 'QmluYXJ5VmFsdWVJbkJhc2U2NA==', ['QmluYXJ5VmFsdWVJbkJhc2U2NQ=='], false],
    ['BinaryEquals', 'QmluYXJ5VmFsdWVJbkJhc2U2NA==', undefined, false],
  ]);
});

test('IpAddress / NotIpAddress, IPv4 and IPv6', () => {
  check([
    ['IpAddress', '203.0.113.0/24', ['203.0.113.7'], true],
    ['IpAddress', '203.0.113.0/24', ['203.0.114.7'], false],
    ['IpAddress', '203.0.113.7', ['203.0.113.7'], true, 'bare address = /32'],
    ['IpAddress', '203.0.113.7', ['203.0.113.8'], false],
    ['IpAddress', '0.0.0.0/0', ['10.1.2.3'], true],
    ['IpAddress', '127.0.0.0/8', ['::ffff:127.0.0.1'], true, 'IPv4-mapped IPv6'],
    ['IpAddress', '2001:DB8:1234:5678::/64', ['2001:db8:1234:5678:abcd::1'], true],
    ['IpAddress', '2001:DB8:1234:5678::/64', ['2001:db8:1234:5679::1'], false],
    ['IpAddress', ['203.0.113.0/24', '2001:DB8:1234:5678::/64'], ['2001:db8:1234:5678::9'], true, 'mixed list'],
    ['IpAddress', '203.0.113.0/24', ['2001:db8::1'], false, 'family mismatch'],
    ['IpAddress', '::1/128', ['::1'], true],
    ['IpAddress', '203.0.113.0/24', ['not-an-ip'], false],
    ['NotIpAddress', '127.0.0.0/8', ['127.0.0.1'], false],
    ['NotIpAddress', '127.0.0.0/8', ['10.0.0.1'], true],
    ['NotIpAddress', '127.0.0.0/8', undefined, true],
  ]);
  assert.throws(() => compileCondition('IpAddress', 'aws:SourceIp', '300.1.1.1/24', true), /Syntax errors/);
});

test('ARN operators match segment by segment', () => {
  check([
    ['ArnEquals', 'arn:aws:sns:us-east-1:123456789012:topic', ['arn:aws:sns:us-east-1:123456789012:topic'], true],
    ['ArnLike', 'arn:aws:someservice:*:111122223333:finance/*', ['arn:aws:someservice:us-east-2:111122223333:finance/doc.txt'], true],
    // the AWS documentation's example: StringLike matches, ArnLike does not
    ['ArnLike', 'arn:aws:someservice:*:111122223333:finance/*', ['arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt'], false],
    ['ArnLike', 'arn:aws:s3:::bucket/*', ['arn:aws:s3:::bucket/a:b:c'], true, 'resource part may hold colons'],
    ['ArnLike', 'arn:aws:iam::*:role/r?', ['arn:aws:iam::123456789012:role/r1'], true],
    ['ArnNotEquals', 'arn:aws:iam::*:role/admin', ['arn:aws:iam::123456789012:role/admin'], false],
    ['ArnNotLike', 'arn:aws:iam::*:role/admin', ['arn:aws:iam::123456789012:role/other'], true],
    ['ArnNotLike', 'arn:aws:iam::*:role/admin', undefined, true],
    ['ArnLike', 'arn:aws:iam::*:role/admin', undefined, false],
  ]);
  check([['StringLike', 'arn:aws:someservice:*:111122223333:finance/*', ['arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt'], true]]);
});

test('Null checks presence', () => {
  check([
    ['Null', 'true', undefined, true, 'absent is null'],
    ['Null', 'true', ['x'], false],
    ['Null', 'false', ['x'], true],
    ['Null', 'false', undefined, false],
    ['Null', 'false', [], false, 'empty set = absent'],
  ]);
});

test('…IfExists: a missing key satisfies any operator, a present one is tested', () => {
  check([
    ['StringEqualsIfExists', 'a', undefined, true],
    ['StringEqualsIfExists', 'a', ['b'], false],
    ['StringEqualsIfExists', 'a', ['a'], true],
    ['StringNotEqualsIfExists', 'a', undefined, true],
    ['StringNotEqualsIfExists', 'a', ['a'], false],
    ['StringLikeIfExists', 't2.*', ['t2.micro'], true],
    ['StringLikeIfExists', 't2.*', ['m1.small'], false],
    ['StringEqualsIgnoreCaseIfExists', 'A', undefined, true],
    ['NumericLessThanIfExists', '5', undefined, true],
    ['NumericLessThanIfExists', '5', ['7'], false],
    ['DateGreaterThanIfExists', '2020-01-01', undefined, true],
    ['BoolIfExists', 'true', undefined, true],
    ['BoolIfExists', 'true', ['false'], false],
    ['BinaryEqualsIfExists', 'AA==', undefined, true],
    ['IpAddressIfExists', '10.0.0.0/8', undefined, true],
    ['IpAddressIfExists', '10.0.0.0/8', ['11.0.0.1'], false],
    ['NotIpAddressIfExists', '10.0.0.0/8', ['10.0.0.1'], false],
    ['ArnLikeIfExists', 'arn:aws:iam::*:user/*', undefined, true],
    ['ArnNotLikeIfExists', 'arn:aws:iam::*:user/*', ['arn:aws:iam::123456789012:user/x'], false],
  ]);
  assert.equal(parseOperator('NullIfExists'), null, 'Null has no IfExists form');
});

test('ForAnyValue / ForAllValues over multi-valued keys', () => {
  check([
    // from the AWS documentation: ForAllValues:StringLike with [PostDateTime, Message, Tags]
    ['ForAllValues:StringLike', ['PostDateTime', 'Message', 'Tags'], ['PostDateTime', 'Message'], true],
    ['ForAllValues:StringLike', ['PostDateTime', 'Message', 'Tags'], ['PostDateTime', 'UserName'], false],
    ['ForAllValues:StringLike', ['PostDateTime', 'Message', 'Tags'], undefined, true, 'empty set: ForAllValues true'],
    ['ForAllValues:StringLike', ['PostDateTime'], [], true],
    ['ForAnyValue:StringLike', ['ID', 'PostDateTime'], ['UserName', 'Message', 'PostDateTime'], true],
    ['ForAnyValue:StringLike', ['ID', 'PostDateTime'], ['UserName'], false],
    ['ForAnyValue:StringLike', ['ID'], undefined, false, 'empty set: ForAnyValue false'],
    ['ForAnyValue:StringEquals', ['a', 'b'], ['c', 'b'], true],
    ['ForAllValues:StringEquals', ['a', 'b'], ['a', 'b', 'a'], true],
    ['ForAllValues:StringNotEquals', ['x'], ['a', 'b'], true, 'every value differs from x'],
    ['ForAllValues:StringNotEquals', ['x'], ['a', 'x'], false],
    ['ForAnyValue:StringNotEquals', ['x'], ['x', 'a'], true, 'some value differs'],
    ['ForAnyValue:StringNotEquals', ['x'], ['x'], false],
    ['ForAnyValue:NumericGreaterThan', '5', ['1', '9'], true],
    ['ForAllValues:NumericGreaterThan', '5', ['1', '9'], false],
    ['ForAnyValue:IpAddress', '10.0.0.0/8', ['1.1.1.1', '10.2.3.4'], true],
    ['ForAllValues:ArnLike', 'arn:aws:iam::*:role/*', ['arn:aws:iam::1:role/a', 'arn:aws:iam::2:role/b'], true],
    ['ForAnyValue:StringEqualsIfExists', 'a', undefined, true],
    ['StringEquals', 'a', ['b', 'a'], true, 'no qualifier, several values: any'],
    ['StringNotEquals', 'a', ['b', 'a'], false, 'negated, several values: none may match'],
  ]);
});

test('policy variables in condition values', () => {
  const extra = { 'aws:username': ['alice'], 'aws:userid': ['AIDAEXAMPLE'] };
  check(
    [
      ['StringLike', ['', 'home/', 'home/${aws:username}/*'], ['home/alice/docs'], true],
      ['StringLike', ['home/${aws:username}/*'], ['home/bob/docs'], false],
      ['StringEquals', '${aws:userid}', ['AIDAEXAMPLE'], true],
      ['StringEquals', 'a${*}b', ['a*b'], true, '${*} is a literal *'],
      ['StringLike', 'a${*}b', ['axb'], false, '${*} never acts as a wildcard'],
      ['StringEquals', '${?}${$}', ['?$'], true],
      ['StringEquals', "${aws:PrincipalTag/team, 'none'}", ['none'], true, 'default value'],
      ['StringEquals', '${aws:nosuchkey}', ['x'], false, 'unresolvable variable: no match'],
      ['StringNotEquals', '${aws:nosuchkey}', ['x'], false, 'unresolvable variable: the condition does not hold'],
      ['ArnLike', 'arn:aws:iam::*:user/${aws:username}', ['arn:aws:iam::1:user/alice'], true],
    ],
    's3:prefix',
    extra,
  );
  // version 2008-10-17: variables are literal text
  const c = compileCondition('StringEquals', 's3:prefix', '${aws:username}', false);
  assert.equal(evaluateCondition(c, (k) => (k === 's3:prefix' ? ['${aws:username}'] : k === 'aws:username' ? ['alice'] : undefined)), true);
});

test('every operator is known with and without IfExists and set qualifiers', () => {
  for (const base of OPERATORS.keys()) {
    assert.ok(parseOperator(base), base);
    if (base !== 'Null') {
      assert.ok(parseOperator(`${base}IfExists`), `${base}IfExists`);
      assert.ok(parseOperator(`ForAnyValue:${base}`), `ForAnyValue:${base}`);
      assert.ok(parseOperator(`ForAllValues:${base}IfExists`), `ForAllValues:${base}IfExists`);
    }
  }
  assert.equal(OPERATORS.size, 27);
  assert.equal(parseOperator('StringEqual'), null);
  assert.equal(parseOperator('ForSomeValues:StringEquals'), null);
});
