// Deferred full-text indexing (migrations/003_fts_progress.sql): a batch larger than the inline limit
// is committed at once and indexed in bulk shortly after. Such rows become searchable by themselves
// (no flush), a crash between the commit and the indexing loses nothing (the next open indexes
// them), and retention never deletes a row the index has not seen (the FTS delete trigger would
// corrupt the index). Real SQLite files, real worker threads, a real SIGKILL.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { StorageWriter } from '../src/receiver/store/writer.js';
import { FTS_CHUNK_ROWS, FTS_INLINE_MAX_ROWS } from '../src/receiver/store/batch-writer.js';
import { openDatabase } from '../src/receiver/store/database.js';
import { defaultMigrationsDir } from '../src/receiver/store/migrate.js';
import type { LogRecord } from '../src/netconsole/types.js';

const DAY = 86_400_000;
/** More rows than are indexed inline, enqueued in one event-loop turn: one batch, deferred indexing. */
const BIG = FTS_INLINE_MAX_ROWS * 3;

function tempPath(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'nch-fts-deferred-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'hub.db');
}

function rec(i: number, word: string, receivedAt: number): LogRecord {
  return { source: `10.6.0.${i % 4}:6666`, format: 'extended', seq: Math.floor(i / 4), pri: 6, level: 6, facility: 0, tsUsec: i, flags: '-', text: `${word} line ${i}`, fields: {}, release: null, complete: true, receivedAt };
}

function counts(path: string, word: string): { messages: number; matches: number; through: number } {
  const db = new Database(path, { readonly: true });
  try {
    return {
      messages: (db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n,
      matches: (db.prepare('SELECT count(*) AS n FROM messages_fts WHERE messages_fts MATCH ?').get(word) as { n: number }).n,
      through: (db.prepare('SELECT indexed_through AS t FROM fts_progress').get() as { t: number }).t,
    };
  } finally {
    db.close();
  }
}

/** A database with only the migrations whose number matches `versions` (an earlier release's schema). */
function openOldSchema(t: TestContext, path: string, versions: RegExp): ReturnType<typeof openDatabase>['db'] {
  const oldMigrations = mkdtempSync(join(tmpdir(), 'nch-old-migrations-'));
  t.after(() => rmSync(oldMigrations, { recursive: true, force: true }));
  for (const f of readdirSync(defaultMigrationsDir()).filter((n) => versions.test(n))) copyFileSync(join(defaultMigrationsDir(), f), join(oldMigrations, f));
  return openDatabase(path, { migrationsDir: oldMigrations }).db;
}

/** Host 1 / source 1 / boot 1 at `address`, and `n` messages `<word> old <i>` (level from `level`), written directly. */
function seedMessages(db: ReturnType<typeof openDatabase>['db'], address: string, word: string, n: number, level: (i: number) => number = () => 6): void {
  db.exec(`INSERT INTO hosts (id, address, first_seen, last_seen) VALUES (1, '${address}', 0, 0);
    INSERT INTO sources (id, host_id, address, format, first_seen, last_seen) VALUES (1, 1, '${address}:6666', 'extended', 0, 0);
    INSERT INTO boots (id, host_id, number, started_at, reason) VALUES (1, 1, 1, 0, 'first');`);
  const ins = db.prepare("INSERT INTO messages (host_id, source_id, boot_id, seq, level, received_at, text, format) VALUES (1, 1, 1, ?, ?, 0, ?, 'extended')");
  db.transaction(() => { for (let i = 1; i <= n; i++) ins.run(i, level(i), `${word} old ${i}`); })();
}

/** SQLite and FTS5 integrity (rank 1 also compares the index with the content table). */
function assertIntact(path: string): void {
  const db = new Database(path);
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    db.prepare("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)").run();
  } finally {
    db.close();
  }
}

test('a large batch is stored at once and becomes searchable by itself, without a flush', async (t) => {
  const path = tempPath(t);
  const w = await StorageWriter.open({ dbPath: path, batchSize: BIG * 2 });
  t.after(() => w.close());
  const stored = new Promise<number>((resolve) => w.once('stored', (rows) => resolve(rows.length)));
  const now = Date.now();
  for (let i = 0; i < BIG; i++) w.record(rec(i, 'bulkword', now));
  assert.equal(await stored, BIG, 'one batch');
  // No flush, no close: the deferred indexing runs by itself (bounded wait, not a timing claim).
  const limit = Date.now() + 10_000;
  let c = counts(path, 'bulkword');
  while (c.matches < BIG && Date.now() < limit) {
    await new Promise((r) => setTimeout(r, 20));
    c = counts(path, 'bulkword');
  }
  assert.deepEqual(c, { messages: BIG, matches: BIG, through: BIG });
  await w.close();
  assertIntact(path);
});

