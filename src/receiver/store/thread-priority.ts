// The datagram thread must win the CPU: a datagram the kernel cannot queue is lost without a trace,
// while a storage thread that falls behind only grows the writer's queue (bounded, and what the
// bound drops is counted). So the storage threads lower their own scheduling priority. Linux
// applies nice values per thread; /proc/thread-self names this thread's id.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** Nice value of the storage worker and the checkpointer (0 = as the datagram thread, 19 = lowest). */
export const STORAGE_THREAD_NICE = 10;

/** Lowers this thread's priority; false where the platform cannot (then all threads share one). */
export function lowerThisThreadPriority(nice = STORAGE_THREAD_NICE): boolean {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}
