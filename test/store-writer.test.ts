// StorageWriter against real SQLite files: records and events stored, boots assigned, FTS finds text
// right after a flush, 'stored' rows equal what a query returns, the bound's drops are counted, and a
// restart continues ids, boots and counters.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StorageWriter } from '../src/receiver/store/writer.js';
import { StoreReader } from '../src/receiver/store/reader.js';
import { StoreError } from '../src/receiver/store/errors.js';
import type { StoredMessage } from '../src/receiver/store/types.js';
import type { LogRecord, SeqEvent } from '../src/netconsole/types.js';

/** A temp dir removed after the test, and writers closed even when an assertion fails first. */
function tempDb(t: TestContext): { dir: string; path: string; track: (w: StorageWriter) => StorageWriter } {
  const dir = mkdtempSync(join(tmpdir(), 'nch-store-writer-'));
  const writers: StorageWriter[] = [];
  t.after(async () => {
    for (const w of writers) await w.close().catch(() => {});
  });
  return { dir, path: join(dir, 'db', 'hub.db'), track: (w) => (writers.push(w), w) };
}

function rec(source: string, seq: number | null, text: string, receivedAt: number, extra: Partial<LogRecord> = {}): LogRecord {
  return {
    source, format: 'extended', seq, pri: 6, level: 6, facility: 0, tsUsec: (seq ?? 0) * 1000, flags: '-', text,
    fields: { caller: 'T1' }, release: null, complete: true, receivedAt, ...extra,
  };
}

function reboot(source: string, at: number, lastSeq: number, firstSeq: number): SeqEvent {
  return { type: 'reboot', source, at, from: lastSeq, to: firstSeq, detail: `seq ${lastSeq} -> ${firstSeq}` };
}

for (const worker of [true, false]) {
  test(`records and events are stored with hosts, sources and boots (${worker ? 'worker thread' : 'inline'})`, async (t) => {
    const { path, track } = tempDb(t);
    const w = track(await StorageWriter.open({ dbPath: path, worker, flushIntervalMs: 1 }));
    const emitted: StoredMessage[] = [];
    w.on('stored', (rows) => emitted.push(...rows));
    const A = '10.1.0.1:6666';
    const B = '10.1.0.1:6667'; // a second netconsole target of the same host
    const C = '[fd00::2]:6666';
    w.record(rec(A, 10, 'eth0: link up alphaword', 1000, { release: '6.1.0-test' }));
    w.record(rec(B, 10, 'eth0: link up alphaword', 1001));
    w.record(rec(C, 5, 'ipv6 host says hello', 1002, { format: 'legacy', seq: null, flags: '', complete: false }));
    w.event({ type: 'gap', source: A, at: 1003, from: 11, to: 13 });
    w.record(rec(A, 14, 'after the gap', 1004));
    w.event(reboot(A, 2000, 14, 0));
    w.record(rec(A, 0, 'Linux version 6.1 betaword', 2000));
    w.event(reboot(B, 2001, 10, 0)); // the same reboot seen by the second target
    w.record(rec(B, 0, 'Linux version 6.1 betaword', 2001));
    await w.flush();

    const r = StoreReader.open(path);
    const stats = r.stats();
    assert.equal(stats.messages, 6);
    assert.equal(stats.hosts, 2);
    assert.equal(stats.sources, 3);
    assert.equal(stats.boots, 3, 'host 10.1.0.1 has two boots (one reboot seen by both targets), fd00::2 one');
    assert.deepEqual(stats.events, { gap: 1, duplicate: 0, reorder: 0, reboot: 2 });
    assert.equal(stats.lost_records, 3);

    const boots = r.db.prepare('SELECT h.address, b.number, b.reason, b.first_seq, b.release FROM boots b JOIN hosts h ON h.id = b.host_id ORDER BY b.id').all();
    assert.deepEqual(boots, [
      { address: '10.1.0.1', number: 1, reason: 'first', first_seq: 10, release: '6.1.0-test' },
      { address: 'fd00::2', number: 1, reason: 'first', first_seq: null, release: null },
      { address: '10.1.0.1', number: 2, reason: 'reboot', first_seq: 0, release: null },
    ]);
    assert.deepEqual(emitted.map((m) => [m.source, m.boot, m.text]), [
      [A, 1, 'eth0: link up alphaword'],
      [B, 1, 'eth0: link up alphaword'],
      [C, 1, 'ipv6 host says hello'],
      [A, 1, 'after the gap'],
      [A, 2, 'Linux version 6.1 betaword'],
      [B, 2, 'Linux version 6.1 betaword'],
    ]);
    // What was pushed is exactly what a query returns.
    for (const m of emitted) assert.deepEqual(r.message(m.id), m);
    assert.equal(emitted[2].host, 'fd00::2');
    assert.equal(emitted[2].complete, false);
    assert.deepEqual(emitted[0].fields, { caller: 'T1' });
    const gap = r.db.prepare("SELECT seq_from, seq_to, b.number AS boot FROM seq_events e JOIN boots b ON b.id = e.boot_id WHERE type = 'gap'").get();
    assert.deepEqual(gap, { seq_from: 11, seq_to: 13, boot: 1 });
    const rebootRows = r.db.prepare("SELECT s.address, b.number AS boot, seq_from, seq_to FROM seq_events e JOIN sources s ON s.id = e.source_id JOIN boots b ON b.id = e.boot_id WHERE type = 'reboot' ORDER BY e.id").all();
    assert.deepEqual(rebootRows, [
      { address: A, boot: 2, seq_from: 14, seq_to: 0 },
      { address: B, boot: 2, seq_from: 10, seq_to: 0 },
    ]);
    // Full-text search sees the rows right after the flush.
    assert.deepEqual(r.search('betaword').map((m) => m.source).sort(), [A, B]);
    assert.equal(r.search('alphaword').length, 2);
    assert.equal(r.search('nosuchword').length, 0);
    r.close();
    const s = w.stats();
    assert.equal(s.written, 6);
    assert.equal(s.writtenEvents, 3);
    assert.equal(s.queued, 0);
    await w.close();
  });
}

