// The formatter: one printk record in, the exact UDP payloads a kernel netconsole target sends out
// (spec §2, §3.3–3.9). Pure: no I/O, no clock. The kernel version selects buffer sizes and quirks:
//   '6.1'    4.2–6.2 code (Debian 12): no release/userdata/sysdata, legacy buffer 1024, record ≤ 991
//   '6.9'    6.3+ buffers (2048) with the pre-fix quirks of 6.6…7.0: NUL/999 on an exact-1000
//            datagram, and the 6.9 fragment loop giving up when a body fragment fills a datagram
//            while extra data is still pending
//   'latest' 6.3+ buffers, no quirks (newest mainline)
import { escapeKernel } from './escape.js';

export type KernelBehaviour = '6.1' | '6.9' | 'latest';
export const KERNEL_BEHAVIOURS: readonly KernelBehaviour[] = ['6.1', '6.9', 'latest'];

/** Largest UDP payload netconsole emits (MAX_PRINT_CHUNK), every version. */
export const MAX_PRINT_CHUNK = 1000;

/** One printk record as the kernel stores it: raw (unescaped) text, no trailing newline. */
export interface KernelRecord {
  /** syslog PRI, (facility << 3) | level. Takes precedence over level/facility. */
  pri?: number;
  level?: number;
  facility?: number;
  seq: number | bigint;
  tsUsec: number | bigint;
  /** '-' normal, 'c' LOG_CONT. Default '-'. */
  flag?: string;
  text: Uint8Array;
  /** dev_printk dictionary; empty values are not emitted (as the kernel). */
  subsystem?: Uint8Array | string;
  device?: Uint8Array | string;
  /** CONFIG_PRINTK_CALLER id, `T<pid>` or `C<cpu>`. */
  caller?: string;
}

export interface Sysdata {
  cpu?: number;
  taskname?: string;
  release?: string;
  msgid?: number;
}

export interface FormatOptions {
  format: 'legacy' | 'extended';
  kernel?: KernelBehaviour;
  /** `uname -r` to prepend (extended only, ≥ 6.6). */
  release?: string;
  /** Userdata entries in configfs order (extended only, ≥ 6.9); empty values are omitted. */
  userdata?: ReadonlyArray<readonly [string, string]>;
  /** Sysdata lines (extended only, ≥ 6.15 / 6.17 for msgid). */
  sysdata?: Sysdata;
  /** Legacy `[%5lu.%06lu] ` prefix (printk.time). Default true. */
  timestamps?: boolean;
  /** Legacy `<PRI>` prefix (console_msg_format=syslog). Default false. */
  syslogPrefix?: boolean;
}

/** Bad record or options; the message is one line the user can act on. */
export class FormatError extends Error {}

interface Limits {
  /** Longest stored record text (printk truncates longer text). */
  recordMax: number;
  /** Buffer record_print_text fills for a basic console (incl. terminator). */
  legacyBuffer: number;
  /** Buffer the extended header + body is printed into. */
  extendedBuffer: number;
}

const LIMITS: Record<KernelBehaviour, Limits> = {
  '6.1': { recordMax: 991, legacyBuffer: 1024, extendedBuffer: 8192 },
  '6.9': { recordMax: 1023, legacyBuffer: 2048, extendedBuffer: 2048 },
  latest: { recordMax: 1023, legacyBuffer: 2048, extendedBuffer: 2048 },
};

const USERDATA_KEY_MAX = 53;

