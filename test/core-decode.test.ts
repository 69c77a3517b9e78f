// The receiving direction of the protocol core against the spec's vectors and the real kernel.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeCaptures } from '../src/commands/decode.js';
import { NetconsoleReceiver } from '../src/netconsole/pipeline.js';
import { MemoryReplayJudge } from '../src/netconsole/replay-judge.js';
import { bytesToText } from '../src/netconsole/text.js';
import type { LogRecord, SeqEvent, Sink } from '../src/netconsole/types.js';
import { fixturePath, loadJsonl, loadVectors } from './helpers/fixtures.js';

function collect(): { sink: Sink; records: LogRecord[]; events: SeqEvent[] } {
  const records: LogRecord[] = [];
  const events: SeqEvent[] = [];
  return { sink: { record: (r) => records.push(r), event: (e) => events.push(e) }, records, events };
}

function decodeDatagrams(dgs: Array<{ src: string; payload: Uint8Array; t?: number }>): { records: LogRecord[]; events: SeqEvent[] } {
  const rx = new NetconsoleReceiver();
  const c = collect();
  const sink = new MemoryReplayJudge(c.sink);
  let now = 0;
  for (const d of dgs) {
    now = d.t !== undefined ? d.t * 1000 : now + 1;
    rx.poll(now, sink);
    rx.push(d.src, d.payload, now, sink);
  }
  rx.flushAll(now + 10_000, sink);
  sink.flush();
  return c;
}

function decodeFile(...names: string[]): Array<Record<string, any>> {
  const out: string[] = [];
  decodeCaptures(names.map(fixturePath), { events: true }, (l) => out.push(l));
  return out.map((l) => JSON.parse(l));
}

test('payload vectors decode to the records the spec describes', () => {
  const v = Object.fromEntries(loadVectors().payload_vectors.map((x) => [x.name, x.frames_hex.map((h) => Buffer.from(h, 'hex'))]));
  const one = (name: string) => {
    const { records } = decodeDatagrams(v[name].map((payload: Buffer) => ({ src: '192.0.2.1:6665', payload })));
    assert.equal(records.length, 1, name);
    assert.equal(records[0].complete, true, name);
    return records[0];
  };
  const short = one('ext-short');
  assert.deepEqual([short.seq, short.level, short.facility, short.tsUsec, short.text], [1234, 6, 0, 5678901, 'hello, netconsole']);
  const frag = one('ext-frag-2500');
  assert.equal(frag.seq, 1000);
  assert.equal(frag.text, '0123456789'.repeat(250).slice(0, 2499));
  const dict = one('ext-dict');
  assert.deepEqual(dict.fields, { SUBSYSTEM: 'pci', DEVICE: '+pci:0000:00:19.0' });
  assert.equal(one('ext-escape').text, 'tab\there back\\slash café\nsecond line');
  assert.equal(one('ext-caller').fields.caller, 'T1');
  const rel = one('ext-release');
  assert.deepEqual([rel.release, rel.seq, rel.text], ['6.4.0', 444, 'netconsole: network logging started']);
  const ud = one('ext-userdata-frag');
  assert.equal(ud.fields.key, Array.from({ length: 60 }, (_, i) => `${i + 1}-`).join(''));
  assert.ok(ud.text.startsWith('MSG1=MSG2=') && ud.text.endsWith(': netcons_abcde'));
  const udr = one('ext-userdata-frag-release');
  assert.equal(udr.release, '6.13.0-04048-g4f561a87745a');
  assert.equal(udr.text, ud.text);
  const sys = one('ext-userdata-sysdata');
  assert.deepEqual(sys.fields, { key: 'value', cpu: '3', taskname: 'echo', release: '6.17.0', msgid: '2' });
  // Trailing NUL of the 6.6 quirk is stripped.
  assert.equal(one('ext-release-exact-1000-bug').text, 'x'.repeat(976));
  // ext-cont is a record of its own (flag `c`, its own seq), never merged into the one before it.
  const { records } = decodeDatagrams([...v['ext-frag-2500'], ...v['ext-cont']].map((payload: Buffer) => ({ src: 'h:1', payload })));
  assert.deepEqual(records.map((r) => [r.seq, r.flags]), [[1000, '-'], [1001, 'c']]);
  assert.equal(records[0].text, '0123456789'.repeat(250).slice(0, 2499));
  assert.equal(records[1].text, ' done');
  // legacy-1038: 1000 + 38 bytes become three lines with their timestamp.
  const leg = decodeDatagrams(v['legacy-1038'].map((payload: Buffer) => ({ src: 'h:1', payload }))).records;
  assert.deepEqual(leg.map((r) => [r.tsUsec, r.text]), ['a', 'b', 'c'].map((ch) => [12345678, ch.repeat(330)]));
});

