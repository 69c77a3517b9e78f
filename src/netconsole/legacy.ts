// Basic ("legacy") netconsole for one source (spec §2): raw console text, each line with an
// optional `<PRI>`, `[SSSSS.UUUUUU]` and `[  T123]` prefix, cut into 1000-byte datagrams with no
// marker. A datagram of 1000+ bytes that does not end in LF continues in the next one; a shorter
// one is a whole write that merely lacks its LF. A held-back tail is flushed after a timeout.

const LF = 0x0a;
/** netconsole's MAX_PRINT_CHUNK: the kernel cuts console writes at this size. */
export const MAX_PRINT_CHUNK = 1000;
/** A line longer than this without LF is flushed as is (bounds the per-source buffer). */
const MAX_PENDING = 64 * 1024;

export interface LegacyLine {
  /** The line's bytes without LF and without the parsed prefixes. */
  text: Uint8Array;
  pri: number | null;
  tsUsec: number | null;
  caller: string | null;
  /** False when the line was cut off (flushed at timeout or shutdown without its LF after a full chunk). */
  complete: boolean;
  firstAt: number;
}

/** Parses `<PRI>`, `[   12.345678]` and `[  T123]` at the start of a console line. */
export function parseLegacyPrefix(line: Uint8Array): Omit<LegacyLine, 'complete' | 'firstAt'> {
  let pos = 0;
  let pri: number | null = null;
  let tsUsec: number | null = null;
  let caller: string | null = null;
  if (line[0] === 0x3c) {
    let v = 0;
    let i = 1;
    while (i < line.length && i < 6 && line[i] >= 0x30 && line[i] <= 0x39) v = v * 10 + (line[i++] - 0x30);
    if (i > 1 && line[i] === 0x3e) { pri = v; pos = i + 1; }
  }
  if (line[pos] === 0x5b) {
    // `[%5lu.%06lu]`: spaces, digits, a dot, exactly six digits, `]`.
    let i = pos + 1;
    while (i < line.length && line[i] === 0x20) i++;
    let sec = 0;
    const secStart = i;
    while (i < line.length && line[i] >= 0x30 && line[i] <= 0x39 && i - secStart < 12) sec = sec * 10 + (line[i++] - 0x30);
    if (i > secStart && line[i] === 0x2e) {
      let usec = 0;
      let j = i + 1;
      while (j < line.length && line[j] >= 0x30 && line[j] <= 0x39 && j - i <= 6) usec = usec * 10 + (line[j++] - 0x30);
      if (j - i - 1 === 6 && line[j] === 0x5d) {
        tsUsec = sec * 1_000_000 + usec;
        pos = j + 1;
      }
    }
  }
  if (line[pos] === 0x5b && tsUsec !== null) {
    // caller id `[%6s]` (CONFIG_PRINTK_CALLER): T<pid> or C<cpu>, right-aligned.
    const close = line.indexOf(0x5d, pos);
    if (close > pos && close - pos <= 12) {
      const id = Buffer.from(line.subarray(pos + 1, close)).toString('latin1').trim();
      if (/^[TC]\d+$/.test(id)) { caller = id; pos = close + 1; }
    }
  }
  if ((tsUsec !== null || caller !== null) && line[pos] === 0x20) pos++;
  return { text: line.subarray(pos), pri, tsUsec, caller };
}

export class LegacyJoiner {
  private pending: Uint8Array | null = null;
  private pendingAt = 0;
  private deadline = Infinity;

  constructor(private readonly timeoutMs: number) {}

  get hasPending(): boolean { return this.pending !== null; }
  get pendingBytes(): number { return this.pending ? this.pending.length : 0; }
  nextDeadline(): number | null { return this.pending ? this.deadline : null; }

  push(data: Uint8Array, now: number, out: (l: LegacyLine) => void): void {
    if (data.length === 0) return;
    let buf = data;
    let firstAt = now;
    if (this.pending) {
      buf = Buffer.concat([this.pending, data]);
      firstAt = this.pendingAt;
      this.pending = null;
    }
    let start = 0;
    let nl: number;
    while ((nl = buf.indexOf(LF, start)) >= 0) {
      out({ ...parseLegacyPrefix(buf.subarray(start, nl)), complete: true, firstAt });
      start = nl + 1;
      firstAt = now;
    }
    if (start >= buf.length) return;
    const tail = buf.subarray(start);
    // Only a full-size chunk is continued by the kernel; anything shorter is a whole write.
    if (data.length >= MAX_PRINT_CHUNK && tail.length < MAX_PENDING) {
      this.pending = Buffer.from(tail);
      this.pendingAt = firstAt;
      this.deadline = now + this.timeoutMs;
    } else {
      out({ ...parseLegacyPrefix(tail), complete: true, firstAt });
    }
  }

  /** Flushes a held-back tail whose continuation never came. */
  expire(now: number, out: (l: LegacyLine) => void): void {
    if (this.pending && this.deadline <= now) this.drain(out);
  }

  drain(out: (l: LegacyLine) => void): void {
    if (!this.pending) return;
    const tail = this.pending;
    this.pending = null;
    out({ ...parseLegacyPrefix(tail), complete: false, firstAt: this.pendingAt });
  }
}
