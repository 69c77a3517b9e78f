// Datagram → legacy or extended form (spec §3.10). Never throws: anything that does not look
// like an extended header is legacy text, which is what a basic netconsole target sends.
import type { ExtendedHeader, ParsedDatagram } from './types.js';

/** The header ends at the first `;`; a real one (release + 4 numbers + caller + ncfrag) is short. */
const MAX_HEADER = 512;
const SEMI = 0x3b;

function isDigits(s: string): boolean {
  if (s.length === 0 || s.length > 20) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** A release string (`uname -r`) is printable ASCII without spaces, commas or `=`. */
function isRelease(s: string): boolean {
  if (s.length === 0 || s.length > 64) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x3d) return false;
  }
  return true;
}

/** Strips the trailing NULs some kernels leave at byte 1000 (spec §3.8). */
export function stripTrailingNuls(b: Uint8Array): Uint8Array {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  return end === b.length ? b : b.subarray(0, end);
}

/** Length of the header as printk wrote it, `pri,seq,ts,flag[,k=v…];`: without release and ncfrag. */
export function printkHeaderLength(h: ExtendedHeader): number {
  let n = `${h.pri},${h.seq},${h.tsUsec},${h.flag}`.length + 1;
  for (const k in h.fields) n += 2 + k.length + h.fields[k].length;
  return n;
}

/** Parses the text before `;`; null when it is not an extended header. */
export function parseExtendedHeader(header: string): { header: ExtendedHeader; recordKey: string } | null {
  const tokens = header.split(',');
  let i = 0;
  let release: string | null = null;
  if (!isDigits(tokens[0])) {
    if (!isRelease(tokens[0])) return null;
    release = tokens[0];
    i = 1;
  }
  if (tokens.length < i + 4) return null;
  const [priS, seqS, tsS, flag] = [tokens[i], tokens[i + 1], tokens[i + 2], tokens[i + 3]];
  if (!isDigits(priS) || !isDigits(seqS) || !isDigits(tsS)) return null;
  // The flag is one character (`-`, `c`, historically `+`); allow a short unknown token, not a k=v.
  if (flag.length === 0 || flag.length > 4 || flag.includes('=')) return null;
  const fields: Record<string, string> = {};
  let frag: ExtendedHeader['frag'] = null;
  let keyEnd = header.length;
  let pos = tokens.slice(0, i + 4).join(',').length;
  for (let k = i + 4; k < tokens.length; k++) {
    const tok = tokens[k];
    const eq = tok.indexOf('=');
    if (eq <= 0) return null; // after the flag only key=value is allowed (dev-kmsg ABI)
    const key = tok.slice(0, eq);
    const value = tok.slice(eq + 1);
    if (key === 'ncfrag') {
      const slash = value.indexOf('/');
      const offS = value.slice(0, slash);
      const totS = value.slice(slash + 1);
      if (slash < 0 || !isDigits(offS) || !isDigits(totS)) return null;
      frag = { off: Number(offS), total: Number(totS) };
      keyEnd = pos; // the fragment key is everything before `,ncfrag=`
    } else {
      fields[key] = value;
    }
    pos += 1 + tok.length;
  }
  const pri = Number(priS);
  return {
    header: { release, pri, seq: Number(seqS), tsUsec: Number(tsS), flag, fields, frag },
    recordKey: header.slice(0, keyEnd),
  };
}

/**
 * The common header `pri,seq,ts,flag` (no release, no extra fields) read straight from the bytes:
 * this is every datagram of a busy receiver, so it avoids building strings. null means "take the
 * general path" (release prefix, caller=, ncfrag=, anything unusual), not "not a header".
 */
function parsePlainHeader(b: Uint8Array, semi: number): ExtendedHeader | null {
  let pos = 0;
  const nums = [0, 0, 0];
  for (let k = 0; k < 3; k++) {
    const start = pos;
    let v = 0;
    while (pos < semi && b[pos] >= 0x30 && b[pos] <= 0x39) v = v * 10 + (b[pos++] - 0x30);
    const len = pos - start;
    if (len === 0 || len > 15 || b[pos] !== 0x2c) return null; // 15 digits: exact in a double
    nums[k] = v;
    pos++;
  }
  if (semi - pos !== 1) return null; // a one-character flag and nothing after it
  const flagByte = b[pos];
  const flag = flagByte === 0x2d ? '-' : flagByte === 0x63 ? 'c' : String.fromCharCode(flagByte);
  if (flag === ',' || flag === '=') return null;
  return { release: null, pri: nums[0], seq: nums[1], tsUsec: nums[2], flag, fields: NO_FIELDS, frag: null };
}

/** Shared by every header without extra fields; never mutated. */
const NO_FIELDS: Record<string, string> = Object.freeze({}) as Record<string, string>;

export function parseDatagram(payload: Uint8Array): ParsedDatagram {
  const b = stripTrailingNuls(payload);
  const limit = Math.min(b.length, MAX_HEADER);
  let semi = -1;
  for (let i = 0; i < limit; i++) {
    const c = b[i];
    if (c === SEMI) { semi = i; break; }
    // Headers are printable ASCII; a newline or control byte before `;` means plain text.
    if (c < 0x20 || c >= 0x7f) break;
  }
  if (semi > 0) {
    const plain = parsePlainHeader(b, semi);
    if (plain) return { kind: 'extended', header: plain, recordKey: '', data: b.subarray(semi + 1) };
    const headerText = Buffer.from(b.buffer, b.byteOffset, semi).toString('latin1');
    const parsed = parseExtendedHeader(headerText);
    if (parsed) return { kind: 'extended', header: parsed.header, recordKey: parsed.recordKey, data: b.subarray(semi + 1) };
  }
  return { kind: 'legacy', data: b };
}
