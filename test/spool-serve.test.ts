// Issue 17: the disk spool behind the storage writer, through a real `serve`. A test hook stalls
// the storage worker (NCH_TEST_PAUSE_FILE: batches wait while the file exists) and a small queue
// bound (NCH_TEST_MAX_QUEUE) makes a bounded load overflow it; what overflows must wait on disk and
// be stored afterwards, in order, once each: after the worker resumes, after SIGTERM and a restart,
// after kill -9 and a restart (also with the last spool file cut in the middle of a batch), and
// with a spool that fills up (counted as dropped, serve alive, database intact).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readSync, statSync, truncateSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { getJson, mustRun, sendDatagrams, startServe, tempDir, waitFor, type ServeProcess } from './helpers/serve.js';
import { settingsFromArgv } from '../src/commands/serve.js';
import { browserMissing, launchChromium } from './helpers/requirements.js';

const QUEUE = 2000;

function records(from: number, n: number, tag: string): Buffer[] {
  return Array.from({ length: n }, (_, i) => Buffer.from(`6,${from + i},${(from + i) * 1000},-;${tag} record ${from + i} ${'p'.repeat(40)}\n`));
}

/** The stored seqs of one tag, in storage (id) order. */
function storedSeqs(dbPath: string, tag: string): number[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT seq FROM messages WHERE text LIKE ? ORDER BY id').all(`${tag} record %`) as { seq: number }[]).map((r) => r.seq);
  } finally {
    db.close();
  }
}

function range(from: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}

function segments(dbPath: string): string[] {
  try {
    return readdirSync(`${dbPath}-spool`).filter((n) => n.endsWith('.seg')).sort();
  } catch {
    return [];
  }
}

function integrityOk(dbPath: string): void {
  const db = new Database(dbPath, { readonly: true });
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  db.close();
}

/** A serve whose worker is stalled, fed `n` records: QUEUE of them wait in memory, the rest in the spool. */
async function overflow(dir: string, n: number, tag: string, extraArgs: string[] = [], db = join(dir, 'hub.db'), beforeSend?: (srv: ServeProcess) => Promise<void>): Promise<{ srv: ServeProcess; pause: string; stats: any }> {
  const pause = join(dir, 'pause');
  writeFileSync(pause, '');
  const srv = await startServe({ db, extraArgs, env: { NCH_TEST_MAX_QUEUE: String(QUEUE), NCH_TEST_PAUSE_FILE: pause } });
  await beforeSend?.(srv);
  await sendDatagrams(srv.udpPort, records(0, n, tag));
  // Every record reached the writer, and the spool's tail is on disk.
  const stats = await waitFor('records received and spooled', async () => {
    const s = await getJson(`${srv.http}/api/stats`);
    return s.records === n && s.spool.spooled + s.dropped.spool_full === n - QUEUE ? s : undefined;
  });
  return { srv, pause, stats };
}

/** A live-stream client (no filter) that collects the seqs of one tag's records as they arrive. */
async function watchLive(http: string, tag: string): Promise<{ seqs: number[]; missed: () => number; close: () => void }> {
  const ws = new WebSocket(`${http.replace('http', 'ws')}/api/live`);
  const seqs: number[] = [];
  let missed = 0;
  let subscribed!: () => void;
  const isSubscribed = new Promise<void>((r) => (subscribed = r));
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    if (m.type === 'subscribed') subscribed();
    else if (m.type === 'missed') missed += m.count;
    else if (m.type === 'messages') for (const row of m.rows) if (row.text.startsWith(`${tag} record `)) seqs.push(row.seq);
  });
  await new Promise<void>((res, rej) => { ws.once('open', () => res()); ws.once('error', rej); });
  ws.send(JSON.stringify({ filters: {} }));
  await waitFor('subscribed', () => isSubscribed.then(() => true), 10_000);
  return { seqs, missed: () => missed, close: () => ws.close() };
}

