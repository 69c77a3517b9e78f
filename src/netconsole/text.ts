// Bytes to display text without losing anything: valid UTF-8 is decoded, every byte that is not
// part of a valid sequence becomes the four characters `\xHH`. A literal backslash stays as it is.
// A leading byte-order mark is kept as U+FEFF (it is text the sender sent).

import { isUtf8 } from 'node:buffer';

function isAscii(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] >= 0x80) return false;
  return true;
}

/** The code point of the valid UTF-8 sequence starting at i (lead byte >= 0x80), or -1 if none starts there. */
function codePointAt(b: Uint8Array, i: number): number {
  const c = b[i];
  let n: number;
  let min: number;
  if (c >= 0xc2 && c <= 0xdf) { n = 2; min = 0x80; }
  else if (c >= 0xe0 && c <= 0xef) { n = 3; min = 0x800; }
  else if (c >= 0xf0 && c <= 0xf4) { n = 4; min = 0x10000; }
  else return -1;
  if (i + n > b.length) return -1;
  let cp = c & (0xff >> (n + 1));
  for (let k = 1; k < n; k++) {
    const d = b[i + k];
    if ((d & 0xc0) !== 0x80) return -1;
    cp = (cp << 6) | (d & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
  return cp;
}

const HEX = '0123456789abcdef';
/** UTF-16 scratch for the mixed path, reused (grown when needed): a byte becomes at most 4 units. */
let units = new Uint16Array(4096);
let unitBytes = Buffer.from(units.buffer);

export function bytesToText(b: Uint8Array): string {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
  if (isAscii(b)) return buf.toString('latin1');
  if (isUtf8(b)) return buf.toString('utf8');
  // Mixed bytes (hostile or binary input lands here): one pass into the scratch and one native
  // decode, no exception and no Buffer per run (that cost some 100 µs per random datagram).
  if (units.length < b.length * 4) {
    units = new Uint16Array(b.length * 4);
    unitBytes = Buffer.from(units.buffer);
  }
  const u = units;
  let n = 0;
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    if (c < 0x80) { u[n++] = c; i++; continue; }
    const cp = codePointAt(b, i);
    if (cp < 0) {
      u[n++] = 0x5c; u[n++] = 0x78; u[n++] = HEX.charCodeAt(c >> 4); u[n++] = HEX.charCodeAt(c & 15);
      i++;
    } else if (cp >= 0x10000) {
      u[n++] = 0xd800 + ((cp - 0x10000) >> 10); u[n++] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
      i += 4;
    } else {
      u[n++] = cp;
      i += cp < 0x800 ? 2 : 3;
    }
  }
  return unitBytes.toString('utf16le', 0, n * 2);
}
