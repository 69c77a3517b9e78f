// The kernel's extended-format escaping (printk.c msg_add_ext_text): every byte < 0x20, >= 0x7f
// and the backslash itself become `\xHH` with lower-case hex. Only text and dictionary values
// are escaped; userdata, sysdata and the release string travel raw.

const HEX = '0123456789abcdef';

function needsEscape(b: number): boolean {
  return b < 0x20 || b >= 0x7f || b === 0x5c;
}

/** Escapes raw record bytes exactly as the kernel does for extended consoles. */
export function escapeKernel(raw: Uint8Array): Buffer {
  let extra = 0;
  for (let i = 0; i < raw.length; i++) if (needsEscape(raw[i])) extra += 3;
  if (extra === 0) return Buffer.from(raw);
  const out = Buffer.allocUnsafe(raw.length + extra);
  let o = 0;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i];
    if (needsEscape(b)) {
      out[o++] = 0x5c;
      out[o++] = 0x78;
      out[o++] = HEX.charCodeAt(b >> 4);
      out[o++] = HEX.charCodeAt(b & 15);
    } else out[o++] = b;
  }
  return out;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Reverses `\xHH` sequences (either hex case); anything else, a lone backslash included, is kept. */
export function unescapeKernel(esc: Uint8Array): Buffer {
  // Nothing to undo: a view of the same bytes, no copy.
  if (esc.indexOf(0x5c) < 0) return Buffer.from(esc.buffer, esc.byteOffset, esc.length);
  const out = Buffer.allocUnsafe(esc.length);
  let o = 0;
  for (let i = 0; i < esc.length; i++) {
    const b = esc[i];
    if (b === 0x5c && i + 3 < esc.length && esc[i + 1] === 0x78) {
      const h = hexVal(esc[i + 2]);
      const l = hexVal(esc[i + 3]);
      if (h >= 0 && l >= 0) {
        out[o++] = (h << 4) | l;
        i += 3;
        continue;
      }
    }
    out[o++] = b;
  }
  return out.subarray(0, o);
}
