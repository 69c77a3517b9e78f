// Rows as ClickHouse's TabSeparated text, written straight into one growing buffer: an insert of
// 50 000 rows then leaves no string per row alive until it is sent (the per-row strings die young,
// which is what made the write worker's scavenges cheap again; see bench/RESULTS.md, "Fleet").

const SPECIAL = /[\\\t\n\r]/;
const SPECIAL_ALL = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A string as a TabSeparated field: backslash, tab, newline and CR escaped, everything else as is. */
export function tsvField(s: string): string {
  return SPECIAL.test(s) ? s.replace(SPECIAL_ALL, (c) => ESCAPES[c]!) : s;
}

/** Lines appended as UTF-8 into one buffer that doubles when full. */
export class TsvBuffer {
  private buf: Buffer;
  private end = 0;
  /** Lines appended. */
  lines = 0;

  constructor(initialBytes = 1 << 16) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Appends one line (its fields already joined by tabs and escaped, ending in '\n'). */
  line(s: string): void {
    // A UTF-16 unit is at most 3 bytes of UTF-8.
    const need = this.end + s.length * 3;
    if (need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, this.end);
      this.buf = grown;
    }
    this.end += this.buf.write(s, this.end, 'utf8');
    this.lines++;
  }

  /** The bytes written so far (a view, not a copy). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.end);
  }
}
