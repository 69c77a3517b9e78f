// The formatter against the spec's payload vectors and against a real 6.1 kernel's datagrams.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { unescapeKernel } from '../src/netconsole/escape.js';
import {
  formatRecord,
  buildExtendedRecord,
  buildLegacyText,
  fragmentExtended,
  FormatError,
  type KernelRecord,
  type FormatOptions,
} from '../src/netconsole/format.js';
import { fixtureDir, groupExtended, loadDatagrams } from './sender-fixtures.js';

interface PayloadVector {
  name: string;
  frames_hex: string[];
}

function vectors(): Map<string, Buffer[]> {
  const file = resolve(fixtureDir(), '../../spec/netconsole-test-vectors.json');
  const json = JSON.parse(readFileSync(file, 'utf8')) as { payload_vectors: PayloadVector[] };
  return new Map(json.payload_vectors.map((v) => [v.name, v.frames_hex.map((h) => Buffer.from(h, 'hex'))]));
}

const b = (s: string): Buffer => Buffer.from(s, 'utf8');
const ext: FormatOptions = { format: 'extended', kernel: 'latest' };
const msgText = (): string => Array.from({ length: 150 }, (_, i) => `MSG${i + 1}=`).join('') + ': netcons_abcde';
const keyValue = (): string => Array.from({ length: 60 }, (_, i) => `${i + 1}-`).join('');

// Inputs from the table in spec §8; expected bytes from the JSON.
const cases: Array<{ name: string; record: KernelRecord; options: FormatOptions }> = [
  { name: 'ext-short', record: { pri: 6, seq: 1234, tsUsec: 5678901, text: b('hello, netconsole') }, options: ext },
  {
    name: 'ext-frag-2500',
    // a 2499-byte text cannot exist in any kernel (record max 1023): checked on the fragmenter below
    record: { pri: 4, seq: 1000, tsUsec: 123456789, text: b('0123456789'.repeat(250).slice(0, 2499)) },
    options: ext,
  },
  {
    name: 'ext-dict',
    record: {
      pri: 6,
      seq: 339,
      tsUsec: 5140900,
      text: b('e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx'),
      subsystem: 'pci',
      device: '+pci:0000:00:19.0',
    },
    options: ext,
  },
  { name: 'ext-escape', record: { pri: 12, seq: 77, tsUsec: 9000001, text: b('tab\there back\\slash café\nsecond line') }, options: ext },
  { name: 'ext-cont', record: { pri: 4, seq: 1001, tsUsec: 123456800, flag: 'c', text: b(' done') }, options: ext },
  { name: 'ext-caller', record: { pri: 6, seq: 1234, tsUsec: 5678901, caller: 'T1', text: b('hello, netconsole') }, options: ext },
  {
    name: 'ext-release',
    record: { pri: 6, seq: 444, tsUsec: 501151268, text: b('netconsole: network logging started') },
    options: { ...ext, release: '6.4.0' },
  },
  {
    name: 'ext-userdata-frag',
    record: { pri: 13, seq: 468, tsUsec: 514729715, text: b(msgText()) },
    options: { ...ext, userdata: [['key', keyValue()]] },
  },
  {
    name: 'ext-userdata-frag-release',
    record: { pri: 13, seq: 468, tsUsec: 514729715, text: b(msgText()) },
    options: { ...ext, userdata: [['key', keyValue()]], release: '6.13.0-04048-g4f561a87745a' },
  },
  {
    name: 'ext-userdata-sysdata',
    record: { pri: 13, seq: 435, tsUsec: 54934019, text: b('This is message #2') },
    options: { ...ext, userdata: [['key', 'value']], sysdata: { cpu: 3, taskname: 'echo', release: '6.17.0', msgid: 2 } },
  },
  {
    name: 'legacy-1038',
    record: { pri: 6, seq: 1, tsUsec: 12345678, text: b(['a', 'b', 'c'].map((c) => c.repeat(330)).join('\n')) },
    options: { format: 'legacy', kernel: 'latest' },
  },
  {
    name: 'ext-release-exact-1000-bug',
    record: { pri: 6, seq: 500, tsUsec: 1000000, text: b('x'.repeat(976)) },
    options: { ...ext, kernel: '6.9', release: '6.6.13' },
  },
];

