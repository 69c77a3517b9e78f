// Parser for /dev/kmsg records (Documentation/ABI/testing/dev-kmsg): `pri,seq,ts_usec,flag[,k=v…];text`
// + LF, then dictionary lines ` KEY=value` + LF. Text and dictionary values are escaped by the kernel
// (`\xHH`) and unescaped here, so a record parsed and re-formatted gives the kernel's bytes back.
// Pure: works on bytes, the caller does the reading.
import { unescapeKernel } from './escape.js';
import type { KernelRecord } from './format.js';

export interface KmsgRecord extends KernelRecord {
  pri: number;
  seq: number | bigint;
  tsUsec: number | bigint;
  flag: string;
  /** Header fields after the flag (caller=…, unknown future keys), in order. */
  fields: Record<string, string>;
  /** Dictionary lines other than SUBSYSTEM/DEVICE (pre-5.10 kernels), unescaped. */
  otherDict: Record<string, string>;
}

export class KmsgParseError extends Error {}

const DIGITS = /^\d+$/;

/** Start of a line for an error message: at most 60 characters, never a line break. */
function snippet(b: Uint8Array): string {
  const s = Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
  return JSON.stringify(s.split(/[\r\n]/)[0].slice(0, 60));
}

function toUint(s: string, what: string): number | bigint {
  if (!DIGITS.test(s)) throw new KmsgParseError(`invalid ${what} ${JSON.stringify(s.slice(0, 30))} in kmsg header`);
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : BigInt(s);
}

/** Parses the header `pri,seq,ts_usec,flag[,k=v…]` (without the `;`). */
function parseHeader(h: string): Pick<KmsgRecord, 'pri' | 'seq' | 'tsUsec' | 'flag' | 'fields' | 'caller'> {
  const parts = h.split(',');
  if (parts.length < 4) throw new KmsgParseError(`kmsg header ${JSON.stringify(h.slice(0, 60))} has fewer than 4 fields`);
  const pri = toUint(parts[0], 'pri');
  if (typeof pri !== 'number' || pri > 2047) throw new KmsgParseError(`invalid pri ${JSON.stringify(parts[0].slice(0, 30))} in kmsg header`);
  const flag = parts[3];
  if (flag.length !== 1) throw new KmsgParseError(`invalid flag ${JSON.stringify(flag.slice(0, 30))} in kmsg header: must be one character`);
  const fields: Record<string, string> = {};
  let caller: string | undefined;
  for (const f of parts.slice(4)) {
    const eq = f.indexOf('=');
    const key = eq < 0 ? f : f.slice(0, eq);
    const value = eq < 0 ? '' : f.slice(eq + 1);
    fields[key] = value;
    if (key === 'caller' && /^[TC]\d+$/.test(value)) caller = value;
  }
  return { pri, seq: toUint(parts[1], 'seq'), tsUsec: toUint(parts[2], 'ts_usec'), flag, fields, caller };
}

/** Parses one record as one read() of /dev/kmsg returns it (a trailing LF is optional). */
export function parseKmsgRecord(buf: Uint8Array): KmsgRecord {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const semi = b.indexOf(0x3b);
  if (semi < 0) throw new KmsgParseError(`kmsg record without ';': ${snippet(b)}`);
  const head = parseHeader(b.subarray(0, semi).toString('latin1'));
  let nl = b.indexOf(0x0a, semi + 1);
  if (nl < 0) nl = b.length;
  const rec: KmsgRecord = { ...head, text: unescapeKernel(b.subarray(semi + 1, nl)), otherDict: {} };
  if (rec.caller === undefined) delete rec.caller;
  let pos = nl + 1;
  while (pos < b.length) {
    let end = b.indexOf(0x0a, pos);
    if (end < 0) end = b.length;
    const line = b.subarray(pos, end);
    pos = end + 1;
    if (line.length === 0) continue;
    if (line[0] !== 0x20) throw new KmsgParseError(`kmsg dictionary line does not start with a space: ${snippet(line)}`);
    const eq = line.indexOf(0x3d);
    if (eq < 0) throw new KmsgParseError(`kmsg dictionary line without '=': ${snippet(line)}`);
    const key = unescapeKernel(line.subarray(1, eq)).toString('latin1');
    const value = unescapeKernel(line.subarray(eq + 1));
    if (key === 'SUBSYSTEM') rec.subsystem = value;
    else if (key === 'DEVICE') rec.device = value;
    else rec.otherDict[key] = value.toString('utf8');
  }
  return rec;
}

/**
 * Splits a text dump in /dev/kmsg format (what `cat /dev/kmsg` prints) into records: a line not
 * starting with a space starts a record, lines starting with a space are its dictionary. Empty lines
 * are skipped. Errors name the line.
 */
export function parseKmsgDump(buf: Uint8Array): KmsgRecord[] {
  const out: KmsgRecord[] = [];
  for (const { start, end, line } of kmsgDumpChunks(buf)) {
    try {
      out.push(parseKmsgRecord(buf.subarray(start, end)));
    } catch (err) {
      throw new KmsgParseError(`line ${line}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** Byte ranges of the records of a dump, each with its first line number (1-based). */
export function* kmsgDumpChunks(buf: Uint8Array): Generator<{ start: number; end: number; line: number }> {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  let start = -1;
  let startLine = 0;
  let pos = 0;
  let line = 0;
  while (pos < b.length) {
    line++;
    let end = b.indexOf(0x0a, pos);
    if (end < 0) end = b.length;
    const empty = end === pos || (end === pos + 1 && b[pos] === 0x0d);
    if (!empty && b[pos] !== 0x20) {
      if (start >= 0) yield { start, end: pos, line: startLine };
      start = pos;
      startLine = line;
    } else if (!empty && start < 0) {
      throw new KmsgParseError(`line ${line}: dictionary line before any record`);
    }
    pos = end + 1;
  }
  if (start >= 0) yield { start, end: b.length, line: startLine };
}