test('a restart continues ids, boots and counter totals', async (t) => {
  const { path, track } = tempDb(t);
  const A = '192.0.2.7:6666';
  let w = track(await StorageWriter.open({ dbPath: path }));
  w.record(rec(A, 1, 'first run one', 10));
  w.record(rec(A, 2, 'first run two', 11));
  w.event(reboot(A, 12, 2, 0));
  w.record(rec(A, 0, 'first run after reboot', 12));
  // Counter snapshots are increments: these two add up to 10 datagrams.
  w.enqueue({ kind: 'counters', source: A, at: 12, counters: { datagrams: 5, bytes: 500, badPackets: 1, fragments: 2 } });
  w.enqueue({ kind: 'counters', source: A, at: 13, counters: { datagrams: 5, bytes: 500, fragments: 2 } });
  await w.close();

  w = track(await StorageWriter.open({ dbPath: path }));
  const rows: StoredMessage[] = [];
  w.on('stored', (r) => rows.push(...r));
  assert.deepEqual(w.migration.applied, [], 'nothing migrated twice');
  w.record(rec(A, 1, 'second run', 20));
  w.enqueue({ kind: 'counters', source: A, at: 20, counters: { datagrams: 3, bytes: 300, checksumErrors: 2, fragments: 1 } });
  await w.close();
  assert.equal(rows.length, 1);
  assert.equal(rows[0].id, 4, 'ids continue');
  assert.equal(rows[0].boot, 2, 'the host stays in its current boot');

  const r = StoreReader.open(path);
  const c = r.db.prepare('SELECT datagrams, bytes, bad_packets, checksum_errors, other FROM source_counters').get() as Record<string, unknown>;
  assert.deepEqual(c, { datagrams: 13, bytes: 1300, bad_packets: 1, checksum_errors: 2, other: JSON.stringify({ fragments: 5 }) });
  assert.equal(r.stats().messages, 4);
  assert.equal(r.stats().datagrams, 13);
  r.close();
});

test('source counter increments add up; a hub counter that goes down within a run is taken as a reset', async (t) => {
  const { path, track } = tempDb(t);
  const w = track(await StorageWriter.open({ dbPath: path, worker: false }));
  w.enqueue({ kind: 'counters', source: '10.9.9.9:1', at: 1, counters: { datagrams: 7, custom: 1 } });
  w.enqueue({ kind: 'counters', source: '10.9.9.9:1', at: 2, counters: { datagrams: 2, bytes: -5, dropped: Number.NaN, custom: 2.9 } });
  w.enqueue({ kind: 'hub-counters', at: 2, counters: { 'udp.errors': 4 } });
  w.enqueue({ kind: 'hub-counters', at: 3, counters: { 'udp.errors': 1 } });
  await w.close();
  const r = StoreReader.open(path);
  assert.equal(r.stats().datagrams, 9);
  const row = r.db.prepare('SELECT bytes, dropped, other, updated_at FROM source_counters').get();
  assert.deepEqual(row, { bytes: 0, dropped: 0, other: JSON.stringify({ custom: 3 }), updated_at: 2 }, 'bad values count 0; other counters add up too');
  assert.equal(r.stats().hub['udp.errors'], 5);
  r.close();
});

