// The 2048-byte cut of kernels >= 6.3 (printk's PRINTK_MESSAGE_MAX): the record stops at 2048 bytes,
// mid-escape or mid-character, without its LF, and netconsole appends the userdata right after it.
// The formatter's '6.9' behaviour writes the buffer as the kernel does (scnprintf for escapes,
// append_char for plain bytes); '6.1' formats into 8192 bytes and never cuts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { cutPoint, PRINTK_MESSAGE_MAX } from '../src/netconsole/body.js';
import { formatRecord, type FormatOptions, type KernelRecord } from '../src/netconsole/format.js';
import { NetconsoleReceiver } from '../src/netconsole/pipeline.js';
import { bytesToText } from '../src/netconsole/text.js';
import type { LogRecord, Sink } from '../src/netconsole/types.js';
import { expectedExtended } from './helpers/kernel-oracle.js';

const USERDATA: Array<[string, string]> = [['rack', 'r12'], ['role', 'db'], ['long', 'u'.repeat(150)]];

function receive(frames: Buffer[]): LogRecord {
  const out: LogRecord[] = [];
  const sink: Sink = { record: (r) => out.push(r), event: () => {} };
  const rx = new NetconsoleReceiver();
  for (const f of frames) rx.push('192.0.2.1:6665', f, 0, sink);
  rx.flushAll(0, sink);
  assert.equal(out.length, 1);
  return out[0];
}

function send(text: Uint8Array, o: Partial<FormatOptions> = {}, r: Partial<KernelRecord> = {}): LogRecord {
  return receive(formatRecord({ pri: 14, seq: 395, tsUsec: 4353129, text, ...r }, { format: 'extended', kernel: '6.9', ...o }));
}

const utf8Long = Buffer.from('kn-frag utf8-long ' + 'é€✓'.repeat(110) + 'END');

test('a UTF-8 line cut at 2048 bytes: text up to the cut, truncated, every userdata entry a field', () => {
  const r = send(utf8Long, { userdata: USERDATA });
  assert.equal(r.truncated, true);
  assert.equal(r.complete, true);
  assert.deepEqual(r.fields, Object.fromEntries(USERDATA));
  assert.ok(r.text.startsWith('kn-frag utf8-long é€✓é€✓'));
  assert.ok(!r.text.includes('rack') && !r.text.includes('\ufffd'));
  // 17 header bytes + 2031 of text: the last whole characters, then the bytes of a cut one as \xHH.
  assert.match(r.text, /(é|€|✓)(\\x[0-9a-f]{2}){0,2}E?$/);
  // The same record without userdata, and with the release prefix (which is outside the 2048 bytes).
  const bare = send(utf8Long);
  assert.deepEqual([bare.truncated, bare.fields, bare.text], [true, {}, r.text]);
  const rel = send(utf8Long, { userdata: USERDATA, release: '6.12.118+deb12-amd64' });
  assert.deepEqual([rel.truncated, rel.release, rel.text, rel.fields], [true, '6.12.118+deb12-amd64', r.text, r.fields]);
});

test('a cut inside a \\xNN escape drops the partial escape, also when the LF still fits', () => {
  // All-escaped text: the buffer ends in a cut escape; with nothing plain after it, append_char
  // still puts the LF into the very last byte.
  for (let n = 508; n < 520; n++) {
    const text = Buffer.alloc(n, 0xe9);
    const r = send(text, { userdata: USERDATA });
    assert.deepEqual(r.fields, Object.fromEntries(USERDATA), `n=${n}`);
    assert.match(r.text, /^(\\xe9)+$/, `n=${n}: only whole escapes remain`);
    assert.equal(r.text.length / 4 <= n, true);
    // 2031 bytes after the header hold 507 whole escapes (2028) and a partial one.
    assert.equal(r.truncated, true, `n=${n}`);
  }
  // A text that fits exactly (escaped text + LF = 2031) is not cut.
  const exact = Buffer.concat([Buffer.alloc(2030 - 4 * 400, 0x61), Buffer.alloc(400, 0x01)]);
  const r = send(exact, { userdata: USERDATA });
  assert.deepEqual([r.truncated, r.text.length, r.fields], [false, exact.length, Object.fromEntries(USERDATA)]);
});

test('a cut inside a UTF-8 sequence keeps its bytes as \\xHH: no replacement characters, no throw', () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom('a', ' ', 'é', '€', '✓', '日', '\t', '\\', '\x01', '😀'), { minLength: 300, maxLength: 1000 }),
      fc.boolean(),
      (chars, withUserdata) => {
        let text = Buffer.from(chars.join(''));
        if (text.length > 1023) text = text.subarray(0, 1023);
        const r = send(text, withUserdata ? { userdata: USERDATA } : {});
        assert.ok(!r.text.includes('\ufffd'));
        assert.deepEqual(r.fields, withUserdata ? Object.fromEntries(USERDATA) : {});
        assert.ok(!r.text.includes('long=uuu'));
      },
    ),
    { numRuns: 200 },
  );
});

test('6.1 formats into 8192 bytes: a long escaped text is whole, not taken for a cut', () => {
  const text = Buffer.from('x'.repeat(10) + 'é'.repeat(480) + ' a=b');
  const r = receive(formatRecord({ pri: 14, seq: 388, tsUsec: 1, text }, { format: 'extended', kernel: '6.1' }));
  assert.deepEqual([r.truncated, r.text, r.fields], [false, text.toString(), {}]);
  // A space and key=value right at the cut point, and the rest of the line after it: still text.
  const at = PRINTK_MESSAGE_MAX - '14,388,1,-;'.length;
  const tricky = Buffer.concat([Buffer.alloc(at, 0x61), Buffer.from(' key=value and more text')]);
  const t = receive(formatRecord({ pri: 14, seq: 388, tsUsec: 1, text: tricky.subarray(0, 991) }, { format: 'extended', kernel: '6.1' }));
  assert.equal(t.truncated, false);
});

