// The /dev/kmsg record parser: real 6.1 records round-trip through it and the formatter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseKmsgRecord, parseKmsgDump, KmsgParseError } from '../src/netconsole/kmsg.js';
import { buildExtendedRecord } from '../src/netconsole/format.js';
import { groupExtended, loadDatagrams } from './sender-fixtures.js';

test('every record of extended.jsonl parses and re-formats to the same bytes', () => {
  const records = groupExtended(loadDatagrams('extended.jsonl'));
  assert.equal(records.length, 2479);
  let withDict = 0;
  records.forEach((rec, i) => {
    const r = parseKmsgRecord(rec.record);
    assert.equal(r.seq, i);
    if (r.subsystem) withDict++;
    assert.ok(buildExtendedRecord(r, '6.1').equals(rec.record), `seq ${i} does not round-trip`);
  });
  assert.equal(withDict, 41);
});

test('a dump of all records parses back to the same records', () => {
  const records = groupExtended(loadDatagrams('extended.jsonl')).map((r) => r.record);
  const dump = Buffer.concat(records);
  const parsed = parseKmsgDump(dump);
  assert.equal(parsed.length, records.length);
  parsed.forEach((r, i) => assert.ok(buildExtendedRecord(r, '6.1').equals(records[i])));
});

test('fields: text and dictionary unescaped, header keys kept, big seq as bigint', () => {
  const r = parseKmsgRecord(Buffer.from('12,18446744073709551615,42,c,caller=T7,future=x;a\\x09b\\x5c\n SUBSYSTEM=pci\n DEVICE=+pci:0000:00:03.0\n OTHER=v\\x0a\n'));
  assert.equal(r.pri, 12);
  assert.equal(r.seq, 18446744073709551615n);
  assert.equal(r.tsUsec, 42);
  assert.equal(r.flag, 'c');
  assert.equal(r.caller, 'T7');
  assert.deepEqual(r.fields, { caller: 'T7', future: 'x' });
  assert.equal(Buffer.from(r.text).toString(), 'a\tb\\');
  assert.equal(Buffer.from(r.subsystem as Uint8Array).toString(), 'pci');
  assert.equal(Buffer.from(r.device as Uint8Array).toString(), '+pci:0000:00:03.0');
  assert.deepEqual(r.otherDict, { OTHER: 'v\n' });
  // without trailing LF too
  assert.equal(Buffer.from(parseKmsgRecord(Buffer.from('6,1,2,-;hi')).text).toString(), 'hi');
});

test('bad input gives a one-line KmsgParseError naming the line', () => {
  assert.throws(() => parseKmsgRecord(Buffer.from('no semicolon')), KmsgParseError);
  assert.throws(() => parseKmsgRecord(Buffer.from('6,1;x\n')), /fewer than 4 fields/);
  assert.throws(() => parseKmsgRecord(Buffer.from('6,x,2,-;x\n')), /invalid seq/);
  assert.throws(() => parseKmsgRecord(Buffer.from('6,1,2,--;x\n')), /invalid flag/);
  assert.throws(() => parseKmsgDump(Buffer.from('6,1,2,-;ok\n\n6,2,3,-;ok\nbroken\n')), (e: Error) => e instanceof KmsgParseError && /^line 4: /.test(e.message) && !e.message.includes('\n'));
  assert.throws(() => parseKmsgDump(Buffer.from(' SUBSYSTEM=pci\n')), /line 1: dictionary line before any record/);
  assert.deepEqual(parseKmsgDump(Buffer.alloc(0)), []);
});
