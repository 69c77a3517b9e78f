// `netconsole-hub send` end to end over real UDP on loopback: kmsg dumps of the real kernel's
// records come out byte for byte as the kernel sent them; stdin and --message records; options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catcher, runSend } from './sender-helpers.js';
import { groupExtended, loadDatagrams } from './sender-fixtures.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'nch-send-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('--kmsg-file of the real 6.1 records: every kernel datagram byte for byte, extended and legacy', async (t) => {
  const dir = tempDir(t);
  const kernel = loadDatagrams('extended.jsonl');
  const records = groupExtended(kernel);
  const dump = join(dir, 'kmsg.txt');
  writeFileSync(dump, Buffer.concat(records.map((r) => r.record)));

  const ext = await Catcher.open();
  t.after(() => ext.close());
  const r = await runSend(['--kmsg-file', dump, '--kernel', '6.1', '--format', 'extended', '--target', `127.0.0.1:${ext.port}`, '--source-port', '0', '--rate', '5000/s']);
  assert.equal(r.code, 0, r.stderr);
  const got = await ext.waitFor(kernel.length);
  assert.equal(got.length, kernel.length);
  for (let i = 0; i < kernel.length; i++) assert.ok(got[i].payload.equals(kernel[i]), `datagram ${i} differs`);
  assert.equal(new Set(got.map((g) => g.from)).size, 1, 'one source address and port');

  // Legacy: the configfs target of the same boot starts later; from its first datagram on, equal.
  const legacyKernel = loadDatagrams('extended.t2-legacy.jsonl');
  const leg = await Catcher.open();
  t.after(() => leg.close());
  const r2 = await runSend(['--kmsg-file', dump, '--kernel', '6.1', '--netconsole', `0@127.0.0.1/,${leg.port}@127.0.0.1/`, '--rate', '5000/s']);
  assert.equal(r2.code, 0, r2.stderr);
  const sent = await leg.waitFor(legacyKernel.length + 1, 20000);
  const start = sent.findIndex((g) => g.payload.equals(legacyKernel[0]));
  assert.ok(start > 0, 'the first datagram of the legacy target was not sent');
  const tail = sent.slice(start);
  assert.equal(tail.length, legacyKernel.length);
  for (let i = 0; i < legacyKernel.length; i++) assert.ok(tail[i].payload.equals(legacyKernel[i]), `legacy datagram ${i} differs`);
});

test('--stdin: one record per line, own seq from 0, <N> prefix sets the level, user.warning by default', async (t) => {
  const c = await Catcher.open();
  t.after(() => c.close());
  const lines = ['first line', '<3>an error', '<30>daemon info', 'tab\there é', 'last line without newline'];
  const r = await runSend(['--stdin', '--target', `127.0.0.1:${c.port}`, '--source-port', '0'], lines.join('\n'));
  assert.equal(r.code, 0, r.stderr);
  const got = await c.waitFor(lines.length);
  assert.equal(got.length, lines.length);
  const parsed = got.map((g) => /^(\d+),(\d+),(\d+),-;(.*)\n$/s.exec(g.payload.toString('latin1')));
  assert.deepEqual(parsed.map((m) => Number(m![1])), [12, 11, 30, 12, 12]);
  assert.deepEqual(parsed.map((m) => Number(m![2])), [0, 1, 2, 3, 4]);
  assert.deepEqual(parsed.map((m) => m![4]), ['first line', 'an error', 'daemon info', 'tab\\x09here \\xc3\\xa9', 'last line without newline']);
  const ts = parsed.map((m) => Number(m![3]));
  for (let i = 1; i < ts.length; i++) assert.ok(ts[i] >= ts[i - 1], 'timestamps are monotonic');
});

test('--message: legacy with and without timestamps, extended with release/userdata/sysdata', async (t) => {
  const c = await Catcher.open();
  t.after(() => c.close());
  const to = ['--target', `127.0.0.1:${c.port}`, '--source-port', '0'];
  assert.equal((await runSend(['--message', 'plain', '--format', 'legacy', '--no-timestamps', ...to])).code, 0);
  assert.equal((await runSend(['--message', 'stamped', '--format', 'legacy', ...to])).code, 0);
  const r = await runSend(['--message', 'rich', '--release', '6.9.7-test', '--userdata', 'host=web1', '--sysdata', 'msgid,cpu', '--level', 'err', '--facility', 'kern', ...to]);
  assert.equal(r.code, 0, r.stderr);
  const got = (await c.waitFor(3)).map((g) => g.payload.toString('latin1'));
  assert.equal(got[0], 'plain\n');
  assert.match(got[1], /^\[ *\d+\.\d{6}\] stamped\n$/);
  assert.match(got[2], /^6\.9\.7-test,3,0,\d+,-;rich\n host=web1\n cpu=\d+\n msgid=1\n$/);
});

