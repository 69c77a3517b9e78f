// Retention on real SQLite files: old rows (by age) and the oldest rows (by size) are deleted in small
// steps between batches, their FTS entries with them, and the stored-messages count stays exact.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { StorageWriter } from '../src/receiver/store/writer.js';
import { StoreReader } from '../src/receiver/store/reader.js';
import type { LogRecord } from '../src/netconsole/types.js';

const DAY = 86_400_000;

function setup(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'nch-store-retention-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'hub.db');
}

function rec(seq: number, text: string, receivedAt: number): LogRecord {
  return { source: '10.4.0.1:6666', format: 'extended', seq, pri: 6, level: 6, facility: 0, tsUsec: seq, flags: '-', text, fields: {}, release: null, complete: true, receivedAt };
}

/** Waits (bounded) until retention has deleted `want` messages. */
async function retentionDeleted(w: StorageWriter, want: number, limitMs = 20_000): Promise<number> {
  const start = Date.now();
  while (w.stats().retentionDeleted < want && Date.now() - start < limitMs) await new Promise((r) => setTimeout(r, 20));
  return w.stats().retentionDeleted;
}

function checkConsistent(path: string): { count: number; stored: number } {
  const db = new Database(path);
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    // rank 1: also compare the index with the content table (every row indexed, no stale entries).
    db.prepare("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)").run();
    const count = (db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n;
    const stored = (db.prepare("SELECT value FROM hub_counters WHERE name = 'messages.stored'").get() as { value: number }).value;
    // Each boot's kept count (the host list's) follows the deletes too.
    for (const b of db.prepare('SELECT b.messages AS kept, (SELECT count(*) FROM messages m WHERE m.boot_id = b.id) AS rows FROM boots b').all() as Array<{ kept: number; rows: number }>) {
      assert.equal(b.kept, b.rows, 'boots.messages equals the boot\'s rows after retention');
    }
    return { count, stored };
  } finally {
    db.close();
  }
}

test('retention by age deletes old messages and events in chunks, with their FTS entries', async (t) => {
  const path = setup(t);
  const now = Date.now();
  const w = await StorageWriter.open({ dbPath: path, retention: { retainDays: 7, chunkRows: 3, checkIntervalMs: 0 } });
  t.after(() => w.close());
  for (let i = 0; i < 20; i++) w.record(rec(i, `ancient oldword${i} line`, now - 10 * DAY + i));
  w.event({ type: 'gap', source: '10.4.0.1:6666', at: now - 10 * DAY, from: 100, to: 101 });
  for (let i = 20; i < 30; i++) w.record(rec(i, `recent newword line ${i}`, now + i));
  w.event({ type: 'gap', source: '10.4.0.1:6666', at: now, from: 200, to: 201 });
  await w.flush();
  assert.equal(await retentionDeleted(w, 20), 20, 'the 20 old messages are deleted');
  await w.close();

  const r = StoreReader.open(path);
  const stats = r.stats();
  assert.equal(stats.messages, 10);
  assert.equal(r.search('ancient').length, 0, 'FTS entries of deleted rows are gone');
  assert.equal(r.search('oldword0').length, 0);
  assert.equal(r.search('newword').length, 10);
  assert.deepEqual(r.db.prepare('SELECT seq_from FROM seq_events').all(), [{ seq_from: 200 }], 'old events deleted too');
  r.close();
  const c = checkConsistent(path);
  assert.equal(c.count, 10);
  assert.equal(c.stored, 10);
});

test('retention by size deletes the oldest messages until the database fits, keeping the newest', async (t) => {
  const path = setup(t);
  const w = await StorageWriter.open({ dbPath: path, batchSize: 500, retention: { maxDbMb: 1, chunkRows: 200, checkIntervalMs: 0 } });
  t.after(() => w.close());
  const filler = 'x'.repeat(900);
  const total = 4000; // about 4 MB of text: four times the limit
  for (let i = 0; i < total; i++) {
    w.record(rec(i, `sizeword${i} ${filler}`, Date.now()));
    if (i % 500 === 499) await w.flush();
  }
  await w.flush();
  // Retention runs in steps between batches: wait (bounded) until the database is under the limit.
  const limit = 1024 * 1024;
  const r = StoreReader.open(path);
  const used = () => {
    const pageSize = Number(r.db.pragma('page_size', { simple: true }));
    return (Number(r.db.pragma('page_count', { simple: true })) - Number(r.db.pragma('freelist_count', { simple: true }))) * pageSize;
  };
  const start = Date.now();
  while (used() > limit && Date.now() - start < 30_000) await new Promise((res) => setTimeout(res, 50));
  assert.ok(used() <= limit, `used ${used()} bytes, limit ${limit}`);
  assert.ok(w.stats().retentionDeleted >= total / 2, `retention deleted ${w.stats().retentionDeleted} of ${total}`);
  await w.close();
  const newest = r.db.prepare('SELECT max(id) AS id, min(id) AS oldest FROM messages').get() as { id: number; oldest: number };
  assert.equal(newest.id, total, 'the newest message is kept');
  assert.ok(newest.oldest > 1, 'the oldest messages went first');
  assert.equal(r.search('sizeword0').length, 0);
  assert.equal(r.search(`sizeword${total - 1}`).length, 1);
  r.close();
  const c = checkConsistent(path);
  assert.equal(c.stored, c.count, 'stored-messages counter matches the table');
});
