import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TRANSITIONS, STATE_CODES, nextState, eventForReport, userTransitionText, type InstanceStateName } from './states.js';

test('every state has a code and a row; every transition lands on a known state', () => {
  for (const s of Object.keys(STATE_CODES) as InstanceStateName[]) {
    assert.ok(TRANSITIONS[s], s);
    for (const to of Object.values(TRANSITIONS[s])) assert.ok(to! in STATE_CODES);
  }
  assert.deepEqual(Object.values(STATE_CODES), [0, 16, 32, 48, 64, 80]);
});

test('the AWS lifecycle', () => {
  const path: Array<[InstanceStateName, Parameters<typeof nextState>[1], InstanceStateName | undefined]> = [
    ['pending', 'booted', 'running'],
    ['running', 'stop', 'stopping'],
    ['stopping', 'stopped', 'stopped'],
    ['stopped', 'start', 'pending'],
    ['running', 'terminate', 'shutting-down'],
    ['shutting-down', 'torn-down', 'terminated'],
    ['terminated', 'terminate', 'terminated'],
    ['pending', 'launch-failed', 'terminated'],
    ['pending', 'stop', undefined],
    ['terminated', 'start', undefined],
    ['stopped', 'booted', undefined],
    ['shutting-down', 'start', undefined],
  ];
  for (const [from, ev, to] of path) assert.equal(nextState(from, ev), to, `${from} --${ev}-->`);
});

test('NC reports map to events only when they change something', () => {
  assert.equal(eventForReport('pending', 'Extant'), 'booted');
  assert.equal(eventForReport('running', 'Extant'), undefined);
  assert.equal(eventForReport('stopping', 'stopped'), 'stopped');
  assert.equal(eventForReport('running', 'stopped'), 'guest-shutdown');
  assert.equal(eventForReport('shutting-down', 'Teardown'), 'torn-down');
  assert.equal(eventForReport('pending', 'failed'), 'launch-failed');
});

test('state transition text', () => {
  assert.equal(userTransitionText(new Date(Date.UTC(2026, 0, 2, 3, 4, 5))), 'User initiated (2026-01-02 03:04:05 GMT)');
});