test('extended.jsonl: all 2479 records, seq 0..2478, no gap, fragments and panic intact', () => {
  const out = decodeFile('extended.jsonl');
  const events = out.filter((o) => o.event);
  const recs = out.filter((o) => !o.event);
  assert.deepEqual(events, []);
  assert.equal(recs.length, 2479);
  assert.deepEqual(recs.map((r) => r.seq), Array.from({ length: 2479 }, (_, i) => i));
  assert.ok(recs.every((r) => r.complete && r.format === 'extended' && r.source === '127.0.0.1:48683'));
  // The fragmented records equal the serial console's lines (raw bytes, shown the same way).
  const serial = readFileSync(fixturePath('extended.serial.log'));
  const serialLines = new Map<number, string>();
  for (const line of serial.toString('latin1').split('\r\n')) {
    const m = /^\[\s*(\d+)\.(\d{6})\] /.exec(line);
    if (m) serialLines.set(Number(m[1]) * 1e6 + Number(m[2]), bytesToText(Buffer.from(line.slice(m[0].length), 'latin1')));
  }
  for (const seq of [386, 388]) {
    const r = recs[seq];
    assert.ok(r.text.startsWith('kn-frag'), `seq ${seq} is a kn-frag record`);
    assert.equal(r.text, serialLines.get(r.ts_usec), `seq ${seq} equals the serial console line`);
  }
  assert.equal(recs[388].text.length > 300, true);
  assert.equal(recs.filter((r) => r.fields.SUBSYSTEM).length, 41);
  const panic = recs.findIndex((r) => r.text.startsWith('Kernel panic - not syncing: sysrq triggered crash'));
  assert.ok(panic > 0);
  assert.equal(recs[panic].level, 0);
  assert.ok(recs.slice(panic).some((r) => r.text.includes('Call Trace:')));
  assert.ok(recs[recs.length - 1].text.startsWith('---[ end Kernel panic - not syncing: sysrq triggered crash ]---'));
  const burst = recs.filter((r) => /^kn-burst \d{5}\/02000/.test(r.text));
  assert.equal(burst.length, 2000);
});

/** Lines of the extended records of `ext` that the legacy target of the same boot also got. */
function compareSameBoot(extName: string, legName: string): void {
  const ext = decodeFile(extName).filter((o) => !o.event);
  const leg = decodeFile(legName).filter((o) => !o.event);
  assert.ok(leg.every((r) => r.format === 'legacy' && r.seq === null && r.complete));
  const extLines = ext.flatMap((r) => r.text.split('\n').map((t: string) => `${r.ts_usec} ${t}`));
  const legLines = leg.map((r) => `${r.ts_usec} ${r.text}`);
  // The configfs target starts at enable time, the module-parameter one replays the boot: compare
  // from where the later-starting one begins.
  const extStart = extLines.indexOf(legLines[0]);
  const legStart = legLines.indexOf(extLines[0]);
  assert.ok(extStart >= 0 || legStart >= 0, 'the two targets share lines');
  const a = extStart >= 0 ? extLines.slice(extStart) : extLines;
  const b = extStart >= 0 ? legLines : legLines.slice(legStart);
  assert.ok(b.length > 2000);
  assert.deepEqual(b, a.slice(0, b.length));
}

