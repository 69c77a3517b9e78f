// A stored record as one dmesg-like line: `[host] [   12.345678] text`, optionally coloured the way
// `dmesg --color` does it (time green, a leading "subsystem:" brown, text by severity).
import { dmesgPrefix } from '../web/time-param.js';
import type { MessageJson } from '../web/types.js';

const SGR = {
  host: '36',
  time: '32',
  subsys: '33',
  reset: '0',
} as const;

/** dmesg's palette by level: emerg/alert reverse red, crit bold red, err red, warn bold, the rest plain. */
const LEVEL_SGR: (string | null)[] = ['7;31', '7;31', '1;31', '31', '1', null, null, null];

const paint = (code: string, s: string) => `\x1b[${code}m${s}\x1b[${SGR.reset}m`;

/**
 * The text is the remote kernel's (and anyone who can send it UDP): control characters, C1 codes
 * and bidi overrides are shown as `\xHH`/`\u{…}` so they cannot move the cursor or restyle the
 * terminal. Tabs and newlines stay.
 */
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
export function printable(s: string): string {
  return s.replace(UNSAFE, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
  });
}

/** A leading `usb 1-1: `-like prefix, as dmesg colours it: one or two words before a colon. */
const SUBSYS = /^([^\s:][^\s]{0,47}?(?: [^\s:][^\s]{0,47}?)?): /;

export function formatLine(m: MessageJson, color: boolean): string {
  const host = `[${printable(m.host)}] `;
  const time = dmesgPrefix(m.ts_usec);
  const lines = printable(m.text).split('\n');
  // Continuation lines of a multi-line record line up under its text.
  const indent = ' '.repeat(host.length + time.length);
  if (!color) return host + time + lines.join('\n' + indent);
  const level = m.level === null ? null : LEVEL_SGR[m.level] ?? null;
  const body = (s: string) => (level === null || s === '' ? s : paint(level, s));
  let first = lines[0]!;
  let subsys = '';
  const sm = SUBSYS.exec(first);
  if (sm) {
    subsys = paint(SGR.subsys, sm[1]!) + ': ';
    first = first.slice(sm[0].length);
  }
  const rest = lines.slice(1).map((l) => '\n' + indent + body(l)).join('');
  return paint(SGR.host, host.trimEnd()) + ' ' + (time ? paint(SGR.time, time.trimEnd()) + ' ' : '') + subsys + body(first) + rest;
}