test('flush makes a deferred batch searchable before it resolves', async (t) => {
  const path = tempPath(t);
  const w = await StorageWriter.open({ dbPath: path, batchSize: BIG * 2 });
  t.after(() => w.close());
  const now = Date.now();
  for (let i = 0; i < BIG; i++) w.record(rec(i, 'flushword', now));
  await w.flush();
  assert.deepEqual(counts(path, 'flushword'), { messages: BIG, matches: BIG, through: BIG });
});

const writerJs = fileURLToPath(new URL('../src/receiver/store/writer.js', import.meta.url));
/**
 * Child: one big batch; dies by SIGKILL the moment it is committed, before its deferred indexing
 * (whose idle trigger is pushed out to a minute, so the kill always comes first).
 */
const childScript = `
const { StorageWriter } = await import(${JSON.stringify(writerJs)});
const w = await StorageWriter.open({ dbPath: process.argv[1], batchSize: ${BIG * 2}, ftsIdleMs: 60000 });
w.on('stored', (rows) => { process.stdout.write('committed ' + rows.length + '\\n', () => process.kill(process.pid, 'SIGKILL')); });
for (let i = 0; i < ${BIG}; i++) {
  w.record({ source: '10.6.1.' + (i % 4) + ':6666', format: 'extended', seq: i, pri: 6, level: 6, facility: 0, tsUsec: i,
    flags: '-', text: 'crashbulk line ' + i, fields: {}, release: null, complete: true, receivedAt: Date.now() });
}
`;

test('SIGKILL between a commit and its deferred indexing: the next open indexes the rows', async (t) => {
  const path = tempPath(t);
  const child = spawn(process.execPath, ['--input-type=module', '-e', childScript, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  let committed = 0;
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    const m = /^committed (\d+)$/.exec(line);
    if (m) committed = Number(m[1]);
  });
  await new Promise<void>((resolve) => child.on('exit', () => resolve()));
  assert.equal(child.signalCode, 'SIGKILL');
  assert.equal(committed, BIG);
  // Committed but not indexed: this is the state the recovery must handle.
  assert.deepEqual(counts(path, 'crashbulk'), { messages: BIG, matches: 0, through: 0 });

  // Opening catches up before it is ready (not only close).
  const w = await StorageWriter.open({ dbPath: path });
  t.after(() => w.close());
  assert.deepEqual(counts(path, 'crashbulk'), { messages: BIG, matches: BIG, through: BIG });
  await w.close();
  assertIntact(path);
});

// Retention indexes what is pending before it deletes (the FTS documentation leaves deleting an
// unindexed row from an external-content index undefined); this checks the combination end to end.
test('retention deleting rows whose indexing was deferred keeps the FTS index intact', async (t) => {
  const path = tempPath(t);
  const w = await StorageWriter.open({ dbPath: path, batchSize: BIG * 2, retention: { retainDays: 1, chunkRows: BIG, checkIntervalMs: 0 } });
  t.after(() => w.close());
  const old = Date.now() - 10 * DAY;
  // Old records (an import of an old capture, say): retention wants them gone at once.
  for (let i = 0; i < BIG; i++) w.record(rec(i, 'oldbulk', old + i));
  w.record(rec(BIG, 'freshword', Date.now()));
  const limit = Date.now() + 20_000;
  while (w.stats().retentionDeleted < BIG && Date.now() < limit) await new Promise((r) => setTimeout(r, 20));
  assert.equal(w.stats().retentionDeleted, BIG);
  await w.close();
  assertIntact(path);
  const c = counts(path, 'freshword');
  assert.equal(c.messages, 1);
  assert.equal(c.matches, 1);
  assert.equal(counts(path, 'oldbulk').matches, 0);
});

test('a database written before migration 003 is upgraded as fully indexed: nothing indexed twice, new rows indexed', async (t) => {
  const path = tempPath(t);
  // The schema and the writer of the earlier release: migrations 001-002, FTS indexed per batch.
  const db = openOldSchema(t, path, /^00[12]_/);
  seedMessages(db, '10.6.2.1', 'upgradeword', 50);
  db.exec('INSERT INTO messages_fts (rowid, text) SELECT id, text FROM messages');
  db.close();

  const w = await StorageWriter.open({ dbPath: path });
  t.after(() => w.close());
  w.record(rec(0, 'upgradeword new', Date.now()));
  await w.close();
  assert.deepEqual(counts(path, 'upgradeword'), { messages: 51, matches: 51, through: 51 });
  assertIntact(path);
});