test('legacy output of the same boot gives the same lines as the extended records', () => {
  compareSameBoot('extended.jsonl', 'extended.t2-legacy.jsonl');
  compareSameBoot('legacy.t2-extended.jsonl', 'legacy.jsonl');
});

test('legacy.jsonl: the 992-byte line split 1000 + 3 is joined; the panic is there', () => {
  const recs = decodeFile('legacy.jsonl').filter((o) => !o.event);
  const long = recs.find((r) => r.text.startsWith('kn-frag max-ascii'));
  assert.ok(long);
  assert.equal(long.text.length, 987);
  assert.ok(recs.some((r) => r.text.startsWith('Kernel panic - not syncing: sysrq triggered crash')));
});

test('pcaps decode to the same records as the JSON lines, with no checksum error', () => {
  for (const mode of ['extended', 'legacy']) {
    const fromPcap = decodeFile(`${mode}.guest-eth0.pcap`);
    assert.deepEqual(fromPcap.filter((o) => o.event), [], `${mode}: no events`);
    const strip = (r: Record<string, any>) => JSON.stringify({ ...r, source: '', received_at: 0 });
    const pcapMain = fromPcap.filter((r) => r.source === '10.0.2.15:6665').map(strip);
    const jsonl = decodeFile(`${mode}.jsonl`).map(strip);
    assert.equal(pcapMain.length, jsonl.length);
    assert.deepEqual(pcapMain, jsonl);
  }
});

test('a pcap with one flipped payload byte reports exactly that packet', () => {
  const bytes = readFileSync(fixturePath('extended.guest-eth0.pcap'));
  const marker = bytes.indexOf(',-;kn-burst 00100/02000');
  assert.ok(marker > 0);
  const copy = Buffer.from(bytes);
  copy[marker + 3] ^= 0x20;
  const dir = mkdtempSync(join(tmpdir(), 'nch-pcap-'));
  const path = join(dir, 'flipped.pcap');
  writeFileSync(path, copy);
  const out: string[] = [];
  decodeCaptures([path], { events: true }, (l) => out.push(l));
  const parsed = out.map((l) => JSON.parse(l));
  const bad = parsed.filter((o) => o.event === 'checksum_error');
  assert.equal(bad.length, 1);
  assert.equal(bad[0].source, '10.0.2.15:6665');
  const gaps = parsed.filter((o) => o.event === 'gap');
  assert.equal(gaps.length, 1, 'the dropped packet shows as one missing record');
  assert.equal(gaps[0].from, gaps[0].to);
  assert.ok(!parsed.some((o) => o.source === '10.0.2.15:6665' && typeof o.text === 'string' && o.text.startsWith('kn-burst 00100/')));
});