test('spool round trip: a stalled writer overflows into the spool, everything is stored afterwards in order, once', { timeout: 120_000 }, async (t) => {
  const dir = tempDir('nch-spool-');
  const n = 12_000;
  // The live stream sees the records as they are stored: the spooled ones too, in order.
  let live!: Awaited<ReturnType<typeof watchLive>>;
  const { srv, pause, stats } = await overflow(dir, n, 'roundtrip', [], join(dir, 'hub.db'), async (s) => {
    live = await watchLive(s.http, 'roundtrip');
  });
  t.after(() => srv.stop('SIGKILL'));
  t.after(() => live.close());
  assert.equal(stats.dropped.queue_full, 0, 'nothing dropped at the queue bound');
  assert.equal(stats.queue_depth, QUEUE);
  assert.equal(stats.spool.records, n - QUEUE, 'the rest waits in the spool');
  assert.equal(stats.lag_records, n);
  assert.ok(stats.spool.bytes > 0 && stats.spool.oldest_age_ms >= 0);
  assert.ok(segments(srv.db).length > 0, 'segment files beside the database');
  assert.match(srv.log(), /records now wait in the disk spool/);
  const metrics = await (await fetch(`${srv.http}/metrics`)).text();
  assert.match(metrics, new RegExp(`^netconsole_spool_records ${n - QUEUE}$`, 'm'));
  assert.match(metrics, /^netconsole_spool_bytes [1-9]\d*$/m);

  unlinkSync(pause);
  const after = await waitFor('all stored', async () => {
    const s = await getJson(`${srv.http}/api/stats`);
    return s.messages === n && s.spool.records === 0 ? s : undefined;
  });
  assert.equal(after.spool.replayed, n - QUEUE);
  assert.equal(after.lag_records, 0);
  // New traffic after the catch-up goes straight to the queue, behind everything else.
  await sendDatagrams(srv.udpPort, records(n, 100, 'roundtrip'));
  await waitFor('the later records', async () => (await getJson(`${srv.http}/api/messages?q=roundtrip&limit=1`)).messages[0]?.seq === n + 99);
  await waitFor('the live stream', () => live.seqs.length === n + 100 || live.missed() > 0);
  assert.equal(live.missed(), 0);
  assert.deepEqual(live.seqs, range(0, n + 100), 'the live stream got every record once, in order');
  live.close();
  assert.equal(await srv.stop(), 0);
  assert.deepEqual(storedSeqs(srv.db, 'roundtrip'), range(0, n + 100), 'every record once, in arrival order');
  assert.deepEqual(segments(srv.db), [], 'a drained spool leaves no segment behind');
});

test('SIGTERM with a non-empty spool keeps it; the next start stores it before new traffic', { timeout: 120_000 }, async (t) => {
  const dir = tempDir('nch-spool-term-');
  const n = 9_000;
  const { srv, pause } = await overflow(dir, n, 'termkeep');
  t.after(() => srv.stop('SIGKILL'));
  const stopped = srv.stop('SIGTERM');
  // The worker resumes only once the stop has begun: the queue is flushed, the spool is kept.
  await new Promise((r) => setTimeout(r, 300));
  unlinkSync(pause);
  assert.equal(await stopped, 0);
  assert.match(srv.log(), new RegExp(`spool: ${n - QUEUE} records kept on disk`));
  assert.deepEqual(storedSeqs(srv.db, 'termkeep'), range(0, QUEUE), 'the queue was flushed');

  const again = await startServe({ db: srv.db });
  t.after(() => again.stop('SIGKILL'));
  assert.match(again.log(), new RegExp(`replaying ${n - QUEUE} records`));
  await sendDatagrams(again.udpPort, records(n, 50, 'termkeep'));
  await waitFor('spool and new records stored', async () => (await getJson(`${again.http}/api/stats`)).messages === n + 50);
  assert.equal(await again.stop(), 0);
  assert.deepEqual(storedSeqs(srv.db, 'termkeep'), range(0, n + 50), 'the spool first, then new traffic, each once');
});