test('every payload vector of the spec, byte for byte', async (t) => {
  const v = vectors();
  assert.equal(v.size, cases.length, 'a payload vector has no test case');
  for (const c of cases) {
    await t.test(c.name, () => {
      const expected = v.get(c.name);
      assert.ok(expected, `vector ${c.name} missing from the JSON`);
      let got: Buffer[];
      if (c.name === 'ext-frag-2500') {
        // Not producible through printk (text > record max): check the fragmenter on the 2500-byte body.
        got = formatRecord({ ...c.record }, { ...c.options, kernel: '6.1' });
        assert.notDeepEqual(got, expected, 'a 6.1 kernel cannot store 2499 bytes of text');
        const m = Buffer.concat([b('4,1000,123456789,-;'), c.record.text, b('\n')]);
        got = fragmentExtended(m, Buffer.alloc(0), undefined, 'latest');
      } else got = formatRecord(c.record, c.options);
      assert.deepEqual(got.map((x) => x.toString('hex')), expected.map((x) => x.toString('hex')));
    });
  }
});

test('exact-1000 record: latest sends the LF, 6.9 a NUL; with userdata 6.9 sends 999 bytes', () => {
  const r: KernelRecord = { pri: 6, seq: 500, tsUsec: 1000000, text: b('x'.repeat(976)) };
  const latest = formatRecord(r, { ...ext, release: '6.6.13' });
  assert.equal(latest.length, 1);
  assert.equal(latest[0].length, 1000);
  assert.equal(latest[0][999], 0x0a);
  // 16 header + 978 text + LF + ' k=v\n' = 1000
  const withUserdata = formatRecord({ ...r, text: b('x'.repeat(978)) }, { ...ext, kernel: '6.9', userdata: [['k', 'v']] });
  assert.equal(withUserdata.length, 1);
  assert.equal(withUserdata[0].length, 999);
  assert.equal(withUserdata[0].toString('latin1').slice(-5), '\n k=v');
  const fixed = formatRecord({ ...r, text: b('x'.repeat(978)) }, { ...ext, userdata: [['k', 'v']] });
  assert.deepEqual(fixed.map((d) => d.length), [1000]);
  assert.equal(fixed[0].toString('latin1').slice(-5), ' k=v\n');
});

test('6.9 stops fragmenting when a body fragment fills a datagram with userdata pending', () => {
  // Header `6,5,7,-,ncfrag=0/T;` is 20 + digits(T) bytes; choose the body to fill the first datagram.
  const header = '6,5,7,-';
  const value = 'a-value-long-enough-to-force-fragments';
  const extra = ` key=${value}\n`;
  for (let bodyLen = 950; bodyLen < 1000; bodyLen++) {
    const total = bodyLen + extra.length;
    const prefixLen = `${header},ncfrag=0/${total};`.length;
    if (prefixLen + bodyLen !== 1000) continue;
    const r: KernelRecord = { pri: 6, seq: 5, tsUsec: 7, text: b('y'.repeat(bodyLen - 1)) };
    assert.equal(formatRecord(r, { ...ext, kernel: '6.9', userdata: [['key', value]] }).length, 0);
    const latest = formatRecord(r, { ...ext, userdata: [['key', value]] });
    assert.equal(latest.length, 2);
    assert.equal(latest[1].toString(), `${header},ncfrag=${bodyLen}/${total};${extra}`);
    return;
  }
  assert.fail('no body length fills the datagram exactly');
});

test('6.1 rejects release, userdata and sysdata; legacy rejects release', () => {
  const r: KernelRecord = { pri: 6, seq: 1, tsUsec: 1, text: b('x') };
  assert.throws(() => formatRecord(r, { format: 'extended', kernel: '6.1', release: '6.1.0' }), FormatError);
  assert.throws(() => formatRecord(r, { format: 'extended', kernel: '6.1', userdata: [['a', 'b']] }), /userdata needs kernel >= 6.9/);
  assert.throws(() => formatRecord(r, { format: 'extended', kernel: '6.1', sysdata: { cpu: 0 } }), /sysdata/);
  assert.throws(() => formatRecord(r, { format: 'legacy', kernel: 'latest', release: '6.9.0' }), /extended/);
  assert.throws(() => formatRecord({ ...r, pri: 4000 }, ext), /invalid pri/);
  assert.throws(() => formatRecord({ ...r, seq: -1 }, ext), /invalid seq/);
});

test('extended output is cut at 2048 bytes on >= 6.3 but not on 6.1', () => {
  const r: KernelRecord = { pri: 6, seq: 9, tsUsec: 9, text: Buffer.alloc(991, 0x01) };
  assert.equal(buildExtendedRecord(r, 'latest').length, 2048);
  assert.equal(buildExtendedRecord(r, '6.1').length, '6,9,9,-;'.length + 991 * 4 + 1);
  // the cut escape keeps only what scnprintf fits before the last byte
  const cut = buildExtendedRecord(r, 'latest');
  assert.equal(cut.subarray(-8).toString(), '\\x01\\x0\n');
});

