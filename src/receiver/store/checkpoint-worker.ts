// Thread entry of the checkpointer (see checkpointer.ts): its own connection to the database, a
// PASSIVE WAL checkpoint on a timer, and on 'close' its connection closed before it says so.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { lowerThisThreadPriority } from './thread-priority.js';

const { dbPath, done, everyMs } = workerData as { dbPath: string; done: Int32Array; everyMs: number };
const port = parentPort!;
lowerThisThreadPriority();

function finish(): void {
  Atomics.store(done, 0, 1);
  Atomics.notify(done, 0);
}

let db: Database.Database | null = null;
try {
  db = new Database(dbPath, { fileMustExist: true });
  db.pragma('busy_timeout = 0');
} catch (err) {
  port.postMessage({ error: `WAL checkpointer could not open the database: ${(err as Error).message}` });
}
let reported = false;
const timer = setInterval(() => {
  try {
    db?.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    // Busy or failing: the writer's own automatic checkpoint is the backstop. Said once, not every tick.
    if ((err as { code?: string }).code === 'SQLITE_BUSY' || reported) return;
    reported = true;
    port.postMessage({ error: `WAL checkpoint failed: ${(err as Error).message}` });
  }
}, everyMs);
port.on('message', () => {
  clearInterval(timer);
  try {
    db?.close();
  } finally {
    db = null;
    finish();
    port.close();
  }
});
if (!db) {
  clearInterval(timer);
  finish();
}
