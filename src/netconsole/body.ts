// The data after an extended header's `;` (fragments already joined): `text LF` then
// ` KEY=value LF` lines: the dictionary (SUBSYSTEM, DEVICE: escaped like the text), then userdata
// and sysdata (raw). Splitting happens on the escaped form, where the first real LF ends the text.
import { unescapeKernel } from './escape.js';
import { bytesToText } from './text.js';

const LF = 0x0a;
const ESCAPED_KEYS = new Set(['SUBSYSTEM', 'DEVICE']);

export interface RecordBody {
  text: string;
  fields: Record<string, string>;
}

/** Adds key=value, keeping an earlier value of the same key (a user `cpu` and sysdata `cpu` may both appear). */
function addField(fields: Record<string, string>, key: string, value: string): void {
  if (!(key in fields)) { fields[key] = value; return; }
  let n = 2;
  while (`${key}#${n}` in fields) n++;
  fields[`${key}#${n}`] = value;
}

export function parseRecordBody(data: Uint8Array): RecordBody {
  let nl = data.indexOf(LF);
  if (nl < 0) nl = data.length;
  const text = bytesToText(unescapeKernel(data.subarray(0, nl)));
  const fields: Record<string, string> = {};
  let pos = nl + 1;
  while (pos < data.length) {
    let end = data.indexOf(LF, pos);
    if (end < 0) end = data.length;
    let line = data.subarray(pos, end);
    pos = end + 1;
    if (line.length === 0) continue;
    if (line[0] === 0x20) line = line.subarray(1);
    const eq = line.indexOf(0x3d);
    if (eq <= 0) { addField(fields, 'extra', bytesToText(line)); continue; }
    const key = bytesToText(line.subarray(0, eq));
    const rawValue = line.subarray(eq + 1);
    addField(fields, key, bytesToText(ESCAPED_KEYS.has(key) ? unescapeKernel(rawValue) : rawValue));
  }
  return { text, fields };
}
