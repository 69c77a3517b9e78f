// The write side's host/source/boot caches mirror committed rows: entries unused for a sweep period
// are dropped, and a source that comes back is reloaded from the database with its boot intact.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openTempDatabase } from './helpers/temp-db.js';
import { BatchWriter } from '../src/receiver/store/batch-writer.js';
import type { LogRecord, SeqEvent } from '../src/netconsole/types.js';

function rec(source: string, seq: number, receivedAt: number): LogRecord {
  return {
    source, format: 'extended', seq, pri: 6, level: 6, facility: 0, tsUsec: seq * 1000, flags: '-', text: `line ${seq}`,
    fields: {}, release: null, complete: true, receivedAt,
  };
}

function reboot(source: string, at: number, lastSeq: number, firstSeq: number): SeqEvent {
  return { type: 'reboot', source, at, from: lastSeq, to: firstSeq, detail: `seq ${lastSeq} -> ${firstSeq}` };
}

test('idle cache entries are swept and reloaded on demand without changing what is stored', (t) => {
  const db = openTempDatabase(t, 'nch-store-caches-');
  // Period 0: every batch sweeps what the batch before it did not use.
  const bw = new BatchWriter(db, 0);
  const A = '192.0.2.1:6666';
  const B = '192.0.2.2:6666';
  assert.equal(bw.write([rec(A, 1, 10), rec(A, 2, 11)]).rows[0].boot, 1);
  bw.write([rec(B, 1, 12)]);
  assert.deepEqual(bw.cacheSizes(), { hosts: 2, sources: 2, boots: 2 }, 'A was used by the batch before');
  bw.write([rec(B, 2, 13)]);
  assert.deepEqual(bw.cacheSizes(), { hosts: 1, sources: 1, boots: 1 }, 'A is swept: unused for a whole period');

  // A comes back with a reboot: the boot number continues from the database.
  const after = bw.write([reboot(A, 20, 2, 0), rec(A, 0, 20)]).rows;
  assert.equal(after[0].boot, 2);
  bw.write([rec(B, 3, 21)]);
  bw.write([rec(B, 4, 22)]);
  assert.equal(bw.cacheSizes().sources, 1);
  // And again after another sweep: it stays in its current boot.
  assert.equal(bw.write([rec(A, 1, 23)]).rows[0].boot, 2);

  const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
  assert.equal(count('SELECT count(*) n FROM hosts'), 2);
  assert.equal(count('SELECT count(*) n FROM sources'), 2);
  assert.equal(count('SELECT count(*) n FROM boots'), 3);
  assert.equal(count("SELECT last_seen n FROM sources WHERE address = '192.0.2.1:6666'"), 23);
});
