// The spool module on real files: frames round-trip through segment files, segments rotate and
// are deleted once committed, a reopen skips what the store committed, and a frame of an unknown
// version is reported and skipped, never thrown.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Spool, SpoolInUseError } from '../src/receiver/store/spool.js';
import { spawn } from 'node:child_process';
import { decodeItems, encodeItems } from '../src/receiver/store/batch-codec.js';
import type { LogRecord, SeqEvent } from '../src/netconsole/types.js';
import type { StoreItem } from '../src/receiver/store/types.js';
import { tempDir } from './helpers/serve.js';

function rec(seq: number, extra: Partial<LogRecord> = {}): LogRecord {
  return { source: '10.9.0.1:6666', format: 'extended', seq, pri: 6, level: 6, facility: 0, tsUsec: seq * 10, flags: '-', text: `spooled record ${seq} ${'s'.repeat(200)}`, fields: {}, release: null, complete: true, receivedAt: 1_000 + seq, recheck: false, ...extra };
}

function batch(from: number, n: number): StoreItem[] {
  return Array.from({ length: n }, (_, i) => rec(from + i));
}

const segs = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.seg')).sort();

test('frames round-trip in order (records, their recheck flag, events), segments rotate and go once committed', () => {
  const dir = join(tempDir('nch-spool-unit-'), 'spool');
  const s = Spool.open({ dir, maxBytes: 2 * 1024 * 1024, committedThrough: 0 });
  const gap: SeqEvent = { type: 'gap', source: '10.9.0.1:6666', at: 5, from: 3, to: 4 };
  const first: StoreItem[] = [rec(0, { recheck: true, fields: { caller: 'T1' }, release: '6.1.0' }), gap, rec(1, { format: 'legacy', seq: null, flags: '', complete: false })];
  assert.equal(s.append(encodeItems(first), first.length, 1_000), true);
  // 256 KiB segments (the bound / 8): these rotate.
  for (let b = 0; b < 8; b++) assert.equal(s.append(encodeItems(batch(10 + b * 200, 200)), 200, 0), true);
  assert.ok(segs(dir).length >= 2, `more than one segment (${segs(dir).join(', ')})`);
  assert.equal(s.stats().records, 3 + 8 * 200);
  assert.equal(s.stats().oldestAt, 1_000);

  const one = s.next()!;
  assert.deepEqual(decodeItems(one.batch), first, 'every field, the recheck flag and the event come back');
  s.committed(one.batchNo);
  let seq = 10;
  for (let f = s.next(); f; f = s.next()) {
    for (const item of decodeItems(f.batch)) assert.equal((item as LogRecord).seq, seq++);
    s.committed(f.batchNo);
  }
  assert.equal(seq, 10 + 8 * 200);
  assert.equal(s.empty, true);
  assert.equal(s.stats().records, 0);
  assert.deepEqual(segs(dir), [], 'committed segments are deleted');
  s.close();
});

test('a reopen skips the frames the store committed and replays the rest; the bound refuses what does not fit', () => {
  const dir = join(tempDir('nch-spool-unit-'), 'spool');
  const s = Spool.open({ dir, maxBytes: 64 * 1024 * 1024, committedThrough: 0 });
  for (let b = 0; b < 4; b++) s.append(encodeItems(batch(b * 100, 100)), 100, 0);
  s.close();
  // The store had committed batches 1 and 2.
  const again = Spool.open({ dir, maxBytes: 64 * 1024 * 1024, committedThrough: 2 });
  assert.match(again.takeNotices().join('\n'), /replaying 200 records \(2 batches/);
  const seqs: number[] = [];
  for (let f = again.next(); f; f = again.next()) {
    seqs.push(...decodeItems(f.batch).map((i) => (i as LogRecord).seq!));
    assert.ok(f.batchNo > 2);
    again.committed(f.batchNo);
  }
  assert.deepEqual(seqs, Array.from({ length: 200 }, (_, i) => 200 + i));
  again.close();
  // New batches are numbered after every frame on disk, even one the store does not know of
  // (its database replaced): nothing can be taken for committed by mistake.
  const other = join(tempDir('nch-spool-unit-'), 'spool');
  const first = Spool.open({ dir: other, maxBytes: 64 * 1024 * 1024, committedThrough: 0 });
  for (let b = 0; b < 3; b++) first.append(encodeItems(batch(b * 10, 10)), 10, 0);
  first.close();
  const tiny = Spool.open({ dir: other, maxBytes: 60_000, committedThrough: 0 });
  assert.equal(tiny.append(encodeItems(batch(30, 10)), 10, 0), true);
  assert.equal(tiny.append(encodeItems(batch(40, 200)), 200, 0), false, 'past the bound');
  const numbers: number[] = [];
  for (let f = tiny.next(); f; f = tiny.next()) numbers.push(f.batchNo);
  assert.deepEqual(numbers, [1, 2, 3, 4]);
  tiny.close();
});

test('a frame of an unknown version is reported in one line and skipped with the rest of its file', () => {
  const dir = join(tempDir('nch-spool-unit-'), 'spool');
  const s = Spool.open({ dir, maxBytes: 64 * 1024 * 1024, committedThrough: 0 });
  s.append(encodeItems(batch(0, 50)), 50, 0);
  s.append(encodeItems(batch(50, 50)), 50, 0);
  s.close();
  const file = join(dir, segs(dir)[0]!);
  const bytes = readFileSync(file);
  bytes.writeUInt16LE(99, 4); // the first frame's version
  writeFileSync(file, bytes);
  const again = Spool.open({ dir, maxBytes: 64 * 1024 * 1024, committedThrough: 0 });
  const notices = again.takeNotices();
  assert.equal(notices.length, 1);
  assert.match(notices[0]!, /unknown version 99; skipped the rest of the file/);
  assert.equal(again.stats().corruptBatches, 1);
  assert.equal(again.next(), null);
  again.close();
});

test('one process per spool: a live owner refuses a second opener in one line; a lock left by kill -9 is taken over', async () => {
  const dir = join(tempDir('nch-spool-lock-'), 'spool');
  // The owner: another process that opens the spool and waits.
  const spoolModule = new URL('../src/receiver/store/spool.js', import.meta.url).href;
  const owner = spawn(process.execPath, ['--input-type=module', '-e',
    `const { Spool } = await import(${JSON.stringify(spoolModule)}); Spool.open({ dir: ${JSON.stringify(dir)}, maxBytes: 1 << 20, committedThrough: 0 }); console.log('open'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      owner.stdout!.on('data', (d) => { if (String(d).includes('open')) resolve(); });
      owner.once('exit', (code) => reject(new Error(`the owner exited (${code})`)));
    });
    assert.throws(() => Spool.open({ dir, maxBytes: 1 << 20, committedThrough: 0 }), (err: Error) => {
      assert.ok(err instanceof SpoolInUseError, String(err));
      assert.match(err.message, new RegExp(`in use by process ${owner.pid}: .*its own --db`));
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  } finally {
    owner.kill('SIGKILL');
    await new Promise((r) => owner.once('exit', r));
  }
  // Its lock is still there, naming a process that is gone: taken over, and the spool works.
  assert.equal(readFileSync(join(dir, 'lock'), 'utf8').trim(), String(owner.pid));
  const s = Spool.open({ dir, maxBytes: 1 << 20, committedThrough: 0 });
  assert.equal(readFileSync(join(dir, 'lock'), 'utf8').trim(), String(process.pid));
  assert.equal(s.append(encodeItems(batch(0, 3)), 3, 0), true);
  s.close();
  assert.ok(!readdirSync(dir).includes('lock'), 'close() releases the lock');
});
