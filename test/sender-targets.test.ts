// Target syntax: HOST:PORT and the kernel's netconsole= string (spec §5.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHostPort, parseNetconsoleSpec, TargetError } from '../src/sender/targets.js';
import { LineRecordFactory, parseFacility, parseLevel } from '../src/sender/line-records.js';
import { SimulatedHost } from '../src/sender/simulate.js';
import { formatRecord } from '../src/netconsole/format.js';

test('netconsole= syntax: defaults, extended, release, IPv6, MAC, several targets', () => {
  assert.deepEqual(parseNetconsoleSpec('@/,@10.0.0.2/'), [
    { label: '@/,@10.0.0.2/', host: '10.0.0.2', port: 6666, family: 4, format: 'legacy', release: false, srcPort: 6665 },
  ]);
  const [a, b] = parseNetconsoleSpec('+r4444@10.0.0.1/eth1,9353@10.0.0.2/12:34:56:78:9a:bc; @/,@fd00:1:2:3::1/', 7000);
  assert.equal(a.format, 'extended');
  assert.equal(a.release, true);
  assert.equal(a.srcPort, 4444);
  assert.equal(a.srcIp, '10.0.0.1');
  assert.equal(a.dev, 'eth1');
  assert.equal(a.port, 9353);
  assert.equal(a.mac, '12:34:56:78:9a:bc');
  assert.equal(b.family, 6);
  assert.equal(b.host, 'fd00:1:2:3::1');
  assert.equal(b.srcPort, 7000);
  for (const bad of ['r@/,@10.0.0.2/', '@/,@/', '6665/,@10.0.0.2/', '@/,@10.0.0.2', '@10.0.0.1/,@fd00::1/', '@/,@10.0.0.2/zz', '99999@/,@10.0.0.2/', ''])
    assert.throws(() => parseNetconsoleSpec(bad), TargetError, bad);
});

test('HOST:PORT targets', () => {
  const d = { format: 'extended' as const, release: false, srcPort: 6665 };
  assert.equal(parseHostPort('127.0.0.1:6666', d).family, 4);
  assert.equal(parseHostPort('[::1]:6666', d).host, '::1');
  assert.equal(parseHostPort('localhost:1', d).host, '127.0.0.1');
  assert.throws(() => parseHostPort('example.com:6666', d), /IPv4 or IPv6/);
  assert.throws(() => parseHostPort('127.0.0.1:70000', d), /0\.\.65535/);
  assert.throws(() => parseHostPort('[::1]:1', { ...d, srcIp: '127.0.0.1' }), /different IP families/);
});

test('line records: <N> prefix as devkmsg_write, own seq, level and facility names', () => {
  let now = 10n;
  const f = new LineRecordFactory(parseFacility('daemon'), parseLevel('info'), 0, () => now++);
  assert.deepEqual(f.fromLine(Buffer.from('plain')), { pri: 30, seq: 0, tsUsec: 10n, text: Buffer.from('plain') });
  assert.equal(f.fromLine(Buffer.from('<3>err')).pri, 27); // level only: facility stays
  assert.equal(f.fromLine(Buffer.from('<190>x')).pri, 190);
  assert.equal(f.fromLine(Buffer.from('<9999>x')).text.toString(), '<9999>x');
  assert.equal(f.nextSeq, 4);
  assert.throws(() => parseLevel('loud'), /invalid level/);
  assert.throws(() => parseFacility('999'), /invalid facility/);
});

test('simulated hosts: deterministic, own seq, every record formattable, Oops and long lines occur', () => {
  const a = new SimulatedHost({ index: 2, seed: 5, oopsRate: 0.05 });
  const b = new SimulatedHost({ index: 2, seed: 5, oopsRate: 0.05 });
  let oops = 0;
  let fragmented = 0;
  for (let i = 0; i < 2000; i++) {
    const r = a.next(i * 1000);
    assert.deepEqual(r, b.next(i * 1000));
    assert.equal(r.seq, i);
    const text = Buffer.from(r.text).toString();
    if (text === 'Call Trace:') oops++;
    if (formatRecord(r, { format: 'extended' }).length > 1) fragmented++;
  }
  assert.equal(a.lastSeq, 1999);
  assert.ok(oops > 0, 'an Oops with a Call Trace');
  assert.ok(fragmented > 0, 'long lines needing ncfrag');
});