test('kill -9 with a non-empty spool: the restart stores every spooled record once', { timeout: 120_000 }, async (t) => {
  const dir = tempDir('nch-spool-kill-');
  const n = 12_000;
  const { srv } = await overflow(dir, n, 'killnine');
  t.after(() => srv.stop('SIGKILL'));
  await srv.stop('SIGKILL');
  assert.deepEqual(storedSeqs(srv.db, 'killnine'), [], 'the stalled worker committed nothing');

  // A slow worker, killed again in the middle of the replay: some spooled batches are committed,
  // their segment file is still there (it holds the rest), and the third start must skip them.
  const again = await startServe({ db: srv.db, env: { NCH_TEST_SLOW_BATCH_MS: '400' } });
  t.after(() => again.stop('SIGKILL'));
  assert.match(again.log(), new RegExp(`replaying ${n - QUEUE} records`));
  const mid = await waitFor('part of the spool stored', async () => {
    const s = await getJson(`${again.http}/api/stats`);
    return s.spool.replayed > 0 && s.spool.records > 0 ? s : undefined;
  });
  await again.stop('SIGKILL');
  assert.ok(segments(srv.db).length > 0, 'the segment outlived the partial replay');
  const third = await startServe({ db: srv.db });
  t.after(() => third.stop('SIGKILL'));
  assert.match(third.log(), /replaying \d+ records/);
  await waitFor('the rest stored', async () => (await getJson(`${third.http}/api/stats`)).spool.records === 0);
  assert.equal(await third.stop(), 0);
  assert.ok(mid.spool.replayed < n - QUEUE);
  // The in-memory queue (the first QUEUE records) died with the process; the spool did not, and
  // what the second run committed of it is not stored again.
  assert.deepEqual(storedSeqs(srv.db, 'killnine'), range(QUEUE, n - QUEUE));
  integrityOk(srv.db);
});

test('kill -9, then the last spool file is cut in the middle of a batch: reported, skipped, the rest stored', { timeout: 120_000 }, async (t) => {
  const dir = tempDir('nch-spool-cut-');
  const n = 14_000;
  const { srv } = await overflow(dir, n, 'cutfile');
  t.after(() => srv.stop('SIGKILL'));
  await srv.stop('SIGKILL');
  const segs = segments(srv.db);
  assert.ok(segs.length > 0);
  const last = join(`${srv.db}-spool`, segs[segs.length - 1]!);
  truncateSync(last, statSync(last).size - 123);

  const again = await startServe({ db: srv.db });
  t.after(() => again.stop('SIGKILL'));
  assert.match(again.log(), /spool: corrupt batch in .*cut short in its payload; skipped/);
  const s = await waitFor('the rest stored', async () => {
    const x = await getJson(`${again.http}/api/stats`);
    return x.spool.records === 0 && x.messages > 0 ? x : undefined;
  });
  assert.equal(s.spool.corrupt_batches, 1);
  const lost = s.dropped.spool_corrupt;
  assert.ok(lost > 0 && lost < n - QUEUE, `the cut batch's records are counted (${lost})`);
  assert.equal(await again.stop(), 0);
  // Only the last batch was cut: everything before it is stored, in order, once.
  assert.deepEqual(storedSeqs(srv.db, 'cutfile'), range(QUEUE, n - QUEUE - lost));
  integrityOk(srv.db);
});

test('kill -9, then a byte of the first spooled batch flipped: its checksum fails, it is reported and skipped, the rest stored', { timeout: 120_000 }, async (t) => {
  const dir = tempDir('nch-spool-flip-');
  const n = 14_000;
  const { srv } = await overflow(dir, n, 'flipbyte');
  t.after(() => srv.stop('SIGKILL'));
  await srv.stop('SIGKILL');
  const first = join(`${srv.db}-spool`, segments(srv.db)[0]!);
  // Inside the first frame's payload (its header is 40 bytes): the frame still parses, its checksum does not.
  const fd = openSync(first, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, 1000);
  b[0] = b[0]! ^ 0xff;
  writeSync(fd, b, 0, 1, 1000);
  closeSync(fd);

  const again = await startServe({ db: srv.db });
  t.after(() => again.stop('SIGKILL'));
  const s = await waitFor('the rest stored', async () => {
    const x = await getJson(`${again.http}/api/stats`);
    return x.spool.records === 0 && x.spool.corrupt_batches > 0 ? x : undefined;
  });
  assert.match(again.log(), /spool: corrupt batch in .*checksum mismatch; skipped \(\d+ records\)/);
  assert.equal(s.spool.corrupt_batches, 1);
  const lost = s.dropped.spool_corrupt;
  assert.ok(lost > 0 && lost < n - QUEUE, `the corrupt batch's records are counted (${lost})`);
  assert.equal(await again.stop(), 0);
  assert.deepEqual(storedSeqs(srv.db, 'flipbyte'), range(QUEUE + lost, n - QUEUE - lost), 'every batch after it is stored, in order, once');
  integrityOk(srv.db);
});

