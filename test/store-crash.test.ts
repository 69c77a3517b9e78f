// kill -9 during ingest: a child process writes through a StorageWriter as fast as it can and is
// killed with SIGKILL mid-stream. The database must open, pass integrity checks (SQLite and FTS),
// still hold every batch the child saw committed, and a restart must append after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { StorageWriter } from '../src/receiver/store/writer.js';
import type { StoredMessage } from '../src/receiver/store/types.js';

const writerJs = fileURLToPath(new URL('../src/receiver/store/writer.js', import.meta.url));

/** Child: ingest in a bounded loop (200 000 records at most), print the highest committed id after each batch. */
const childScript = `
const { StorageWriter } = await import(${JSON.stringify(writerJs)});
const w = await StorageWriter.open({ dbPath: process.argv[1], batchSize: 500, flushIntervalMs: 1 });
w.on('stored', (rows) => process.stdout.write('committed ' + rows[rows.length - 1].id + '\\n'));
for (let i = 0; i < 200000; i++) {
  w.record({ source: '10.5.0.' + (i % 4) + ':6666', format: 'extended', seq: i, pri: 6, level: 6, facility: 0, tsUsec: i,
    flags: '-', text: 'crashword ingest line ' + i, fields: { n: String(i) }, release: null, complete: true, receivedAt: Date.now() });
  if (i % 500 === 499) await new Promise((r) => setImmediate(r));
  if (i % 5000 === 4999) await w.flush();
}
await w.close();
process.stdout.write('finished\\n');
`;

test('SIGKILL mid-ingest leaves a database that opens, passes integrity checks and continues', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nch-store-crash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'hub.db');

  const child = spawn(process.execPath, ['--input-type=module', '-e', childScript, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  let lastCommitted = 0;
  let finished = false;
  const killed = new Promise<void>((resolve) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line === 'finished') finished = true;
      const m = /^committed (\d+)$/.exec(line);
      if (!m) return;
      lastCommitted = Number(m[1]);
      // Kill once well into the stream, while batches keep coming.
      if (lastCommitted >= 20_000 && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    child.on('exit', () => resolve());
  });
  await killed;
  assert.equal(finished, false, 'the child was killed before it finished');
  assert.equal(child.signalCode, 'SIGKILL');
  assert.ok(lastCommitted >= 20_000, `child committed ${lastCommitted} before the kill`);

  // Opens, and is intact.
  const db = new Database(path);
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  db.prepare("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)").run();
  const { n, maxId } = db.prepare('SELECT count(*) AS n, max(id) AS maxId FROM messages').get() as { n: number; maxId: number };
  assert.ok(maxId >= lastCommitted, `every batch reported committed is there (max id ${maxId} >= ${lastCommitted})`);
  assert.equal(n, maxId, 'no holes: whole batches or nothing');
  const stored = (db.prepare("SELECT value FROM hub_counters WHERE name = 'messages.stored'").get() as { value: number }).value;
  assert.equal(stored, n, 'the stored count was committed with its rows');
  db.close();

  // A restart appends after what survived.
  const w = await StorageWriter.open({ dbPath: path });
  const rows: StoredMessage[] = [];
  w.on('stored', (r) => rows.push(...r));
  w.record({ source: '10.5.0.1:6666', format: 'extended', seq: 1, pri: 6, level: 6, facility: 0, tsUsec: 1, flags: '-', text: 'after restart afterword', fields: {}, release: null, complete: true, receivedAt: Date.now() });
  await w.close();
  assert.equal(rows.length, 1);
  assert.equal(rows[0].id, maxId + 1);
  const again = new Database(path, { readonly: true });
  assert.equal(again.pragma('integrity_check', { simple: true }), 'ok');
  assert.equal((again.prepare("SELECT count(*) AS n FROM messages_fts WHERE messages_fts MATCH 'afterword'").get() as { n: number }).n, 1);
  again.close();
});