test('migration 004 rebuilds the full-text index without per-row lengths: every old row found once, even ones a crash left unindexed', async (t) => {
  const path = tempPath(t);
  // A database of the release before 004 (migrations 001-003), 50 rows of which the last 20 were
  // committed but not yet indexed when it stopped (fts_progress says 30).
  const db = openOldSchema(t, path, /^00[123]_/);
  seedMessages(db, '10.6.3.1', 'rebuildword', 50, (i) => (i % 10 === 0 ? 3 : 6));
  db.exec('INSERT INTO messages_fts (rowid, text) SELECT id, text FROM messages WHERE id <= 30; UPDATE fts_progress SET indexed_through = 30');
  assert.ok(db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'messages_fts_docsize'").get(), 'the old index has a length table');
  db.close();

  const w = await StorageWriter.open({ dbPath: path });
  t.after(() => w.close());
  w.record(rec(0, 'rebuildword new', Date.now()));
  await w.close();
  assert.deepEqual(counts(path, 'rebuildword'), { messages: 51, matches: 51, through: 51 });
  assertIntact(path);
  const after = new Database(path, { readonly: true });
  try {
    assert.equal(after.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'messages_fts_docsize'").get(), undefined, 'no length table any more');
    const levelIndex = after.prepare("SELECT sql FROM sqlite_schema WHERE name = 'messages_level_id'").get() as { sql: string };
    assert.match(levelIndex.sql, /WHERE level <= 4/);
    // The partial index still answers a severity filter: the five level-3 rows, newest first.
    const severe = after.prepare('SELECT id FROM messages m WHERE m.level <= ? AND m.level <= 4 ORDER BY m.id DESC').all(3) as { id: number }[];
    assert.deepEqual(severe.map((r) => r.id), [50, 40, 30, 20, 10]);
  } finally {
    after.close();
  }
});

test('a backlog larger than one chunk (an index rebuild) is indexed after ready, in chunks, while new records are stored', { timeout: 120_000 }, async (t) => {
  const path = tempPath(t);
  const backlog = FTS_CHUNK_ROWS * 2 + FTS_CHUNK_ROWS / 2;
  const { db } = openDatabase(path);
  seedMessages(db, '10.6.4.1', 'chunkword', backlog);
  // What migration 004 leaves: rows stored, the index empty, the progress at 0.
  assert.equal(counts(path, 'chunkword').matches, 0);
  db.close();

  const w = await StorageWriter.open({ dbPath: path });
  t.after(() => w.close());
  assert.equal(w.ftsBacklog, backlog, 'ready before the backlog is indexed, and says how large it is');
  for (let i = 0; i < 10; i++) w.record(rec(i, 'chunkword new', Date.now()));
  // A flush (as at a stop) commits the new records without indexing the whole backlog in its own
  // transaction: it resolves while the chunks are still going (three chunks, one at most done).
  await w.flush();
  const atFlush = counts(path, 'chunkword');
  assert.equal(atFlush.messages, backlog + 10);
  assert.ok(atFlush.through < backlog, `flush left the backlog to the chunks (indexed through ${atFlush.through})`);
  const limit = Date.now() + 60_000;
  let c = counts(path, 'chunkword');
  while (c.matches < backlog + 10 && Date.now() < limit) {
    await new Promise((r) => setTimeout(r, 50));
    c = counts(path, 'chunkword');
  }
  assert.deepEqual(c, { messages: backlog + 10, matches: backlog + 10, through: backlog + 10 });
  await w.close();
  assertIntact(path);
});

test('migration 006 counts each boot of an older database once; the writer keeps the count from there', async (t) => {
  const path = tempPath(t);
  const db = openOldSchema(t, path, /^00[1-4]_/);
  seedMessages(db, '10.6.5.1', 'countword', 40);
  db.exec('INSERT INTO messages_fts (rowid, text) SELECT id, text FROM messages; UPDATE fts_progress SET indexed_through = 40');
  db.close();
  const w = await StorageWriter.open({ dbPath: path });
  t.after(() => w.close());
  for (let i = 0; i < 5; i++) w.record(rec(100 + i, 'countword new', Date.now()));
  await w.close();
  const after = new Database(path, { readonly: true });
  try {
    const boots = after.prepare('SELECT b.messages AS kept, (SELECT count(*) FROM messages m WHERE m.boot_id = b.id) AS rows FROM boots b ORDER BY b.id').all() as Array<{ kept: number; rows: number }>;
    assert.ok(boots.length >= 1);
    assert.equal(boots.reduce((n, b) => n + b.rows, 0), 45);
    for (const b of boots) assert.equal(b.kept, b.rows, 'boots.messages: counted by the migration, then kept by the writer');
  } finally {
    after.close();
  }
});