test('legacy prefix variants and line splitting', () => {
  const r: KernelRecord = { pri: 6, seq: 1, tsUsec: 100012345678n, caller: 'T123', text: b('one\ntwo') };
  assert.equal(buildLegacyText(r, { format: 'legacy' }).toString(), '[100012.345678][  T123] one\n[100012.345678][  T123] two\n');
  assert.equal(buildLegacyText({ ...r, caller: undefined }, { format: 'legacy', timestamps: false }).toString(), 'one\ntwo\n');
  assert.equal(buildLegacyText({ ...r, caller: undefined }, { format: 'legacy', syslogPrefix: true }).toString(), '<6>[100012.345678] one\n<6>[100012.345678] two\n');
  // 6.1: a 990-byte line gives 1006 bytes → 1000 + 6 (spec §8 note on #11)
  const long = formatRecord({ pri: 6, seq: 1, tsUsec: 12345678, text: Buffer.alloc(990, 0x61) }, { format: 'legacy', kernel: '6.1' });
  assert.deepEqual(long.map((d) => d.length), [1000, 6]);
  // 6.1: trailing lines that do not fit the 1024-byte buffer are dropped
  const three = formatRecord(cases[10].record, { format: 'legacy', kernel: '6.1' });
  assert.equal(Buffer.concat(three).toString().split('\n').filter(Boolean).length, 2);
});

// ---- byte identity with the real 6.1 kernel ----

/** Decodes one reassembled record M into the formatter's input, without the project's parser. */
function decodeRecord(m: Buffer): KernelRecord {
  const semi = m.indexOf(0x3b);
  const header = m.subarray(0, semi).toString('latin1').split(',');
  const [pri, seq, ts, flag, ...fields] = header;
  const body = m.subarray(semi + 1);
  const nl = body.indexOf(0x0a);
  assert.ok(nl >= 0, 'record without LF');
  const r: KernelRecord = { pri: Number(pri), seq: Number(seq), tsUsec: Number(ts), flag, text: unescapeKernel(body.subarray(0, nl)) };
  for (const f of fields) if (f.startsWith('caller=')) r.caller = f.slice(7);
  for (const line of body.subarray(nl + 1).toString('latin1').split('\n')) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    const key = line.slice(1, eq);
    const value = unescapeKernel(Buffer.from(line.slice(eq + 1), 'latin1'));
    if (key === 'SUBSYSTEM') r.subsystem = value;
    else if (key === 'DEVICE') r.device = value;
    else assert.fail(`unexpected dictionary key ${key}`);
  }
  return r;
}

test('extended.jsonl: every datagram of the real kernel, fragments included, byte for byte', () => {
  const datagrams = loadDatagrams('extended.jsonl');
  assert.equal(datagrams.length, 2484);
  const records = groupExtended(datagrams);
  assert.equal(records.length, 2479);
  let compared = 0;
  let fragmented = 0;
  for (const rec of records) {
    const r = decodeRecord(rec.record);
    const got = formatRecord(r, { format: 'extended', kernel: '6.1' });
    if (rec.datagrams.length > 1) fragmented++;
    assert.deepEqual(got, rec.datagrams, `seq ${String(r.seq)} differs`);
    compared += got.length;
  }
  assert.equal(compared, 2484);
  assert.equal(fragmented, 2);
});

test('extended.t2-legacy.jsonl: the same records in legacy form equal the kernel datagrams', () => {
  const records = groupExtended(loadDatagrams('extended.jsonl')).map((x) => decodeRecord(x.record));
  const legacy = loadDatagrams('extended.t2-legacy.jsonl');
  const formatted = records.map((r) => formatRecord(r, { format: 'legacy', kernel: '6.1' }));
  // The configfs target starts at enable time: find the record whose first datagram is the first one.
  const start = formatted.findIndex((d) => d[0].equals(legacy[0]));
  assert.ok(start >= 0, 'first legacy datagram matches no record');
  const expected = formatted.slice(start).flat();
  assert.equal(expected.length, legacy.length);
  for (let i = 0; i < legacy.length; i++) assert.ok(expected[i].equals(legacy[i]), `legacy datagram ${i} differs: ${JSON.stringify(legacy[i].toString('latin1'))} vs ${JSON.stringify(expected[i].toString('latin1'))}`);
});
