// `import FILE.pcap… --db PATH`: a capture stored through the same pipeline as serve, with the
// capture's timestamps as arrival times, bad checksums counted and not stored.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { ROOT, fixturePath, loadJsonl } from './helpers/fixtures.js';
import { tempDir } from './helpers/serve.js';

function runImport(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/netconsole-hub'), 'import', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('import of the real kernel pcap: every record, both targets, capture timestamps, a summary', () => {
  const db = join(tempDir('nch-import-'), 'i.db');
  const r = runImport([fixturePath('extended.guest-eth0.pcap'), '--db', db, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.deepEqual([s.records, s.hosts, s.sources, s.gaps, s.bad_checksums, s.incomplete], [2479 + 2111, 1, 2, 0, 0, 0]);
  const d = new Database(db, { readonly: true });
  const src = d.prepare(`SELECT s.address, COUNT(*) n, MIN(m.received_at) first FROM messages m JOIN sources s ON s.id = m.source_id GROUP BY s.id ORDER BY s.address`).all() as Array<{ address: string; n: number; first: number }>;
  assert.deepEqual(src.map((x) => [x.address, x.n]), [['10.0.2.15:6664', 2111], ['10.0.2.15:6665', 2479]]);
  // The capture's own clock, not the import's: the guest pcap and the host-side jsonl were taken
  // in the same second of 2026-11 by the harness, so they agree to within a few seconds.
  const hostSideFirst = loadJsonl('extended.jsonl')[0].t * 1000;
  assert.ok(Math.abs(src[1].first - hostSideFirst) < 5000, `received_at ${src[1].first} is the capture time (~${hostSideFirst})`);
  d.close();
});

test('import: a flipped byte is one bad checksum, not stored; a non-capture is a one-line error', () => {
  const bytes = Buffer.from(readFileSync(fixturePath('extended.guest-eth0.pcap')));
  const at = bytes.indexOf(',-;kn-burst 00100/02000');
  bytes[at + 5] ^= 0x01;
  const dir = tempDir('nch-import-');
  const pcap = join(dir, 'flipped.pcap');
  writeFileSync(pcap, bytes);
  const r = runImport([pcap, '--db', join(dir, 'i.db'), '--json']);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.bad_checksums, 1);
  assert.equal(s.gaps, 1, 'the packet that was not stored shows as one lost record');
  const d = new Database(join(dir, 'i.db'), { readonly: true });
  const c = d.prepare(`SELECT SUM(checksum_errors) n FROM source_counters`).get() as { n: number };
  assert.equal(c.n, 1);
  d.close();
  const junk = join(dir, 'junk.txt');
  writeFileSync(junk, 'this is not a capture\n');
  const bad = runImport([junk, '--db', join(dir, 'j.db')]);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /junk\.txt:1: not JSON/);
});

test('decode: the CLI prints JSON lines; unreadable or malformed captures are a one-line error, status 2', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/netconsole-hub'), 'decode', ...args], { encoding: 'utf8', timeout: 60_000 });
  const ok = run([fixturePath('legacy.jsonl')]);
  assert.equal(ok.status, 0, ok.stderr);
  const lines = ok.stdout.trim().split('\n').map((l) => JSON.parse(l));
  for (const k of ['source', 'format', 'seq', 'level', 'facility', 'ts_usec', 'flags', 'text', 'fields', 'complete']) assert.ok(k in lines[0], `field ${k}`);
  const dir = tempDir('nch-decode-');
  const missing = run([join(dir, 'nope.pcap')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^netconsole-hub: cannot read capture .*nope\.pcap: ENOENT/);
  const truncated = join(dir, 'cut.pcap');
  writeFileSync(truncated, readFileSync(fixturePath('legacy.guest-eth0.pcap')).subarray(0, 5000));
  const cut = run([truncated]);
  assert.equal(cut.status, 2);
  assert.equal(cut.stdout, '', 'nothing printed from a capture that fails');
  assert.equal(cut.stderr.trim().split('\n').length, 1, cut.stderr);
  const badLine = join(dir, 'bad.jsonl');
  writeFileSync(badLine, '{"src":"1.2.3.4:5","t":1,"b64":"aGk="}\n{"src": 5}\n');
  const bl = run([badLine]);
  assert.equal(bl.status, 2);
  assert.match(bl.stderr, /bad\.jsonl:2: malformed datagram line/);
});
