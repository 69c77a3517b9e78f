// The data after an extended header's `;` (fragments already joined): `text LF` then
// ` KEY=value LF` lines: the dictionary (SUBSYSTEM, DEVICE: escaped like the text), then userdata
// and sysdata (raw). Splitting happens on the escaped form, where the first real LF ends the text.
//
// The 2048-byte cut (kernels >= 6.3): printk formats header, `;`, escaped text and dictionary into
// a PRINTK_MESSAGE_MAX (2048) buffer and silently stops when it is full, mid-escape or mid-line,
// often without the text's LF; netconsole then appends userdata and sysdata right after it. So the
// printk part of the data ends at exactly 2048 - (header + `;`) bytes when it was cut, and what
// follows is ` key=value LF` lines. Older kernels (4.2-6.2) format into 8192 bytes and never cut,
// so a long text there runs past that point to its LF: the bytes after the cut point tell them apart.
import { unescapeKernel } from './escape.js';
import { bytesToText } from './text.js';

const LF = 0x0a;
const SP = 0x20;
const EQ = 0x3d;
const BACKSLASH = 0x5c;
const ESCAPED_KEYS = new Set(['SUBSYSTEM', 'DEVICE']);
/** printk's buffer for one formatted record (kernel/printk/internal.h, >= 6.3). */
export const PRINTK_MESSAGE_MAX = 2048;

export interface RecordBody {
  text: string;
  fields: Record<string, string>;
  /** The kernel cut the record at PRINTK_MESSAGE_MAX: the text is only its beginning. */
  truncated: boolean;
}

/** Adds key=value, keeping an earlier value of the same key (a user `cpu` and sysdata `cpu` may both appear). */
function addField(fields: Record<string, string>, key: string, value: string): void {
  if (!(key in fields)) { fields[key] = value; return; }
  let n = 2;
  while (`${key}#${n}` in fields) n++;
  fields[`${key}#${n}`] = value;
}

/** Parses ` key=value LF` lines of data[from, to) into fields. */
function addLines(fields: Record<string, string>, data: Uint8Array, from: number, to: number): void {
  let pos = from;
  while (pos < to) {
    let end = data.indexOf(LF, pos);
    if (end < 0 || end > to) end = to;
    let line = data.subarray(pos, end);
    pos = end + 1;
    if (line.length === 0) continue;
    if (line[0] === SP) line = line.subarray(1);
    const eq = line.indexOf(EQ);
    if (eq <= 0) { addField(fields, 'extra', bytesToText(line)); continue; }
    const key = bytesToText(line.subarray(0, eq));
    const rawValue = line.subarray(eq + 1);
    addField(fields, key, bytesToText(ESCAPED_KEYS.has(key) ? unescapeKernel(rawValue) : rawValue));
  }
}

/** Whether data[from..] is nothing but ` key=value LF` lines, as netconsole appends userdata and sysdata. */
function isExtraLines(data: Uint8Array, from: number): boolean {
  let pos = from;
  while (pos < data.length) {
    const end = data.indexOf(LF, pos);
    if (end < 0 || data[pos] !== SP) return false;
    const eq = data.indexOf(EQ, pos);
    if (eq < pos + 2 || eq > end) return false;
    const sp = data.indexOf(SP, pos + 1);
    if (sp >= 0 && sp < eq) return false; // a key has no spaces
    pos = end + 1;
  }
  return true;
}

/** Whether `part` (a dictionary tail) is whole SUBSYSTEM/DEVICE lines plus the start of one. */
function isDictTail(part: string): boolean {
  const lines = part.split('\n');
  return lines.every((l, i) => {
    if (i === lines.length - 1) return l === '' || /^ (S(U(B(S(Y(S(T(E(M(=.*)?)?)?)?)?)?)?)?)?|D(E(V(I(C(E(=.*)?)?)?)?)?)?)?$/s.test(l);
    return /^ (SUBSYSTEM|DEVICE)=/.test(l);
  });
}