function toBytes(v: Uint8Array | string | undefined): Uint8Array {
  if (v === undefined) return new Uint8Array(0);
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

function isUint(v: number | bigint): boolean {
  return typeof v === 'bigint' ? v >= 0n : Number.isSafeInteger(v) && v >= 0;
}

/** The record's syslog PRI, from `pri` or `(facility << 3) | level`. */
export function recordPri(r: KernelRecord): number {
  if (r.pri !== undefined) return r.pri;
  return ((r.facility ?? 0) << 3) | (r.level ?? 6);
}

/** Throws FormatError if the record cannot exist in a kernel. */
export function validateRecord(r: KernelRecord): void {
  const pri = recordPri(r);
  if (!Number.isInteger(pri) || pri < 0 || pri > 2047) throw new FormatError(`invalid pri ${pri}: must be 0..2047`);
  if (r.pri === undefined) {
    if (r.level !== undefined && !(Number.isInteger(r.level) && r.level >= 0 && r.level <= 7))
      throw new FormatError(`invalid level ${r.level}: must be 0..7`);
    if (r.facility !== undefined && !(Number.isInteger(r.facility) && r.facility >= 0 && r.facility <= 255))
      throw new FormatError(`invalid facility ${r.facility}: must be 0..255`);
  }
  if (!isUint(r.seq)) throw new FormatError(`invalid seq ${r.seq}: must be a non-negative integer`);
  if (!isUint(r.tsUsec)) throw new FormatError(`invalid ts_usec ${r.tsUsec}: must be a non-negative integer`);
  const flag = r.flag ?? '-';
  if (flag.length !== 1 || flag === ',' || flag === ';') throw new FormatError(`invalid flag '${flag}': must be one character such as - or c`);
  if (r.caller !== undefined && !/^[TC]\d+$/.test(r.caller)) throw new FormatError(`invalid caller '${r.caller}': must be T<pid> or C<cpu>`);
}

/** Throws FormatError for option combinations the chosen kernel does not support. */
export function validateFormatOptions(o: FormatOptions): void {
  const kernel = o.kernel ?? 'latest';
  if (!KERNEL_BEHAVIOURS.includes(kernel)) throw new FormatError(`unknown kernel behaviour '${kernel}': use 6.1, 6.9 or latest`);
  if (o.format !== 'legacy' && o.format !== 'extended') throw new FormatError(`unknown format '${String(o.format)}': use legacy or extended`);
  const hasUserdata = (o.userdata?.length ?? 0) > 0;
  const sd = o.sysdata;
  const hasSysdata = sd !== undefined && (sd.cpu !== undefined || sd.taskname !== undefined || sd.release !== undefined || sd.msgid !== undefined);
  if (kernel === '6.1') {
    if (o.release !== undefined) throw new FormatError('release prepend needs kernel >= 6.6 (use --kernel 6.9 or latest)');
    if (hasUserdata) throw new FormatError('userdata needs kernel >= 6.9 (use --kernel 6.9 or latest)');
    if (hasSysdata) throw new FormatError('sysdata needs kernel >= 6.15 (use --kernel 6.9 or latest)');
  }
  if (o.format === 'legacy' && o.release !== undefined) throw new FormatError('release prepend is only possible with the extended format (the kernel rejects it on basic targets)');
  if (o.release !== undefined && (o.release.length === 0 || /[,;\n\0]/.test(o.release)))
    throw new FormatError(`invalid release '${o.release}': must be non-empty without , ; newline or NUL`);
  for (const [k, v] of o.userdata ?? []) {
    if (k.length === 0 || k.length > USERDATA_KEY_MAX || /[\s=/\0]/.test(k))
      throw new FormatError(`invalid userdata key '${k}': 1..${USERDATA_KEY_MAX} characters, no space, = or /`);
    if (/[\n\0]/.test(v)) throw new FormatError(`invalid userdata value for '${k}': must not contain a newline or NUL`);
  }
  if (sd?.cpu !== undefined && !(Number.isInteger(sd.cpu) && sd.cpu >= 0 && sd.cpu <= 0xffffffff)) throw new FormatError(`invalid sysdata cpu ${sd.cpu}`);
  if (sd?.msgid !== undefined && !(Number.isInteger(sd.msgid) && sd.msgid >= 0 && sd.msgid <= 0xffffffff)) throw new FormatError(`invalid sysdata msgid ${sd.msgid}`);
  if (sd?.taskname !== undefined && /[\n\0]/.test(sd.taskname)) throw new FormatError('invalid sysdata taskname: must not contain a newline or NUL');
  if (sd?.release !== undefined && /[\n\0]/.test(sd.release)) throw new FormatError('invalid sysdata release: must not contain a newline or NUL');
}

/** Record text as the kernel stores it: printk cuts text longer than the record limit. */
function storedText(r: KernelRecord, kernel: KernelBehaviour): Uint8Array {
  const max = LIMITS[kernel].recordMax;
  return r.text.length > max ? r.text.subarray(0, max) : r.text;
}

/** info_print_ext_header: `pri,seq,ts_usec,flag[,caller=X];`. */
export function extendedHeader(r: KernelRecord): string {
  const caller = r.caller !== undefined ? `,caller=${r.caller}` : '';
  return `${recordPri(r)},${String(r.seq)},${String(r.tsUsec)},${r.flag ?? '-'}${caller};`;
}

/**
 * Writes bytes the way msg_add_ext_text does into a bounded buffer: escapes via scnprintf (which
 * leaves room for a terminator, so a cut escape keeps only what fits before the last byte) and
 * plain bytes via append_char (which may fill the buffer completely).
 */
class BoundedWriter {
  private readonly buf: Buffer;
  len = 0;
  constructor(size: number) {
    this.buf = Buffer.alloc(size);
  }
  ascii(s: string): void {
    this.raw(Buffer.from(s, 'latin1'));
  }
  /** scnprintf of already formatted text: at most size - len - 1 bytes. */
  private printf(b: Uint8Array): void {
    const room = this.buf.length - this.len - 1;
    if (room <= 0) return;
    const n = Math.min(room, b.length);
    this.buf.set(b.subarray(0, n), this.len);
    this.len += n;
  }
  char(c: number): void {
    if (this.len < this.buf.length) this.buf[this.len++] = c;
  }
  raw(b: Uint8Array): void {
    this.printf(b);
  }
  /** msg_add_ext_text: escaped bytes then the end character. */
  extText(b: Uint8Array, endc: number): void {
    const esc = escapeKernel(b);
    if (esc.length === b.length) {
      for (let i = 0; i < esc.length && this.len < this.buf.length; i++) this.buf[this.len++] = esc[i];
    } else {
      // Escapes are scnprintf'd, plain bytes appended: walk the escaped output in tokens.
      let i = 0;
      while (i < esc.length) {
        if (esc[i] === 0x5c) {
          this.printf(esc.subarray(i, i + 4));
          i += 4;
        } else this.char(esc[i++]);
      }
    }
    this.char(endc);
  }
  result(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

/**
 * The extended record text `M` (what a read of /dev/kmsg returns and what an extended console is
 * handed): header, escaped text, LF, dictionary lines; bounded by the kernel's output buffer.
 */
export function buildExtendedRecord(r: KernelRecord, kernel: KernelBehaviour = 'latest'): Buffer {
  validateRecord(r);
  const w = new BoundedWriter(LIMITS[kernel].extendedBuffer);
  w.ascii(extendedHeader(r));
  w.extText(storedText(r, kernel), 0x0a);
  for (const [key, value] of [['SUBSYSTEM', r.subsystem], ['DEVICE', r.device]] as const) {
    const v = toBytes(value);
    if (v.length === 0) continue;
    w.extText(new Uint8Array(0), 0x20);
    w.extText(Buffer.from(key, 'latin1'), 0x3d);
    w.extText(v, 0x0a);
  }
  return w.result();
}

/** The appended extra data `X`: userdata lines, then sysdata in its fixed order. Not escaped. */
export function buildExtraData(o: FormatOptions): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of o.userdata ?? []) if (v.length > 0) parts.push(Buffer.from(` ${k}=${v}\n`, 'utf8'));
  const sd = o.sysdata;
  if (sd) {
    if (sd.cpu !== undefined) parts.push(Buffer.from(` cpu=${sd.cpu}\n`));
    if (sd.taskname !== undefined) parts.push(Buffer.from(` taskname=${sd.taskname}\n`, 'utf8'));
    if (sd.release !== undefined) parts.push(Buffer.from(` release=${sd.release}\n`, 'utf8'));
    if (sd.msgid !== undefined) parts.push(Buffer.from(` msgid=${sd.msgid}\n`));
  }
  return Buffer.concat(parts);
}

/** Splits an extended record and its extra data into netconsole datagrams (§3.6–3.8). */
export function fragmentExtended(msg: Buffer, extra: Buffer, release: string | undefined, kernel: KernelBehaviour): Buffer[] {
  const rel = release !== undefined ? Buffer.from(`${release},`, 'utf8') : Buffer.alloc(0);
  const total = rel.length + msg.length + extra.length;
  if (total <= MAX_PRINT_CHUNK) {
    const out = Buffer.concat([rel, msg, extra]);
    if (kernel === '6.9' && total === MAX_PRINT_CHUNK && (rel.length > 0 || extra.length > 0)) {
      // 6.6…7.0 scnprintf into a 1000-byte buffer keeps room for a terminator: with extra data the
      // last byte is lost (999 sent), with only the release prefix the 1000th byte sent is NUL.
      if (extra.length > 0) return [out.subarray(0, MAX_PRINT_CHUNK - 1)];
      out[MAX_PRINT_CHUNK - 1] = 0;
    }
    return [out];
  }
  const semi = msg.indexOf(0x3b);
  if (semi < 0) return []; // the kernel WARNs and sends nothing
  const header = msg.subarray(0, semi);
  const body = msg.subarray(semi + 1);
  const data = Buffer.concat([body, extra]);
  const out: Buffer[] = [];
  let off = 0;
  while (off < data.length) {
    const prefix = Buffer.concat([rel, header, Buffer.from(`,ncfrag=${off}/${data.length};`, 'latin1')]);
    const room = MAX_PRINT_CHUNK - prefix.length;
    if (room <= 0) return out;
    if (kernel === '6.9' && extra.length > 0 && off < body.length && body.length - off === room) {
      // 6.9: the body fills this datagram exactly while userdata is pending; the next step asks for
      // a zero-length chunk, hits WARN_ON_ONCE and returns before sending anything more.
      return out;
    }
    const n = Math.min(data.length - off, room);
    out.push(Buffer.concat([prefix, data.subarray(off, off + n)]));
    off += n;
  }
  return out;
}

/** print_time: `[%5lu.%06lu]`. */
function legacyTime(tsUsec: number | bigint): string {
  const us = BigInt(tsUsec);
  return `[${String(us / 1000000n).padStart(5, ' ')}.${String(us % 1000000n).padStart(6, '0')}]`;
}

/** info_print_prefix: `<PRI>`, time, caller, then one space if time or caller was printed. */
function legacyPrefix(r: KernelRecord, o: FormatOptions): Buffer {
  let s = '';
  if (o.syslogPrefix) s += `<${recordPri(r)}>`;
  const time = o.timestamps ?? true;
  if (time) s += legacyTime(r.tsUsec);
  if (r.caller !== undefined) s += `[${r.caller.padStart(6, ' ')}]`;
  if (time || r.caller !== undefined) s += ' ';
  return Buffer.from(s, 'latin1');
}

/**
 * record_print_text: every line of the text gets the prefix and ends in LF; lines that do not fit
 * the buffer (which also keeps room for a terminator) are dropped, a single over-long line is cut.
 */
export function buildLegacyText(r: KernelRecord, o: FormatOptions): Buffer {
  validateRecord(r);
  const kernel = o.kernel ?? 'latest';
  const bufSize = LIMITS[kernel].legacyBuffer;
  let text = storedText(r, kernel);
  const prefix = legacyPrefix(r, o);
  const parts: Uint8Array[] = [];
  let len = 0;
  let truncated = false;
  for (;;) {
    const nl = text.indexOf(0x0a);
    let lineLen: number;
    if (nl >= 0) lineLen = nl;
    else {
      if (truncated) break;
      lineLen = text.length;
    }
    if (len + prefix.length + text.length + 2 > bufSize) {
      if (len + prefix.length + lineLen + 2 > bufSize) break;
      text = text.subarray(0, bufSize - len - prefix.length - 2);
      truncated = true;
      // The cut may have removed the newline this line ended with.
      if (lineLen > text.length) lineLen = text.length;
    }
    parts.push(prefix, text.subarray(0, lineLen), Buffer.from([0x0a]));
    len += prefix.length + lineLen + 1;
    if (text.length === lineLen) break;
    text = text.subarray(lineLen + 1);
  }
  return Buffer.concat(parts);
}

/** Cuts console text into MAX_PRINT_CHUNK pieces at plain byte offsets (write_msg). */
export function chunkLegacy(text: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < text.length; off += MAX_PRINT_CHUNK) out.push(text.subarray(off, off + MAX_PRINT_CHUNK));
  return out;
}

/** The datagram payloads one netconsole target sends for one record. */
export function formatRecord(r: KernelRecord, o: FormatOptions): Buffer[] {
  validateFormatOptions(o);
  const kernel = o.kernel ?? 'latest';
  if (o.format === 'legacy') return chunkLegacy(buildLegacyText(r, o));
  return fragmentExtended(buildExtendedRecord(r, kernel), buildExtraData(o), o.release, kernel);
}
