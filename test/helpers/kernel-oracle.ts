// What a real kernel's datagrams must decode to, worked out without the receiver's code and with
// what the harness configured: the userdata each target was given is known, so it is stripped off
// the end of every record, and what is left is printk's own output (header, escaped text, LF,
// dictionary). A record whose printk output is exactly 2048 bytes without a whole text line was cut.
// Used for the frozen 6.12 captures and for the live harness runs (test/kernel-e2e.test.ts).
import { bytesToText } from '../../src/netconsole/text.js';

export interface ExpectedExtended {
  seq: number;
  flags: string;
  release: string | null;
  text: string;
  /** Dictionary lines, then userdata entries. */
  fields: Record<string, string>;
  truncated: boolean;
}

export interface ExpectedLegacy { ts_usec: number | null; text: string }

const HEADER = /^(?:([^,;]*[^\d,;][^,;]*),)?(\d+),(\d+),(\d+),([^,;])(?:,ncfrag=(\d+)\/(\d+))?;/;

function unescapeText(esc: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < esc.length; i++) {
    const m = /^\\x([0-9a-f]{2})/.exec(esc.slice(i, i + 4));
    if (m) { out.push(parseInt(m[1], 16)); i += 3; } else out.push(esc.charCodeAt(i));
  }
  return Buffer.from(out);
}

/** Extended datagrams of one target, in arrival order → its records in order of first arrival. */
export function expectedExtended(payloads: Buffer[], userdata: ReadonlyArray<readonly [string, string]>): ExpectedExtended[] {
  const suffix = userdata.filter(([, v]) => v !== '').map(([k, v]) => ` ${k}=${v}\n`).join('');
  const sets = new Map<number, { head: RegExpExecArray; total: number; parts: Map<number, string>; done: boolean }>();
  const order: number[] = [];
  const bodies = new Map<number, { head: RegExpExecArray; data: string }>();
  for (const p of payloads) {
    const s = p.toString('latin1');
    const m = HEADER.exec(s);
    if (!m) throw new Error(`not an extended datagram: ${JSON.stringify(s.slice(0, 80))}`);
    const seq = Number(m[3]);
    const data = s.slice(m[0].length);
    if (m[6] === undefined) {
      order.push(seq);
      bodies.set(seq, { head: m, data });
      continue;
    }
    let set = sets.get(seq);
    if (!set) {
      set = { head: m, total: Number(m[7]), parts: new Map(), done: false };
      sets.set(seq, set);
      order.push(seq);
    }
    set.parts.set(Number(m[6]), data);
    const offs = [...set.parts.keys()].sort((a, b) => a - b);
    const joined = offs.map((o) => set!.parts.get(o)).join('');
    if (joined.length === set.total) bodies.set(seq, { head: set.head, data: joined });
  }
  return order.map((seq) => {
    const b = bodies.get(seq);
    if (!b) throw new Error(`seq ${seq}: fragments missing`);
    if (!b.data.endsWith(suffix)) throw new Error(`seq ${seq}: does not end with the configured userdata`);
    const printk = b.data.slice(0, b.data.length - suffix.length);
    const [, release, pri, , ts, flag] = b.head;
    const headerLen = `${pri},${seq},${ts},${flag};`.length;
    const nl = printk.indexOf('\n');
    let textEsc = nl < 0 ? printk : printk.slice(0, nl);
    const full = headerLen + printk.length === 2048;
    // The kernel's escapes are `\x` + two lower-case hex digits. An unfinished one at a cut ends
    // the text, or is followed by the single plain byte that still fitted (`\x9E`: `\x9`, `E`).
    const unfinished = nl < 0
      ? /\\(x[0-9a-f]?)?$|\\x[0-9a-f](?=[^0-9a-f]$)|\\x(?=[^0-9a-f]$)|\\(?=[^x]$)/.exec(textEsc)
      : /\\(x[0-9a-f]?)?$/.exec(textEsc);
    const truncated = full && (nl < 0 || unfinished !== null || !printk.endsWith('\n'));
    if (truncated && unfinished) textEsc = textEsc.slice(0, unfinished.index) + textEsc.slice(unfinished.index + unfinished[0].length);
    const fields: Record<string, string> = {};
    if (nl >= 0) {
      for (const line of printk.slice(nl + 1).split('\n')) {
        const d = /^ (SUBSYSTEM|DEVICE)=(.*)$/s.exec(line);
        if (d) fields[d[1]] = bytesToText(unescapeText(d[2]));
        else if (line !== '') throw new Error(`seq ${seq}: unexpected line after the text: ${JSON.stringify(line)}`);
      }
    }
    for (const [k, v] of userdata) if (v !== '') fields[k] = v;
    return { seq, flags: flag, release: release ?? null, text: bytesToText(unescapeText(textEsc)), fields, truncated };
  });
}

/** A basic target's datagrams → its lines: `[sssss.uuuuuu] text` each (printk.time on). */
export function expectedLegacy(payloads: Buffer[]): ExpectedLegacy[] {
  const all = Buffer.concat(payloads);
  const out: ExpectedLegacy[] = [];
  let start = 0;
  while (start < all.length) {
    let end = all.indexOf(0x0a, start);
    if (end < 0) end = all.length;
    const line = all.subarray(start, end);
    start = end + 1;
    const m = /^\[\s*(\d+)\.(\d{6})\] /.exec(line.toString('latin1'));
    out.push(m ? { ts_usec: Number(m[1]) * 1e6 + Number(m[2]), text: bytesToText(line.subarray(m[0].length)) } : { ts_usec: null, text: bytesToText(line) });
  }
  return out;
}
