// A stored record as an RFC 5424 syslog message, pure (no sockets, no clock):
//   <PRI>1 TIMESTAMP HOSTNAME kernel - - [netconsole@32473 …][netconsole-fields@32473 …] MSG
// Choices (README, "Forwarding"):
// - PRI from the record's facility and level; a record without them (legacy netconsole has no
//   `<N>`) is kern.notice (5): netconsole only carries the kernel log, and notice is the severity
//   RFC 3164 §4.3.3 gives a message whose PRI is unknown. Out-of-range parts count as missing.
// - TIMESTAMP: received_at, RFC 3339 with milliseconds, UTC. HOSTNAME: the host's display name,
//   every character outside printable US-ASCII replaced by `_`, at most 255. APP-NAME `kernel`;
//   PROCID and MSGID are `-` (a kernel record has no process, and no message type to name).
// - Structured data under our own SD-IDs in the private `name@enterprise` form; 32473 is the
//   enterprise number IANA reserves for documentation and examples (RFC 5612), not one assigned to
//   this project. `netconsole@32473` holds id, source, boot, seq, ts_usec, flags (null or empty
//   ones are left out) and truncated="1" for a record the kernel cut; the record's fields (dictionary, userdata) go in an element of their own,
//   `netconsole-fields@32473`, so a field can never collide with those names.
// - MSG: the text as UTF-8 without a BOM by default (MSG-ANY): receivers such as rsyslog keep a
//   BOM as part of the text. `bom` adds it (MSG-UTF8). Control characters are sent as they are.
import type { StoredMessage } from '../store/types.js';

export const SD_ID = 'netconsole@32473';
export const FIELDS_SD_ID = 'netconsole-fields@32473';
/** PRI of a record without facility and level: kern.notice. */
export const DEFAULT_PRI = 5;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const SPACE = Buffer.from(' ');

export interface FormatOptions {
  /** Start MSG with the UTF-8 BOM (RFC 5424 MSG-UTF8). */
  bom?: boolean;
  /** Longest message in octets (0: no limit); longer ones are truncated, see formatRfc5424. */
  maxBytes?: number;
}

export interface Formatted {
  bytes: Buffer;
  truncated: boolean;
}

export function priOf(facility: number | null, level: number | null): number {
  const f = Number.isInteger(facility) && facility! >= 0 && facility! <= 23 ? facility! : 0;
  const l = Number.isInteger(level) && level! >= 0 && level! <= 7 ? level! : 5;
  return f * 8 + l;
}

/** HOSTNAME = NILVALUE / 1*255PRINTUSASCII. */
export function syslogHostname(name: string): string {
  if (name === lastHost) return lastHostname; // rows come in runs of one host
  const s = name.replace(/[^\x21-\x7e]/g, '_').slice(0, 255);
  lastHost = name;
  lastHostname = s === '' ? '-' : s;
  return lastHostname;
}
let lastHost = '';
let lastHostname = '-';

const SD_NAME = /^[\x21\x23-\x3c\x3e-\x5c\x5e-\x7e]{1,32}$/;
/** SD-NAME = 1*32PRINTUSASCII except '=', SP, ']', '"'. */
export function sdName(key: string): string {
  if (SD_NAME.test(key)) return key;
  const s = key.replace(/[^\x21-\x7e]|[="\]]/g, '_').slice(0, 32);
  return s === '' ? '_' : s;
}

const NEEDS_ESCAPE = /["\\\]]/;
/** PARAM-VALUE: UTF-8 with '"', '\' and ']' escaped by a backslash. */
export function sdValue(value: string): string {
  return NEEDS_ESCAPE.test(value) ? value.replace(/["\\\]]/g, '\\$&') : value;
}

function timestamp(ms: number): string {
  return Number.isFinite(ms) ? new Date(Math.floor(ms)).toISOString() : '-';
}

/** The structured data of a record: our element, then the fields' (when it has any). */
export function structuredData(row: StoredMessage): { own: string; fields: string } {
  let own = `[${SD_ID} id="${row.id}" source="${sdValue(row.source)}" boot="${row.boot}"`;
  if (row.seq !== null) own += ` seq="${row.seq}"`;
  if (row.ts_usec !== null) own += ` ts_usec="${row.ts_usec}"`;
  if (row.flags) own += ` flags="${sdValue(row.flags)}"`;
  if (row.truncated) own += ' truncated="1"';
  let fields = '';
  for (const k in row.fields) fields += ` ${sdName(k)}="${sdValue(String(row.fields[k]))}"`;
  return { own: own + ']', fields: fields ? `[${FIELDS_SD_ID}${fields}]` : '' };
}

function header(row: StoredMessage): string {
  return `<${priOf(row.facility, row.level)}>1 ${timestamp(row.received_at)} ${syslogHostname(row.host)} kernel - - `;
}

/** The whole message as a string (no limit): what a transport without one encodes in one go. */
export function rfc5424Text(row: StoredMessage, bom = false): string {
  const sd = structuredData(row);
  const text = bom ? `\ufeff${row.text}` : row.text;
  return header(row) + sd.own + sd.fields + (text ? ` ${text}` : '');
}

/**
 * The message's octets (no transport framing). With `maxBytes`, a longer message is cut as RFC 5424
 * §6.1 and RFC 5426 §3.2 guide: first the fields' element goes, then MSG is cut at its end, never
 * inside a UTF-8 character, so what remains is still a well-formed message.
 */
export function formatRfc5424(row: StoredMessage, opts: FormatOptions = {}): Formatted {
  const max = opts.maxBytes ?? 0;
  const whole = Buffer.from(rfc5424Text(row, opts.bom), 'utf8');
  if (max === 0 || whole.length <= max) return { bytes: whole, truncated: false };
  const head = header(row);
  const sd = structuredData(row);
  const bom = opts.bom ? BOM : null;
  const msg = Buffer.from(row.text, 'utf8');
  // MSG follows a space; an empty text is no MSG at all (unless a BOM is asked for).
  const hasMsg = msg.length > 0 || bom !== null;
  const tailLen = hasMsg ? 1 + (bom?.length ?? 0) + msg.length : 0;
  let prefix = Buffer.from(head + sd.own + sd.fields, 'utf8');
  let truncated = false;
  if (prefix.length + tailLen > max) {
    truncated = true;
    if (sd.fields) prefix = Buffer.from(head + sd.own, 'utf8');
  }
  if (!hasMsg) return { bytes: truncated ? prefix.subarray(0, max) : prefix, truncated };
  let body = msg;
  if (prefix.length + tailLen > max) {
    let keep = Math.max(0, max - prefix.length - 1 - (bom?.length ?? 0));
    while (keep > 0 && (msg[keep]! & 0xc0) === 0x80) keep--; // not inside a UTF-8 sequence
    body = msg.subarray(0, keep);
  }
  const parts = bom ? [prefix, SPACE, bom, body] : [prefix, SPACE, body];
  const bytes = Buffer.concat(parts);
  return { bytes: bytes.length > max ? bytes.subarray(0, max) : bytes, truncated };
}

/** RFC 6587 §3.4.1 octet counting: `MSG-LEN SP SYSLOG-MSG`, as the two parts (to concatenate many frames at once). */
export function octetCounted(msg: Buffer): [Buffer, Buffer] {
  return [Buffer.from(`${msg.length} `), msg];
}

/** The same for a message given as a string: MSG-LEN counts its UTF-8 octets. */
export function octetCountedText(msg: string): string {
  return `${Buffer.byteLength(msg, 'utf8')} ${msg}`;
}