test('the queue bound drops what does not fit, counts it by reason, and persists the counts', async (t) => {
  const { path, track } = tempDb(t);
  const w = track(await StorageWriter.open({ dbPath: path, maxQueue: 10, batchSize: 1000, flushIntervalMs: 60_000 }));
  let accepted = 0;
  for (let i = 0; i < 25; i++) if (w.enqueue(rec('10.2.0.1:6666', i, `line ${i}`, i))) accepted++;
  assert.equal(accepted, 10);
  assert.equal(w.stats().queued, 10);
  assert.equal(w.stats().dropped.queue_full, 15);
  assert.equal(w.enqueue({ source: 42 } as unknown as LogRecord), false);
  assert.equal(w.stats().dropped.invalid, 1);
  await w.flush();
  assert.equal(w.stats().written, 10);
  assert.equal(w.stats().queued, 0);
  // Room again after the flush.
  assert.equal(w.enqueue(rec('10.2.0.1:6666', 99, 'after flush', 99)), true);
  await w.close();
  assert.equal(w.enqueue(rec('10.2.0.1:6666', 100, 'after close', 100)), false);
  assert.equal(w.stats().dropped.closed, 1);
  const r = StoreReader.open(path);
  assert.equal(r.stats().messages, 11);
  assert.equal(r.stats().hub['dropped.queue_full'], 15);
  assert.equal(r.stats().hub['dropped.invalid'], 1);
  r.close();
});

test('a host name shows as the host of its messages', async (t) => {
  const { path, track } = tempDb(t);
  const w = track(await StorageWriter.open({ dbPath: path }));
  const rows: StoredMessage[] = [];
  w.on('stored', (r) => rows.push(...r));
  w.record(rec('10.3.0.1:6666', 1, 'before name', 1));
  await w.flush();
  w.enqueue({ kind: 'host-name', address: '10.3.0.1', name: 'db-server-1' });
  w.record(rec('10.3.0.1:6666', 2, 'after name', 2));
  await w.close();
  assert.deepEqual(rows.map((m) => m.host), ['10.3.0.1', 'db-server-1']);
  const r = StoreReader.open(path);
  assert.equal(r.message(rows[0].id)!.host, 'db-server-1');
  r.close();
});

test('opening a writer on a garbage file rejects with one clear line', async (t) => {
  const { dir, path } = tempDb(t);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(dir, 'db'));
  writeFileSync(path, Buffer.alloc(4096, 0x41));
  await assert.rejects(StorageWriter.open({ dbPath: path }), (err: unknown) => {
    assert.ok(err instanceof StoreError);
    assert.match(err.message, /is not a SQLite database/);
    assert.ok(!err.message.includes('\n'));
    return true;
  });
});

test('at a high rate small turns gather into larger commits; at a low rate each turn is its own commit', async (t) => {
  const { path, track } = tempDb(t);
  const w = track(await StorageWriter.open({ dbPath: path }));
  const sizes: number[] = [];
  w.on('stored', (rows) => { if (rows.length > 0) sizes.push(rows.length); });
  const turn = () => new Promise((r) => setTimeout(r, 2));
  let seq = 0;
  // A low rate: one record per turn, a turn every few ms (well under 30 000/s).
  for (let i = 0; i < 20; i++) { w.record(rec('10.8.0.1:6666', seq++, `slow ${i}`, Date.now())); await turn(); }
  await w.flush();
  assert.ok(sizes.length >= 10, `at a low rate records are committed turn by turn (${sizes.length} commits for 20 records)`);
  // A high rate: 200 records per turn, a turn every 4 ms or so (about 45 000/s) for 600 ms. The
  // writer keeps up with a turn in far less than 4 ms, so without gathering each turn would be a
  // commit of its own.
  sizes.length = 0;
  const fastTurn = () => new Promise((r) => setTimeout(r, 4));
  const until = Date.now() + 600;
  let sent = 0;
  let turns = 0;
  while (Date.now() < until) {
    for (let i = 0; i < 200; i++) w.record(rec(`10.8.1.${i % 50}:6666`, seq++, `fast ${sent++}`, Date.now()));
    turns++;
    await fastTurn();
  }
  await w.flush();
  assert.equal(sizes.reduce((a, b) => a + b, 0), sent);
  // After the first rate window, a commit holds several turns.
  const later = sizes.slice(Math.floor(sizes.length / 3));
  const mean = later.reduce((a, b) => a + b, 0) / later.length;
  assert.ok(mean >= 300, `commits gather turns at a high rate (mean ${mean.toFixed(0)} rows per commit, ${turns} turns of 200)`);
});
