// The storage threads (write worker, WAL checkpointer) run at a lower priority than the datagram
// thread, so under CPU pressure the socket is drained first (src/receiver/store/thread-priority.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StorageWriter } from '../src/receiver/store/writer.js';
import { STORAGE_THREAD_NICE } from '../src/receiver/store/thread-priority.js';

/** Nice value of every thread of this process (field 19 of /proc/PID/task/TID/stat). */
function threadNices(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch { /* thread ended */ }
  }
  return out;
}

test('the write worker and the checkpointer lower their priority; this (datagram) thread keeps its own', { skip: existsSync('/proc/thread-self') ? false : 'no /proc/thread-self (not Linux): thread priorities are not set here' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nch-prio-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const before = threadNices();
  const w = await StorageWriter.open({ dbPath: join(dir, 'hub.db') });
  t.after(() => w.close());
  // The checkpointer starts with the worker; give it a moment to set its priority.
  let lowered: number[] = [];
  for (let i = 0; i < 100 && lowered.length < 2; i++) {
    await new Promise((r) => setTimeout(r, 20));
    lowered = [...threadNices()].filter(([tid, nice]) => !before.has(tid) && nice === STORAGE_THREAD_NICE).map(([tid]) => tid);
  }
  assert.equal(lowered.length, 2, 'two new threads (write worker, checkpointer) at the storage priority');
  assert.equal(threadNices().get(process.pid), before.get(process.pid), 'the main thread is unchanged');
});