test('spool full (--spool-max-mb 1 on a small tmpfs): drops counted by reason, serve alive, database intact', { timeout: 120_000 }, async (t) => {
  if (process.getuid?.() !== 0) {
    if (mustRun('NCH_REQUIRE_ROOT')) assert.fail('NCH_REQUIRE_ROOT=1 but not root (needed to mount a small tmpfs)');
    t.skip('not root: cannot mount a small tmpfs');
    return;
  }
  const dir = tempDir('nch-spool-full-');
  const mnt = join(dir, 'fs');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt]);
  t.after(() => spawnSync('umount', ['-l', mnt]));
  const n = 30_000;
  const { srv, pause, stats } = await overflow(dir, n, 'spoolfull', ['--spool-max-mb', '1'], join(mnt, 'hub.db'));
  t.after(() => srv.stop('SIGKILL'));
  assert.ok(stats.spool.max_bytes <= 1024 * 1024);
  assert.ok(stats.spool.bytes <= 1024 * 1024, `the spool stays within its bound (${stats.spool.bytes} bytes)`);
  const full = stats.dropped.spool_full;
  assert.ok(full > 0, 'past the bound, records are dropped and counted as spool_full');
  assert.equal(stats.dropped.queue_full, 0);
  assert.equal((await fetch(`${srv.http}/healthz`)).status, 200, 'serve is alive');

  unlinkSync(pause);
  await waitFor('what fitted is stored', async () => (await getJson(`${srv.http}/api/stats`)).messages === n - full);
  const metrics = await (await fetch(`${srv.http}/metrics`)).text();
  assert.match(metrics, new RegExp(`^netconsole_dropped_total\\{reason="spool_full"\\} ${full}$`, 'm'));
  assert.equal(await srv.stop(), 0);
  integrityOk(srv.db);
  const seqs = storedSeqs(srv.db, 'spoolfull');
  assert.equal(seqs.length, n - full);
  assert.equal(new Set(seqs).size, seqs.length, 'none twice');
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in arrival order');
});

test('--spool-max-mb: 1024 by default, 0 allowed, from flag, environment or config file; negative refused', () => {
  assert.equal(settingsFromArgv([]).spoolMaxMb, 1024);
  assert.equal(settingsFromArgv(['--spool-max-mb', '0']).spoolMaxMb, 0);
  const cfg = join(tempDir(), 'c.json');
  writeFileSync(cfg, JSON.stringify({ spoolMaxMb: 64 }));
  assert.equal(settingsFromArgv(['--config', cfg]).spoolMaxMb, 64);
  process.env.NCH_SPOOL_MAX_MB = '32';
  try {
    assert.equal(settingsFromArgv(['--config', cfg]).spoolMaxMb, 32);
  } finally {
    delete process.env.NCH_SPOOL_MAX_MB;
  }
  assert.throws(() => settingsFromArgv(['--spool-max-mb', '-1']), /--spool-max-mb must be a number >= 0/);
});

