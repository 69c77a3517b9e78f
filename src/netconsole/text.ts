// Bytes to display text without losing anything: valid UTF-8 is decoded, every byte that is not
// part of a valid sequence becomes the four characters `\xHH`, so the original bytes can be
// recovered (see textToBytes). A literal backslash stays as it is.

const decoder = new TextDecoder('utf-8', { fatal: true });

function isAscii(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] >= 0x80) return false;
  return true;
}

/** Length of the valid UTF-8 sequence starting at i, or 0 if the byte there starts none. */
function utf8SeqLen(b: Uint8Array, i: number): number {
  const c = b[i];
  let n: number;
  let min: number;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) { n = 2; min = 0x80; }
  else if (c >= 0xe0 && c <= 0xef) { n = 3; min = 0x800; }
  else if (c >= 0xf0 && c <= 0xf4) { n = 4; min = 0x10000; }
  else return 0;
  if (i + n > b.length) return 0;
  let cp = c & (0xff >> (n + 1));
  for (let k = 1; k < n; k++) {
    const d = b[i + k];
    if ((d & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (d & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

export function bytesToText(b: Uint8Array): string {
  if (isAscii(b)) return Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
  try {
    return decoder.decode(b);
  } catch {
    // fall through to the byte-by-byte path
  }
  let out = '';
  let start = 0;
  let i = 0;
  while (i < b.length) {
    const n = utf8SeqLen(b, i);
    if (n > 0) { i += n; continue; }
    if (i > start) out += Buffer.from(b.buffer, b.byteOffset + start, i - start).toString('utf8');
    out += '\\x' + b[i].toString(16).padStart(2, '0');
    i++;
    start = i;
  }
  if (i > start) out += Buffer.from(b.buffer, b.byteOffset + start, i - start).toString('utf8');
  return out;
}
