// `--kmsg`: reads /dev/kmsg, one record per read(), without blocking (polls when empty so the
// daemon can stop at any time). Node has no lseek, so "start at the end" reads and drops what is
// buffered; a saved position skips records up to it. EPIPE means the kernel overwrote records we
// had not read yet: the gap is reported, reading goes on with the oldest record still there.
import { openSync, readSync, closeSync, constants, readFileSync } from 'node:fs';
import { parseKmsgRecord, type KmsgRecord } from '../../netconsole/kmsg.js';
import { sleep } from './abortable-sleep.js';

export type KmsgStart = { from: 'beginning' } | { from: 'end' } | { from: 'after'; seq: bigint };

export interface KmsgOptions {
  path?: string;
  start: KmsgStart;
  pollMs?: number;
  signal?: AbortSignal;
  /** Records lost before we could read them: first and last missing seq (inclusive). */
  onGap?: (from: bigint, to: bigint) => void;
  onBadRecord?: (msg: string) => void;
  /** Called once when the records already buffered have been skipped (start at the end). */
  onCaughtUp?: () => void;
}

/** The boot id, so a saved position from an earlier boot is not applied to this one. */
export function currentBootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

export async function* readKmsg(o: KmsgOptions): AsyncGenerator<KmsgRecord> {
  const path = o.path ?? '/dev/kmsg';
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot read ${path}: ${code ?? (err as Error).message}${code === 'EACCES' || code === 'EPERM' ? ' (needs root or CAP_SYSLOG with kernel.dmesg_restrict)' : ''}`);
  }
  const buf = Buffer.alloc(16 * 1024);
  let skipping = o.start.from === 'end';
  let after = o.start.from === 'after' ? o.start.seq : null;
  let last: bigint | null = after;
  try {
    while (!o.signal?.aborted) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          if (skipping) o.onCaughtUp?.();
          skipping = false;
          await sleep(o.pollMs ?? 100, o.signal);
          continue;
        }
        if (code === 'EPIPE') continue; // the next read returns the oldest record left: gap seen below
        if (code === 'EINTR') continue;
        throw new Error(`reading ${path} failed: ${code ?? (err as Error).message}`);
      }
      if (n === 0) {
        await sleep(o.pollMs ?? 100, o.signal);
        continue;
      }
      let rec: KmsgRecord;
      try {
        rec = parseKmsgRecord(buf.subarray(0, n));
      } catch (err) {
        o.onBadRecord?.((err as Error).message);
        continue;
      }
      const seq = BigInt(rec.seq);
      if (after !== null) {
        if (seq <= after) continue;
        after = null;
      }
      // A gap: records overwritten (EPIPE) or a saved position older than the oldest record left.
      if (!skipping && last !== null && seq > last + 1n) o.onGap?.(last + 1n, seq - 1n);
      last = seq;
      if (skipping) continue;
      yield rec;
    }
  } finally {
    closeSync(fd);
  }
}
