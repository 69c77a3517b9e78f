// The RFC 5424 formatter and the --forward URL, checked against the RFC's grammar by a parser
// written from RFC 5424 §6 (test/helpers/rfc5424.ts, not from the formatter), and against the choices the README
// documents (kern.notice for records without PRI, no BOM by default, truncation at the end of MSG).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_PRI, FIELDS_SD_ID, SD_ID, formatRfc5424, octetCounted, octetCountedText, priOf, rfc5424Text, sdName, syslogHostname } from '../src/receiver/forward/rfc5424.js';
import { parseForwardUrl } from '../src/receiver/forward/target.js';
import type { StoredMessage } from '../src/receiver/store/types.js';
import { parse5424 } from './helpers/rfc5424.js';

function row(over: Partial<StoredMessage> = {}): StoredMessage {
  return {
    id: 42, host: 'guest-1', source: '10.0.0.7:6665', boot: 2, seq: 1234, level: 3, facility: 0, ts_usec: 5_000_001,
    received_at: Date.UTC(2026, 11, 6, 22, 16, 0, 123) + 0.838, text: 'Oops: general protection fault', fields: {}, complete: true, flags: '-', truncated: false, fragmented: false,
    ...over,
  };
}

test('a record is a well-formed RFC 5424 message: PRI from facility and level, UTC timestamp with ms, kernel, our SD', () => {
  const p = parse5424(formatRfc5424(row()).bytes);
  assert.equal(p.pri, 3);
  assert.equal(p.version, 1);
  assert.equal(p.timestamp, '2026-12-06T22:16:00.123Z');
  assert.deepEqual([p.hostname, p.appName, p.procId, p.msgId], ['guest-1', 'kernel', '-', '-']);
  assert.deepEqual(p.sd, [{ id: SD_ID, params: [['id', '42'], ['source', '10.0.0.7:6665'], ['boot', '2'], ['seq', '1234'], ['ts_usec', '5000001'], ['flags', '-']] }]);
  assert.equal(p.msg!.toString('utf8'), 'Oops: general protection fault');
  assert.notEqual(p.msg![0], 0xef, 'no BOM by default');
});

test('PRI: facility * 8 + level; a record without them (legacy) is kern.notice; out-of-range parts count as missing', () => {
  assert.equal(priOf(1, 6), 14);
  assert.equal(priOf(23, 7), 191);
  assert.equal(priOf(null, null), DEFAULT_PRI);
  assert.equal(DEFAULT_PRI, 5);
  assert.equal(priOf(1, null), 13);
  assert.equal(priOf(null, 2), 2);
  assert.equal(priOf(24, 3), 3);
  assert.equal(priOf(0, 8), 5);
  const legacy = parse5424(formatRfc5424(row({ level: null, facility: null, seq: null, ts_usec: null, flags: '' })).bytes);
  assert.equal(legacy.pri, 5);
  // Without seq, ts_usec and flags, those params are left out rather than sent empty.
  assert.deepEqual(legacy.sd[0]!.params.map(([k]) => k), ['id', 'source', 'boot']);
  // A record the kernel cut (6.3+) says so.
  assert.deepEqual(parse5424(formatRfc5424(row({ truncated: true })).bytes).sd[0]!.params.at(-1), ['truncated', '1']);
});

test('HOSTNAME: printable US-ASCII only, at most 255, never empty', () => {
  assert.equal(syslogHostname('web 01/ü'), 'web_01/_');
  assert.equal(syslogHostname(''), '-');
  assert.equal(syslogHostname('x'.repeat(300)).length, 255);
  assert.equal(parse5424(formatRfc5424(row({ host: 'rack 3 \u65e5\u672c' })).bytes).hostname, 'rack_3___');
  assert.equal(parse5424(formatRfc5424(row({ host: 'fd00::7' })).bytes).hostname, 'fd00::7');
});

test('fields go in their own element, names made SD-NAMEs, values escaped (", \\ and ])', () => {
  const fields = { SUBSYSTEM: 'pci', DEVICE: '+pci:0000:00:03.0', 'we ird="]': 'a"b\\c]d', ['k'.repeat(40)]: 'long name', seq: 'a field named seq' };
  const p = parse5424(formatRfc5424(row({ fields })).bytes);
  assert.equal(p.sd.length, 2);
  assert.equal(p.sd[1]!.id, FIELDS_SD_ID);
  assert.deepEqual(p.sd[1]!.params, [['SUBSYSTEM', 'pci'], ['DEVICE', '+pci:0000:00:03.0'], ['we_ird___', 'a"b\\c]d'], ['k'.repeat(32), 'long name'], ['seq', 'a field named seq']]);
  // Our own seq is untouched by the field of the same name.
  assert.deepEqual(p.sd[0]!.params.find(([k]) => k === 'seq'), ['seq', '1234']);
  assert.equal(sdName(''), '_');
  const raw = formatRfc5424(row({ fields: { x: 'a"b\\c]d' } })).bytes.toString('utf8');
  assert.ok(raw.includes('x="a\\"b\\\\c\\]d"'), raw);
  // A source with a bracketed IPv6 address is escaped too.
  assert.equal(parse5424(formatRfc5424(row({ source: '[fd00::7]:6665' })).bytes).sd[0]!.params[1]![1], '[fd00::7]:6665');
});

