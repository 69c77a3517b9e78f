// bytesToText against a reference written from its definition: each valid UTF-8 sequence is its
// character, every other byte is `\xHH`. Random, mostly-valid and hostile inputs alike.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { bytesToText } from '../src/netconsole/text.js';

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The definition, one position at a time: the sequence its lead byte announces, if it decodes, else the byte. */
function reference(b: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    const n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    let ch: string | null = null;
    if (n > 0 && i + n <= b.length) {
      try { ch = strict.decode(b.subarray(i, i + n)); } catch { ch = null; }
    }
    if (ch !== null) { out += ch; i += n; } else { out += `\\x${c.toString(16).padStart(2, '0')}`; i++; }
  }
  return out;
}

test('bytesToText: valid UTF-8 decoded, every other byte as \\xHH, for any bytes', () => {
  const utf8ish = fc.array(fc.oneof(fc.string({ unit: 'grapheme' }).map((s) => Buffer.from(s)), fc.uint8Array({ maxLength: 6 })), { maxLength: 40 })
    .map((parts) => new Uint8Array(Buffer.concat(parts)));
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 3000 }), utf8ish), (b) => { assert.equal(bytesToText(b), reference(b)); }), { numRuns: 2000 });
});

test('bytesToText: the edge cases by name', () => {
  const t = (bytes: number[]) => bytesToText(Uint8Array.from(bytes));
  assert.equal(t([0x41, 0xff, 0x42]), 'A\\xffB');
  assert.equal(t([0xc0, 0x80]), '\\xc0\\x80', 'an overlong NUL is two bytes');
  assert.equal(t([0xed, 0xa0, 0x80]), '\\xed\\xa0\\x80', 'a surrogate is three bytes');
  assert.equal(t([0xf0, 0x9f, 0x98, 0x80, 0xe2, 0x82]), '\u{1f600}\\xe2\\x82', 'a four-byte character, then a cut one');
  assert.equal(t([0xef, 0xbb, 0xbf, 0x41]), '\ufeffA', 'a leading BOM is kept');
  assert.equal(t([0x5c, 0x78, 0x34, 0x31]), '\\x41', 'a literal backslash stays');
  // Longer than one chunk of gathered units, with a character straddling the boundary.
  const long = Buffer.concat([Buffer.from([0xff]), Buffer.from('é'.repeat(5000))]);
  assert.equal(bytesToText(long), '\\xff' + 'é'.repeat(5000));
});