test('loss and reordering: gaps with the right ranges, reorders, duplicates, reboots', () => {
  const dgs = loadJsonl('extended.jsonl');
  const seqOf = (p: Buffer) => Number(p.toString('latin1').split(',')[1]);
  const dropped = new Set([500, 501, 502, 900, 1500]);
  const kept = dgs.filter((d) => !dropped.has(seqOf(d.payload)));
  // swap two neighbours (seq 1000 and 1001) and send seq 1200 twice
  const i1000 = kept.findIndex((d) => seqOf(d.payload) === 1000);
  [kept[i1000], kept[i1000 + 1]] = [kept[i1000 + 1], kept[i1000]];
  const i1200 = kept.findIndex((d) => seqOf(d.payload) === 1200);
  kept.splice(i1200 + 1, 0, kept[i1200]);
  const { records, events } = decodeDatagrams(kept.map((d) => ({ src: d.src, payload: d.payload, t: d.t })));
  assert.equal(records.length, 2479 - 5);
  const gaps = events.filter((e) => e.type === 'gap').map((e) => [e.from, e.to]);
  assert.deepEqual(gaps, [[500, 502], [900, 900], [1500, 1500]]);
  assert.deepEqual(events.filter((e) => e.type === 'reorder').map((e) => e.from), [1000]);
  assert.deepEqual(events.filter((e) => e.type === 'duplicate').map((e) => e.from), [1200]);
  // Two boots in a row from one source: the second starts a new boot.
  // Two real boots (the extended target of each fixture run) from one source: the second is a new boot.
  const boot2 = loadJsonl('legacy.t2-extended.jsonl');
  const twice = decodeDatagrams([...dgs, ...boot2].map((d) => ({ src: 'host:6665', payload: d.payload, t: d.t })));
  assert.deepEqual(twice.events.filter((e) => e.type === 'reboot').map((e) => [e.from, e.to]), [[2478, 369]]);
  assert.equal(twice.records.length, 2479 + 2097);
  // The boot's first records sent again exactly (a ring-buffer replay) are duplicates, not a boot.
  const seq0 = decodeDatagrams([...dgs, ...dgs.slice(0, 5)].map((d) => ({ src: 'h:1', payload: d.payload })));
  assert.equal(seq0.events.filter((e) => e.type === 'reboot').length, 0);
  assert.deepEqual(seq0.events.filter((e) => e.type === 'duplicate').map((e) => e.from), [0, 1, 2, 3, 4]);
  assert.equal(seq0.records.length, 2479);
});

test('fragments out of order, duplicated, and missing (partial after timeout)', () => {
  const frags = loadJsonl('extended.jsonl').filter((d) => d.payload.toString('latin1').split(';')[0].includes(',ncfrag='));
  assert.equal(frags.length, 7);
  const shuffled = [frags[6], frags[3], frags[0], frags[5], frags[2], frags[4], frags[3], frags[1]];
  const { records } = decodeDatagrams(shuffled.map((d) => ({ src: 'x:1', payload: d.payload })));
  const full = decodeFile('extended.jsonl').filter((r) => r.seq === 386 || r.seq === 388);
  assert.deepEqual(records.map((r) => r.text).sort(), full.map((r) => r.text).sort());
  // Missing the middle fragment of seq 388: emitted as partial after the timeout, even with no further packet.
  const rx = new NetconsoleReceiver();
  const c = collect();
  for (const d of [frags[2], frags[3], frags[5], frags[6]]) rx.push('x:1', d.payload, 0, c.sink);
  assert.equal(c.records.length, 0);
  const deadline = rx.nextDeadline();
  assert.ok(deadline !== null && deadline <= 1000, 'held no longer than 1 s');
  rx.poll(deadline, c.sink);
  rx.poll(deadline + 200, c.sink);
  assert.equal(c.records.length, 1);
  assert.equal(c.records[0].complete, false);
  assert.match(c.records[0].fields.incomplete, /missing bytes/);
  assert.equal(rx.counters.reassemblyTimeouts, 1);
});

test('bounded memory: a flood of never-completing fragments is evicted and counted', () => {
  const rx = new NetconsoleReceiver();
  const c = collect();
  for (let i = 0; i < 5000; i++) {
    rx.push('flood:1', Buffer.from(`4,${i},${i},-,ncfrag=0/60000;` + 'x'.repeat(900)), i, c.sink);
    rx.push(`many:${i % 300}`, Buffer.from(`4,${i},${i},-,ncfrag=0/60000;` + 'y'.repeat(900)), i, c.sink);
  }
  assert.ok(rx.inFlightFragmentBytes <= rx.options.maxFragmentBytesTotal);
  assert.ok(rx.counters.fragmentEvictions > 0);
  assert.ok(c.records.every((r) => r.complete === false));
});
