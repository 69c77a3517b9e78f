// The batch codec (records as transferred typed arrays across the worker boundary) gives back exactly
// what went in, through a real structured clone with the buffers transferred, for records of both
// formats and every optional part, for non-ASCII text, and for every other item kind in its place.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeItems, encodeItems, itemCount, transferables } from '../src/receiver/store/batch-codec.js';
import type { StoreItem } from '../src/receiver/store/types.js';

test('records, events, counters and host names survive encode -> transfer -> decode unchanged and in order', () => {
  const items: StoreItem[] = [
    { kind: 'host-name', address: '10.0.0.1', name: 'db-1' },
    { source: '10.0.0.1:6666', format: 'extended', seq: 7, pri: 6, level: 6, facility: 0, tsUsec: 123, flags: 'c', text: 'eth0: link \\x00 up', fields: { SUBSYSTEM: 'net', caller: 'T1' }, release: '6.1.0-13-amd64', complete: false, receivedAt: 1_700_000_000_000, recheck: true },
    { source: '[fd00::1]:6666', format: 'legacy', seq: null, pri: null, level: null, facility: null, tsUsec: null, flags: '', text: 'legacy', fields: {}, release: null, complete: true, receivedAt: 1, recheck: false },
    { type: 'gap', source: '10.0.0.1:6666', at: 5, from: 1, to: 6 },
    { source: '10.0.0.1:6666', format: 'extended', seq: 2 ** 40, pri: 191, level: 7, facility: 23, tsUsec: 9_007_199_254_740_991, flags: '-', text: 'ünïcödé ✓ 𝄞 and an empty one follows', fields: {}, release: null, complete: true, receivedAt: 1_700_000_000_001.5, recheck: false },
    { source: '10.0.0.1:6666', format: 'extended', seq: 0, pri: 0, level: 0, facility: 0, tsUsec: 0, flags: '-', text: '', fields: {}, release: null, complete: true, receivedAt: 0, recheck: false },
    { kind: 'counters', source: '10.0.0.1:6666', at: 5, counters: { datagrams: 3 } },
    { kind: 'hub-counters', at: 5, counters: { 'dropped.queue_full': 2 } },
  ];
  const encoded = encodeItems(items);
  assert.equal(encoded.count, 4, 'four records go as typed arrays');
  assert.equal(itemCount(encoded), items.length);
  const buffers = transferables(encoded);
  const received = structuredClone(encoded, { transfer: buffers });
  assert.equal(buffers[0]!.byteLength, 0, 'the buffers moved (detached here), not copied');
  assert.deepEqual(decodeItems(received), items);
});

test('a batch of only other items, and an empty batch, decode too', () => {
  const only: StoreItem[] = [{ type: 'reboot', source: '10.0.0.2:6666', at: 1, from: 9, to: 1, detail: 'seq 9 -> 1' }];
  assert.deepEqual(decodeItems(structuredClone(encodeItems(only))), only);
  assert.deepEqual(decodeItems(structuredClone(encodeItems([]))), []);
});
