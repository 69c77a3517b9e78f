// SourceReassembler on its own: a lone piece costs its bytes and comes back as itself, the
// caller's buffer may be reused at once (the batched reader overwrites its slots), refusals say why.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatRecord } from '../src/netconsole/format.js';
import { NetconsoleReceiver } from '../src/netconsole/pipeline.js';
import { DEFAULT_FRAGMENT_LIMITS, SourceReassembler, type AssembledData } from '../src/netconsole/reassembly.js';
import type { LogRecord, Sink } from '../src/netconsole/types.js';

test('reassembly: a lone piece is kept as a copy and handed back as the partial record', () => {
  const r = new SourceReassembler(DEFAULT_FRAGMENT_LIMITS, 800);
  const slot = Buffer.from('first piece');
  assert.deepEqual(r.add('6,1,0,-', 0, 60000, slot, 0, () => assert.fail('no eviction')), { status: 'pending' });
  slot.fill(0x58); // the reader reuses its slot for the next datagram
  const out: AssembledData[] = [];
  r.expire(800, (a) => out.push(a));
  assert.equal(out.length, 1);
  assert.equal(Buffer.from(out[0]!.data).toString(), 'first piece');
  assert.deepEqual(out[0]!.missing, [[11, 60000]]);
  assert.equal(out[0]!.complete, false);
});

test('reassembly: pieces in any order complete the record, each copied before the slot is reused', () => {
  const r = new SourceReassembler(DEFAULT_FRAGMENT_LIMITS, 800);
  const slot = Buffer.alloc(4);
  const put = (off: number, s: string) => { slot.write(s); return r.add('6,2,0,-', off, 10, slot.subarray(0, s.length), 0, () => assert.fail('no eviction')); };
  assert.equal(put(4, 'efgh').status, 'pending');
  assert.equal(r.inFlightBytes, 4, 'a lone piece holds its own bytes, not the claimed total');
  assert.equal(put(8, 'ij').status, 'pending');
  assert.equal(r.inFlightBytes, 10, 'from the second piece on, the set holds its total');
  const done = put(0, 'abcd');
  assert.equal(done.status, 'complete');
  assert.equal(done.status === 'complete' && Buffer.from(done.assembled.data).toString(), 'abcdefghij');
  // One piece that covers the whole record is the record.
  const one = r.add('6,3,0,-', 0, 3, Buffer.from('xyz'), 0, () => {});
  assert.equal(one.status === 'complete' && Buffer.from(one.assembled.data).toString(), 'xyz');
  assert.equal(r.inFlightSets, 0);
  assert.equal(r.inFlightBytes, 0);
});

test('reassembly: refusals carry their reason', () => {
  const r = new SourceReassembler(DEFAULT_FRAGMENT_LIMITS, 800);
  const codes = [[0, 0], [0, 99999999999], [0, 1_000_000], [5, 3], [900, 1000]].map(([off, total]) => {
    const x = r.add('4,1,0,-', off!, total!, Buffer.alloc(200), 0, () => {});
    return x.status === 'invalid' ? x.code : x.status;
  });
  assert.deepEqual(codes, ['total_out_of_range', 'total_out_of_range', 'total_out_of_range', 'overrun', 'overrun']);
});

test('reassembly: lone pieces from many hostile sources do not push a valid source\'s records out as partial', () => {
  const rx = new NetconsoleReceiver();
  const out: LogRecord[] = [];
  const sink: Sink = { record: (r) => out.push(r), event: () => {} };
  let now = 0;
  for (let rec = 0; rec < 20; rec++) {
    const [a, b] = formatRecord({ seq: rec, tsUsec: rec * 1000, level: 6, text: Buffer.from(`valid ${rec} ` + 'v'.repeat(1000)) }, { format: 'extended' });
    rx.push('192.0.2.1:6665', a!, now, sink);
    // 600 sources, four pieces each per round claiming 64 KiB totals: 150 MiB claimed per round;
    // held, at most 16 sets of 900 bytes per source (9 MB), well under the shared 32 MiB bound.
    for (let h = 0; h < 2400; h++) rx.push(`198.51.100.1:${1000 + (h % 600)}`, Buffer.from(`4,${rec * 10_000 + h},0,-,ncfrag=0/65536;` + 'h'.repeat(900)), now, sink);
    rx.push('192.0.2.1:6665', b!, ++now, sink);
  }
  rx.flushAll(now, sink);
  const valid = out.filter((r) => r.source === '192.0.2.1:6665');
  assert.equal(valid.length, 20);
  assert.deepEqual(valid.filter((r) => !r.complete).map((r) => r.seq), [], 'every valid record complete');
  assert.ok(rx.counters.fragmentEvictions > 0, 'the hostile sets are still bounded per source');
});
