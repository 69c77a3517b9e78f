// WAL checkpoints off the write path. A checkpoint copies committed WAL pages into the database file
// and fsyncs it; run by the writer (SQLite's automatic checkpoint) it stalls a commit for tens of
// milliseconds every few seconds, which is what the live stream's p99 saw. This small thread has its
// own connection and checkpoints every CHECKPOINT_EVERY_MS (PASSIVE: it never waits for the writer
// or readers, it copies what it can). The writer keeps its automatic checkpoint, at a larger size,
// as the backstop should this thread fall behind or fail.
import { Worker } from 'node:worker_threads';

export const CHECKPOINT_EVERY_MS = 200;
/** Longest close() waits for the thread to close its connection (so the writer's close is the last). */
const STOP_WAIT_MS = 2000;

export interface Checkpointer {
  /** Synchronous: the thread's connection is closed (or it gave up) when this returns. */
  stop(): void;
}

export function startCheckpointer(dbPath: string, onError: (message: string) => void): Checkpointer {
  const done = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), { workerData: { dbPath, done, everyMs: CHECKPOINT_EVERY_MS }, execArgv: [] });
  worker.unref();
  worker.on('error', (err) => onError(err.message));
  worker.on('message', (m: { error?: string }) => { if (m.error) onError(m.error); });
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      worker.postMessage('close');
      Atomics.wait(done, 0, 0, STOP_WAIT_MS);
      void worker.terminate();
    },
  };
}
