// The batch codec (records as tuples across the worker boundary) gives back exactly what went in,
// through a real structured clone, for records of both formats and for every other item kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeItems, encodeItems } from '../src/receiver/store/batch-codec.js';
import type { StoreItem } from '../src/receiver/store/types.js';

test('records, events, counters and host names survive encode -> structuredClone -> decode unchanged', () => {
  const items: StoreItem[] = [
    { source: '10.0.0.1:6666', format: 'extended', seq: 7, pri: 6, level: 6, facility: 0, tsUsec: 123, flags: 'c', text: 'eth0: link \\x00 up', fields: { SUBSYSTEM: 'net', caller: 'T1' }, release: '6.1.0-13-amd64', complete: false, receivedAt: 1_700_000_000_000 },
    { source: '[fd00::1]:6666', format: 'legacy', seq: null, pri: null, level: null, facility: null, tsUsec: null, flags: '', text: 'legacy', fields: {}, release: null, complete: true, receivedAt: 1 },
    { type: 'gap', source: '10.0.0.1:6666', at: 5, from: 1, to: 6 },
    { kind: 'counters', source: '10.0.0.1:6666', at: 5, counters: { datagrams: 3 } },
    { kind: 'hub-counters', at: 5, counters: { 'dropped.queue_full': 2 } },
    { kind: 'host-name', address: '10.0.0.1', name: 'db-1' },
  ];
  const encoded = encodeItems(items);
  assert.ok(Array.isArray(encoded[0]) && Array.isArray(encoded[1]), 'records travel as tuples');
  assert.deepEqual(decodeItems(structuredClone(encoded)), items);
});