test('a long line is fragmented with ncfrag; with --kernel 6.1 text beyond 991 bytes is cut as printk does', async (t) => {
  const c = await Catcher.open();
  t.after(() => c.close());
  const long = 'x'.repeat(1500);
  assert.equal((await runSend(['--message', long, '--target', `127.0.0.1:${c.port}`, '--source-port', '0'])).code, 0);
  assert.equal((await runSend(['--message', long, '--kernel', '6.1', '--target', `127.0.0.1:${c.port}`, '--source-port', '0'])).code, 0);
  const got = (await c.waitFor(4)).map((g) => g.payload.toString('latin1'));
  assert.equal(got.length, 4);
  assert.match(got[0], /^12,0,\d+,-,ncfrag=0\/1024;x+$/);
  assert.match(got[1], /^12,0,\d+,-,ncfrag=\d+\/1024;x+\n$/);
  assert.match(got[2], /^12,0,\d+,-,ncfrag=0\/992;x+$/);
  assert.equal(got[0].length, 1000);
});

test('bad options give one clear line and status 2', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--message', 'x'], /no target/],
    [['--target', '127.0.0.1:9'], /choose a source/],
    [['--message', 'x', '--stdin', '--target', '127.0.0.1:9'], /choose one source/],
    [['--message', 'x', '--target', 'nohost'], /invalid target 'nohost'/],
    [['--message', 'x', '--netconsole', 'r@/,@127.0.0.1/'], /needs the extended format/],
    [['--message', 'x', '--kernel', '6.1', '--release', '--target', '127.0.0.1:9'], /release prepend needs kernel >= 6.6/],
    [['--message', 'x', '--kernel', '5.4', '--target', '127.0.0.1:9'], /invalid --kernel/],
    [['--message', 'x', '--sysdata', 'cpu,bogus', '--target', '127.0.0.1:9'], /invalid --sysdata key 'bogus'/],
    [['--kmsg-file', '/nonexistent/dump', '--target', '127.0.0.1:9'], /cannot read \/nonexistent\/dump: ENOENT/],
    [['--simulate', '2', '--target', '127.0.0.1:9'], /needs --count N or --duration S/],
    [['--message', 'x', '--corrupt-checksum', '0.5', '--target', '127.0.0.1:9'], /needs --transport raw/],
  ];
  for (const [args, re] of cases) {
    const r = await runSend(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
  }
});

test('a malformed kmsg dump names the line and sends nothing', async (t) => {
  const dir = tempDir(t);
  const c = await Catcher.open();
  t.after(() => c.close());
  const dump = join(dir, 'bad.txt');
  writeFileSync(dump, '6,1,2,-;fine\nnot a record\n');
  const r = await runSend(['--kmsg-file', dump, '--target', `127.0.0.1:${c.port}`, '--source-port', '0']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad\.txt: line 2: kmsg record without ';'/);
  assert.equal(c.got.length, 0);
});

test('--simulate: per-host summary matches what arrived, distinct source ports, fragments and dictionaries', async (t) => {
  const c = await Catcher.open();
  t.after(() => c.close());
  const r = await runSend(['--simulate', '3', '--count', '600', '--rate', '4000/s', '--target', `127.0.0.1:${c.port}`, '--source-port', '0', '--seed', '7']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { records: number; datagrams: number; hosts: Array<{ source: string; records: number; datagrams: number; lastSeq: number }> };
  assert.equal(summary.records, 600);
  assert.equal(summary.hosts.length, 3);
  const got = await c.waitFor(summary.datagrams);
  assert.equal(got.length, summary.datagrams);
  for (const h of summary.hosts) {
    assert.equal(h.records, 200);
    assert.equal(h.lastSeq, 199);
    const port = h.source.split(':').pop();
    assert.equal(got.filter((g) => g.from.endsWith(`:${port}`)).length, h.datagrams);
  }
  assert.equal(new Set(got.map((g) => g.from)).size, 3);
  const text = got.map((g) => g.payload.toString('latin1'));
  assert.ok(text.some((s) => s.includes(',ncfrag=')), 'long lines are fragmented');
  assert.ok(text.some((s) => s.includes('\n SUBSYSTEM=')), 'dictionary records');
});
