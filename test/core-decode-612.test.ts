// The frozen Linux 6.12 captures (test/fixtures/kernel-6.12, see its README) decode, without qemu,
// to what the oracle (test/helpers/kernel-oracle.ts) worked out from the frames and the harness's
// configuration, record by record: release prefix, userdata, `c` records, the 2048-byte cut.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeCaptures } from '../src/commands/decode.js';
import { readCaptureFile } from '../src/capture/read.js';
import { ROOT } from './helpers/fixtures.js';

const DIR = join(ROOT, 'test/fixtures/kernel-6.12');

type Row = Record<string, any>;

function expected(name: string): Row[] {
  return readFileSync(join(DIR, `${name}.expected.jsonl`), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

function decoded(name: string): { records: Row[]; events: Row[] } {
  const out: Row[] = [];
  decodeCaptures([join(DIR, `${name}.guest-eth0.pcap`)], { events: true }, (l) => out.push(JSON.parse(l)));
  return { records: out.filter((o) => !o.event), events: out.filter((o) => o.event) };
}

/** The fields the oracle knows, in its shape. */
function comparable(r: Row): Row {
  return r.format === 'extended'
    ? { source: r.source, format: r.format, seq: r.seq, flags: r.flags, release: r.release, text: r.text, fields: r.fields, truncated: r.truncated }
    : { source: r.source, format: r.format, ts_usec: r.ts_usec, text: r.text };
}

function assertDecodesAsExpected(name: string): Row[] {
  const { records, events } = decoded(name);
  assert.deepEqual(events, [], `${name}: no gap, duplicate, reboot or checksum error`);
  assert.ok(records.every((r) => r.complete), `${name}: every record complete`);
  const want = expected(name);
  for (const source of new Set(want.map((w) => w.source))) {
    const got = records.filter((r) => r.source === source).map(comparable);
    const exp = want.filter((w) => w.source === source);
    assert.equal(got.length, exp.length, `${name} ${source}: record count`);
    for (let i = 0; i < exp.length; i++) assert.deepEqual(got[i], exp[i], `${name} ${source}: record ${i}`);
  }
  return records;
}

test('6.12, configfs target with userdata (rack=r12, role=db, long=150 u): every record, userdata as fields', () => {
  const records = assertDecodesAsExpected('userdata');
  const ext = records.filter((r) => r.format === 'extended');
  assert.equal(ext.length, 316);
  assert.ok(ext.every((r) => r.fields.rack === 'r12' && r.fields.role === 'db' && r.fields.long === 'u'.repeat(150)));
  assert.ok(ext.every((r) => !/ rack=|\nrack=/.test(r.text)), 'userdata never in the text');
  assert.equal(records.filter((r) => r.format === 'legacy' && /^kn-burst \d{5}\/00200 /.test(r.text)).length, 200);
});

test('6.12: the UTF-8 line cut at 2048 bytes, ncfrag total 2207 = 17 + 2031 + 176 userdata bytes', () => {
  const frames = [...readCaptureFile(join(DIR, 'userdata.guest-eth0.pcap'))].map((d) => Buffer.from(d.payload).toString('latin1'));
  const cut = frames.filter((f) => f.startsWith('14,397,'));
  assert.ok(cut.length >= 1 && cut.every((f) => /^14,397,(\d+),-,ncfrag=\d+\/2207;/.test(f)), 'the record arrives as one ncfrag set of 2207 bytes');
  const header = /^(14,397,\d+,-),/.exec(cut[0])![1];
  assert.equal(header.length + 1, 17);
  const userdata = ' rack=r12\n role=db\n long=' + 'u'.repeat(150) + '\n';
  assert.equal(userdata.length, 176);
  assert.equal(2207 - userdata.length + header.length + 1, 2048);
  const r = decoded('userdata').records.find((x) => x.seq === 397 && x.format === 'extended')!;
  assert.equal(r.truncated, true);
  assert.ok(r.text.startsWith('kn-frag utf8-long é€✓') && !r.text.includes('rack') && !r.text.includes('\ufffd'));
  assert.deepEqual(Object.keys(r.fields), ['rack', 'role', 'long']);
  // The serial console got the whole line: the stored text is its beginning (up to the last whole character).
  const serial = readFileSync(join(DIR, 'userdata.serial.log'), 'utf8');
  const whole = /kn-frag utf8-long [^\r\n]*END/.exec(serial)![0];
  const kept = r.text.replace(/(\\x[0-9a-f]{2})*E?$/, '');
  assert.ok(kept.length > 200 && whole.startsWith(kept), 'the text is the start of the real line');
});

test('6.12 --mode release with tasks: the release is a field of every record, each `c` record its own row', () => {
  const records = assertDecodesAsExpected('release');
  const ext = records.filter((r) => r.format === 'extended');
  assert.ok(ext.length > 1400);
  assert.ok(ext.every((r) => r.release === '6.12.118+deb12-amd64' && !r.text.startsWith('6.12.118')));
  assert.equal(ext.filter((r) => r.flags === 'c').length, 109, 'sysrq t: 109 records with flag c, one row each');
  assert.deepEqual(ext.map((r) => r.seq), Array.from({ length: ext.length }, (_, i) => i), 'seq 0.. without a hole');
  assert.equal(ext.filter((r) => r.truncated).length, 1);
});