test('a dev_printk record cut inside its dictionary keeps what fits, flagged', () => {
  const text = Buffer.from('e1000 ' + '\u00e9'.repeat(252)); // 6 + 252 * 8 escaped = 2022 bytes
  const r = send(text, { userdata: [['rack', 'r12']] }, { subsystem: 'pci', device: '+pci:0000:00:03.0' });
  assert.equal(r.truncated, true);
  assert.equal(r.fields.rack, 'r12');
  assert.equal(r.text, text.toString());
  assert.equal(cutPoint(Buffer.from('abc'), null), -1);
});

test('where each kernel generation cuts: the cut point moves with the header, extras follow it', () => {
  const text = Buffer.from('é'.repeat(495)); // 990 bytes, 3960 escaped: more than any >= 6.3 buffer holds
  // 4.2-6.2 (6.1): 8192-byte buffer, nothing cut (its 991-byte record limit keeps it under 4 KiB).
  const old = receive(formatRecord({ pri: 6, seq: 1, tsUsec: 2, text }, { format: 'extended', kernel: '6.1' }));
  assert.deepEqual([old.truncated, old.text], [false, text.toString()]);
  const cases: Array<[string, Partial<FormatOptions>, Partial<KernelRecord>]> = [
    ['6.3-6.5: cut, nothing after it', {}, {}],
    ['6.6-6.8: release prefix, outside the 2048 bytes', { release: '6.6.13' }, {}],
    ['6.9+: userdata after the cut', { userdata: [['rack', 'r12']] }, {}],
    ['6.15+: userdata then sysdata after the cut', { userdata: [['rack', 'r12']], sysdata: { cpu: 0, taskname: 'sh', release: '6.17.0', msgid: 7 } }, {}],
    ['CONFIG_PRINTK_CALLER: a longer header, an earlier cut', { userdata: [['rack', 'r12']] }, { caller: 'T123' }],
    ['a cut after the first byte of a character, the LF in the last byte', { userdata: [['rack', 'r12']] }, { tsUsec: 2222 }],
  ];
  /** The bytes whose escapes fit whole: scnprintf needs room for its terminator too. */
  const kept = (raw: Buffer, room: number) => {
    let used = 0;
    let n = 0;
    while (n < raw.length && room - used >= 5) { used += 4; n++; }
    return raw.subarray(0, n);
  };
  for (const [name, o, rec] of cases) {
    const frames = formatRecord({ pri: 6, seq: 1, tsUsec: 2, text, ...rec }, { format: 'extended', kernel: '6.9', ...o });
    const total = Number(/ncfrag=\d+\/(\d+);/.exec(frames[0].toString('latin1'))![1]);
    if (rec.tsUsec === 2222) assert.ok(frames.map((f) => f.toString('latin1')).join('').includes('\\xc3\n rack='), 'the case it is meant to be');
    const header = `6,1,${rec.tsUsec ?? 2},-${rec.caller ? `,caller=${rec.caller}` : ''};`;
    const extra = frames.map((f) => f.toString('latin1').slice(f.indexOf(0x3b) + 1)).join('').slice(PRINTK_MESSAGE_MAX - header.length);
    assert.equal(total, PRINTK_MESSAGE_MAX - header.length + extra.length, `${name}: the printk part is 2048 bytes`);
    const r = receive(frames);
    assert.equal(r.truncated, true, name);
    assert.equal(r.text, bytesToText(kept(text, PRINTK_MESSAGE_MAX - header.length)), `${name}: text up to the cut`);
    if (o.userdata) assert.equal(r.fields.rack, 'r12', name);
    if (o.sysdata) assert.deepEqual([r.fields.cpu, r.fields.taskname, r.release, r.fields.msgid], ['0', 'sh', '6.17.0', '7'], name);
    if (o.release) assert.equal(r.release, o.release, name);
  }
});

test('every alignment of the cut against the escapes decodes as the oracle reads the kernel\'s bytes', () => {
  // The header length moves the cut through the escapes of é€✓ (2, 3 and 3 bytes, 8 escapes per 3
  // characters): an unfinished escape at the end, or followed by the `E` of END that still fitted.
  const seen = new Set<string>();
  for (let digits = 1; digits <= 12; digits++) {
    for (const seq of [1, 12, 123, 1234, 12345, 123456, 1234567, 12345678]) {
      const tsUsec = Number('9'.repeat(digits));
      for (const userdata of [[], USERDATA] as Array<Array<[string, string]>>) {
        const frames = formatRecord({ pri: 14, seq, tsUsec, text: utf8Long }, { format: 'extended', kernel: '6.9', userdata });
        const r = receive(frames);
        const [want] = expectedExtended(frames, userdata);
        assert.deepEqual({ text: r.text, fields: r.fields, truncated: r.truncated }, { text: want.text, fields: want.fields, truncated: want.truncated }, `seq ${seq} ts ${tsUsec}`);
        assert.equal(r.truncated, true);
        const data = frames.map((f) => f.toString('latin1').slice(f.indexOf(0x3b) + 1)).join('');
        seen.add(/(\\x?[0-9a-f]?)?.$/.exec(data.slice(0, PRINTK_MESSAGE_MAX - `14,${seq},${tsUsec},-;`.length))![0]);
      }
    }
  }
  assert.ok([...seen].some((t) => /^\\x[0-9a-f]E$/.test(t)), `an unfinished escape followed by E among ${[...seen].join(' ')}`);
});
