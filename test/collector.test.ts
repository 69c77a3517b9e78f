// The Collector's own bookkeeping, driven through onDatagram (no sockets): per-source counters are
// written as increments of the sources that changed, and a quiet source is forgotten in memory.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { Collector, type CollectorOptions } from '../src/receiver/collector.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function start(dbPath: string, extra: Partial<CollectorOptions> = {}): Promise<Collector> {
  return Collector.start({ dbPath, udp: [], logger: pino({ level: 'silent' }), countersIntervalMs: 50, ...extra });
}

function record(seq: number): Buffer {
  return Buffer.from(`6,${seq},${seq * 1000},-;collector test record ${seq}\n`);
}

interface CounterRow { datagrams: number; bytes: number; dropped: number; updated_at: number }

function counters(dbPath: string, source: string): CounterRow | undefined {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare('SELECT c.datagrams, c.bytes, c.dropped, c.updated_at FROM source_counters c JOIN sources s ON s.id = c.source_id WHERE s.address = ?').get(source) as CounterRow | undefined;
  } finally {
    db.close();
  }
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for: ${what}`);
    await sleep(20);
  }
}

test('per-source counters: increments add up to lifetime totals; a quiet source is forgotten and not rewritten', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nch-collector-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const dbPath = join(dir, 'hub.db');
  const A = '192.0.2.1:6666';
  const B = '192.0.2.2:6666';
  let c = await start(dbPath, { limits: { datagramsPerSec: 3, bytesPerSec: 0 } });
  try {
    const now = Date.now();
    // A: 5 datagrams at once, the bucket (3/s) takes 3; B: one.
    for (let i = 1; i <= 5; i++) c.onDatagram(record(i), '192.0.2.1', 6666, now);
    c.onDatagram(record(1), '192.0.2.2', 6666, now);
    await until('both sources written and forgotten', () => c.sourceCounters.size === 0);
    await c.writer.flush();
    const b1 = counters(dbPath, B);
    assert.equal(b1?.datagrams, 1);
    // Quiet sources are not written again.
    await sleep(200);
    await c.writer.flush();
    assert.equal(counters(dbPath, B)?.updated_at, b1?.updated_at, 'an unchanged source is not rewritten');
    // A comes back: counted from zero in memory, with a full bucket again.
    c.onDatagram(record(6), '192.0.2.1', 6666);
    c.onDatagram(record(7), '192.0.2.1', 6666);
    assert.equal(c.sourceCounters.get(A)?.datagrams, 2);
    assert.equal(c.sourceCounters.get(A)?.dropped, 0);
  } finally {
    await c.stop();
  }
  const a1 = counters(dbPath, A);
  assert.equal(a1?.datagrams, 7);
  assert.equal(a1?.dropped, 2);
  assert.equal(a1?.bytes, [1, 2, 3, 4, 5, 6, 7].reduce((n, i) => n + record(i).length, 0));

  // A restart adds to what is stored.
  c = await start(dbPath);
  try {
    c.onDatagram(record(8), '192.0.2.1', 6666);
  } finally {
    await c.stop();
  }
  assert.equal(counters(dbPath, A)?.datagrams, 8);
  assert.equal(counters(dbPath, B)?.datagrams, 1);
});
