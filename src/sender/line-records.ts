// Lines of text (stdin, followed files, --message) become printk-like records the way a write to
// /dev/kmsg does: facility user and the default level unless the line starts with `<N>`; each
// source numbers its records itself and stamps them with the monotonic clock (µs since boot, the
// same clock the kernel uses).

const LEVELS = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];
const FACILITIES: Record<string, number> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};

/** Level by number 0..7 or name (emerg … debug, also warn/error). */
export function parseLevel(s: string): number {
  const alias: Record<string, string> = { warn: 'warning', error: 'err', panic: 'emerg' };
  const name = alias[s.toLowerCase()] ?? s.toLowerCase();
  const i = LEVELS.indexOf(name);
  if (i >= 0) return i;
  if (/^[0-7]$/.test(s)) return Number(s);
  throw new Error(`invalid level '${s}': use 0..7 or ${LEVELS.join(', ')}`);
}

/** Facility by number 0..255 or syslog name (kern, user, daemon, local0 … local7, …). */
export function parseFacility(s: string): number {
  const f = FACILITIES[s.toLowerCase()];
  if (f !== undefined) return f;
  if (/^\d{1,3}$/.test(s) && Number(s) <= 255) return Number(s);
  throw new Error(`invalid facility '${s}': use 0..255 or ${Object.keys(FACILITIES).join(', ')}`);
}

export interface LineRecord {
  pri: number;
  seq: number;
  tsUsec: bigint;
  text: Buffer;
}

/** Microseconds of CLOCK_MONOTONIC (Node's hrtime), like the kernel's local_clock()/1000. */
export function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

export class LineRecordFactory {
  private seq: number;
  constructor(
    private readonly facility = 1,
    private readonly level = 4,
    firstSeq = 0,
    private readonly clock: () => bigint = monotonicUsec,
  ) {
    this.seq = firstSeq;
  }

  /** devkmsg_write: `<N>` sets the level (N & 7) and, when N has facility bits, the facility. */
  fromLine(line: Buffer): LineRecord {
    let facility = this.facility;
    let level = this.level;
    let text = line;
    const m = /^<(\d{1,4})>/.exec(line.subarray(0, 6).toString('latin1'));
    if (m && Number(m[1]) <= 2047) {
      const n = Number(m[1]);
      level = n & 7;
      if (n >> 3) facility = n >> 3;
      text = line.subarray(m[0].length);
    }
    return { pri: (facility << 3) | level, seq: this.seq++, tsUsec: this.clock(), text };
  }

  get nextSeq(): number {
    return this.seq;
  }
}

/** Splits a byte stream into lines (LF-terminated, LF removed); keeps the unfinished tail. */
export class LineSplitter {
  private pending: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Buffer[] {
    const data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const lines: Buffer[] = [];
    let start = 0;
    for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a, start)) {
      lines.push(data.subarray(start, nl));
      start = nl + 1;
    }
    this.pending = Buffer.from(data.subarray(start));
    return lines;
  }
  /** The unfinished last line, if any (at end of input). */
  flush(): Buffer | null {
    if (this.pending.length === 0) return null;
    const p = this.pending;
    this.pending = Buffer.alloc(0);
    return p;
  }
}