/** Whether raw text ends inside a UTF-8 sequence (a lead byte with fewer continuation bytes than it needs). */
function endsMidUtf8(b: Uint8Array): boolean {
  for (let k = 1; k <= Math.min(3, b.length); k++) {
    const c = b[b.length - k];
    if ((c & 0xc0) === 0x80) continue;
    const need = c >= 0xf0 && c <= 0xf7 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return c >= 0xc0 && need > k;
  }
  return false;
}

const isLowerHex = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66);

/**
 * The escape the cut left unfinished (`\`, `\x` or `\xh`) near the end of an escaped text, as
 * [start, end), or null. Up to `after` bytes may follow it: the one plain byte append_char could
 * still place after escapes that no longer fitted (`\x9E` is `\x9` and the `E` of `END`: the
 * kernel's hex is lower-case). A whole escape at the end is not one.
 */
function unfinishedEscape(esc: Uint8Array, after: number): [number, number] | null {
  const n = esc.length;
  const i = esc.lastIndexOf(BACKSLASH, n - 1);
  if (i < 0 || i < n - 4) return null;
  let j = i + 1;
  if (j < n && esc[j] === 0x78) {
    j++;
    if (j < n && isLowerHex(esc[j])) {
      j++;
      if (j < n && isLowerHex(esc[j])) return null; // a whole escape
    }
  }
  return n - j <= after ? [i, j] : null;
}

/**
 * Where the printk part of `data` was cut, or -1 when it was not. `printkHeaderLen` is the
 * length of `pri,seq,ts,flag[,k=v…];` (no release, no ncfrag), or null when unknown.
 */
export function cutPoint(data: Uint8Array, printkHeaderLen: number | null): number {
  if (printkHeaderLen === null) return -1;
  const limit = PRINTK_MESSAGE_MAX - printkHeaderLen;
  if (limit <= 0 || data.length < limit || data[limit - 1] === LF) return -1;
  const nl = data.indexOf(LF);
  if (nl < 0 || nl >= limit) {
    // The text reaches the cut point: cut (>= 6.3) when the rest is userdata/sysdata lines, else an
    // older kernel's long text that goes on to its LF.
    return limit === data.length || isExtraLines(data, limit) ? limit : -1;
  }
  // The text ended earlier: cut inside the dictionary only if the lines up to the cut are dictionary lines.
  const tail = Buffer.from(data.buffer, data.byteOffset + nl + 1, limit - nl - 1).toString('latin1');
  return isDictTail(tail) && (limit === data.length || isExtraLines(data, limit)) ? limit : -1;
}

export function parseRecordBody(data: Uint8Array, printkHeaderLen: number | null = null): RecordBody {
  const fields: Record<string, string> = {};
  const cut = cutPoint(data, printkHeaderLen);
  const printkEnd = cut < 0 ? data.length : cut;
  let nl = data.indexOf(LF);
  if (nl < 0 || nl > printkEnd) nl = printkEnd;
  let esc = data.subarray(0, nl);
  let truncated = cut >= 0 && nl === printkEnd;
  // An escape cut short stands for a byte that was never sent: drop it rather than show `\xc`.
  const lfInLastByte = printkHeaderLen !== null && nl === PRINTK_MESSAGE_MAX - printkHeaderLen - 1 && data[nl] === LF;
  // Cut in the text: the unfinished escape may be followed by one plain byte; with the LF in the
  // last byte, nothing fitted after it.
  const unfinished = truncated ? unfinishedEscape(esc, 1) : lfInLastByte ? unfinishedEscape(esc, 0) : null;
  if (unfinished) {
    esc = Buffer.concat([esc.subarray(0, unfinished[0]), esc.subarray(unfinished[1])]);
    truncated = true;
  }
  const raw = unescapeKernel(esc);
  // A cut that still left room for the LF in the last byte shows as an unfinished escape (above)
  // or character. (One that ends on a whole character looks like a record that just fits.)
  if (lfInLastByte && !truncated && endsMidUtf8(raw)) truncated = true;
  const text = bytesToText(raw);
  addLines(fields, data, nl + 1, printkEnd);
  if (cut >= 0 && nl < printkEnd) truncated = true; // cut inside the dictionary
  addLines(fields, data, printkEnd, data.length);
  return { text, fields, truncated };
}