test('MSG: the text as UTF-8 with control characters as they are; bom=1 adds the BOM; an empty text is no MSG', () => {
  const text = 'grüße ✓ 日本語 ctrl:\u0001\u001b[31m tab\tnl\nend';
  assert.equal(parse5424(formatRfc5424(row({ text })).bytes).msg!.toString('utf8'), text);
  const withBom = parse5424(formatRfc5424(row({ text }), { bom: true }).bytes).msg!;
  assert.deepEqual([...withBom.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
  assert.equal(withBom.subarray(3).toString('utf8'), text);
  assert.equal(parse5424(formatRfc5424(row({ text: '' })).bytes).msg, null);
  assert.equal(parse5424(formatRfc5424(row({ text: '   leading spaces' })).bytes).msg!.toString(), '   leading spaces');
});

test('truncation: the fields element goes first, then MSG is cut at its end, never inside a UTF-8 character', () => {
  const text = 'é€✓'.repeat(400); // 2, 3 and 3 octets
  const r = row({ text, fields: { DEVICE: 'x'.repeat(300) } });
  for (const max of [480, 481, 482, 483, 1000, 2048]) {
    const f = formatRfc5424(r, { maxBytes: max });
    assert.ok(f.truncated);
    assert.ok(f.bytes.length <= max && f.bytes.length >= max - 3, `${f.bytes.length} for ${max}`);
    const p = parse5424(f.bytes);
    assert.equal(p.sd.length, 1, 'the fields element was dropped');
    const msg = p.msg!.toString('utf8');
    assert.ok(text.startsWith(msg) && !msg.includes('\ufffd'), 'a prefix of whole characters');
  }
  // What fits is left alone.
  const small = formatRfc5424(row({ text: 'short', fields: { A: 'b' } }), { maxBytes: 2048 });
  assert.equal(small.truncated, false);
  assert.equal(parse5424(small.bytes).sd.length, 2);
  const bom = formatRfc5424(row({ text }), { maxBytes: 600, bom: true });
  assert.ok(bom.bytes.length <= 600);
  assert.deepEqual([...parse5424(bom.bytes).msg!.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
});

test('octet counting (RFC 6587 §3.4.1): MSG-LEN in octets, SP, the message', () => {
  const msg = formatRfc5424(row({ text: 'ü' })).bytes;
  const framed = Buffer.concat(octetCounted(msg));
  const sp = framed.indexOf(0x20);
  assert.equal(Number(framed.toString('latin1', 0, sp)), msg.length);
  assert.match(framed.toString('latin1', 0, sp), /^[1-9]\d*$/);
  assert.deepEqual(framed.subarray(sp + 1), msg);
  // The TCP path builds frames as strings: the same octets, the length counted in UTF-8 octets.
  for (const r of [row({ text: 'grüße ✓ 日本語' }), row({ text: '', fields: { K: 'ü]' } })]) {
    for (const bom of [false, true]) {
      assert.deepEqual(Buffer.from(octetCountedText(rfc5424Text(r, bom))), Buffer.concat(octetCounted(formatRfc5424(r, { bom }).bytes)));
    }
  }
});

test('--forward URLs: tcp and udp, IPv6, settings; anything else is a one-line error', () => {
  assert.deepEqual(parseForwardUrl('syslog+tcp://127.0.0.1:514'), { url: 'syslog+tcp://127.0.0.1:514', transport: 'tcp', host: '127.0.0.1', port: 514, maxQueue: 10_000, maxBytes: 0, bom: false });
  const u = parseForwardUrl('syslog+udp://[fd00::1]:514?queue=50&max=1180&bom=1');
  assert.deepEqual([u.transport, u.host, u.port, u.maxQueue, u.maxBytes, u.bom], ['udp', 'fd00::1', 514, 50, 1180, true]);
  assert.equal(parseForwardUrl('syslog+udp://logs.example:514').maxBytes, 2048);
  for (const [bad, why] of [
    ['logs:514', /unknown scheme|not a URL/], ['http://x:1', /unknown scheme 'http'/], ['syslog+tcp://x', /no port/],
    ['syslog+tcp://x:0', /port 0/], ['syslog+tcp://x:70000', /not a URL/], ['syslog+udp://x:1?max=100', /max must be/],
    ['syslog+udp://x:1?queue=0', /queue must be/], ['syslog+udp://x:1?other=1', /unknown setting 'other'/],
    ['syslog+tcp://x:1/path', /only HOST:PORT/], ['syslog+tcp://u:p@x:1', /only HOST:PORT/],
  ] as const) {
    assert.throws(() => parseForwardUrl(bad), (err: Error) => why.test(err.message) && !err.message.includes('\n'), bad);
  }
});