test('--spool-max-mb 0 keeps dropping at the queue bound, counted as queue_full', { timeout: 60_000 }, async (t) => {
  const dir = tempDir('nch-spool-off-');
  const pause = join(dir, 'pause');
  writeFileSync(pause, '');
  const srv = await startServe({ db: join(dir, 'hub.db'), extraArgs: ['--spool-max-mb', '0'], env: { NCH_TEST_MAX_QUEUE: String(QUEUE), NCH_TEST_PAUSE_FILE: pause } });
  t.after(() => srv.stop('SIGKILL'));
  const n = 5_000;
  await sendDatagrams(srv.udpPort, records(0, n, 'nospool'));
  const s = await waitFor('records received', async () => {
    const x = await getJson(`${srv.http}/api/stats`);
    return x.records === n ? x : undefined;
  });
  assert.equal(s.dropped.queue_full, n - QUEUE);
  assert.equal(s.spool.records, 0);
  unlinkSync(pause);
  await waitFor('the queue stored', async () => (await getJson(`${srv.http}/api/stats`)).messages === QUEUE);
  assert.equal(await srv.stop(), 0);
  assert.deepEqual(segments(srv.db), []);
  assert.deepEqual(storedSeqs(srv.db, 'nospool'), range(0, QUEUE));
});

test('a spooled batch that cannot be committed (disk full) stays in the spool and is stored once space returns', { timeout: 180_000 }, async (t) => {
  if (process.getuid?.() !== 0) {
    if (mustRun('NCH_REQUIRE_ROOT')) assert.fail('NCH_REQUIRE_ROOT=1 but not root (needed to mount a small tmpfs)');
    t.skip('not root: cannot mount a small tmpfs');
    return;
  }
  const dir = tempDir('nch-spool-retry-');
  const mnt = join(dir, 'fs');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mnt]);
  t.after(() => spawnSync('umount', ['-l', mnt]));
  const n = 12_000;
  const { srv, pause } = await overflow(dir, n, 'retryfull', [], join(mnt, 'hub.db'));
  t.after(() => srv.stop('SIGKILL'));
  // The database's disk fills while the worker is stalled; then it resumes.
  const filler = join(mnt, 'filler');
  spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
  unlinkSync(pause);
  await waitFor('writes failing', async () => (await getJson(`${srv.http}/api/stats`)).dropped.write_error > 0);
  await new Promise((r) => setTimeout(r, 1000));
  const during = await getJson(`${srv.http}/api/stats`);
  assert.ok(during.dropped.write_error <= QUEUE, `only the in-memory queue's batches are dropped (${during.dropped.write_error})`);
  assert.ok(during.spool.records > 0, 'the spooled records wait');
  unlinkSync(filler);
  const after = await waitFor('the spool stored', async () => {
    const s = await getJson(`${srv.http}/api/stats`);
    return s.spool.records === 0 && s.lag_records === 0 ? s : undefined;
  });
  assert.equal(await srv.stop(), 0);
  const seqs = storedSeqs(srv.db, 'retryfull');
  assert.equal(seqs.length, n - after.dropped.write_error);
  assert.equal(new Set(seqs).size, seqs.length, 'none twice');
  for (const seq of range(QUEUE, n - QUEUE)) assert.ok(seqs.includes(seq), `spooled record ${seq} stored`);
  integrityOk(srv.db);
});

test('the dashboard says "catching up: N records behind" while the spool holds records, and stops once it is stored', { timeout: 120_000 }, async (t) => {
  if (browserMissing(t)) return;
  const dir = tempDir('nch-spool-ui-');
  const n = 8_000;
  const { srv, pause } = await overflow(dir, n, 'uiline');
  t.after(() => srv.stop('SIGKILL'));
  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.goto(`${srv.http}/`);
  // The queue (QUEUE) and the spool (the rest): everything received is behind.
  const summary = page.locator('#summary');
  await summary.getByText(`catching up: ${n.toLocaleString('en-US')} records behind`, { exact: false }).waitFor({ timeout: 15_000 });
  unlinkSync(pause);
  await waitFor('stored', async () => (await getJson(`${srv.http}/api/stats`)).messages === n);
  // The status line refreshes every 5 s.
  await waitFor('the line gone', async () => !((await summary.textContent()) ?? '').includes('catching up'), 15_000);
  assert.match((await summary.textContent()) ?? '', /8,000 records/);
});
