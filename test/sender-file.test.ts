// `send --file` follows a file like tail -F: through a rotation (with lines still appended to the
// old file after the rename) and a truncation, every line arrives once and in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, appendFileSync, renameSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catcher, startSend } from './sender-helpers.js';

const lines = (from: number, to: number): string => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}\n`).join('');

function texts(c: Catcher): string[] {
  return c.got.map((g) => {
    const s = g.payload.toString('latin1');
    return s.slice(s.indexOf(';') + 1, -1);
  });
}

test('--file: rotation and truncation, every line once, in order', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nch-follow-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'app.log');
  writeFileSync(log, lines(1, 20));
  const c = await Catcher.open();
  t.after(() => c.close());
  const { child, done, stderrHas } = startSend(['--file', log, '--from', 'beginning', '--target', `127.0.0.1:${c.port}`, '--source-port', '0']);
  t.after(() => child.kill('SIGKILL'));

  await c.waitFor(20);
  assert.ok(await stderrHas(/following/));
  appendFileSync(log, lines(21, 40));
  await c.waitFor(40);
  assert.equal(c.got.length, 40, 'lines before the rotation');

  // Rotate: rename, keep writing to the old file for a moment, then create the new one.
  renameSync(log, `${log}.1`);
  appendFileSync(`${log}.1`, lines(41, 45));
  writeFileSync(log, lines(46, 60));
  await c.waitFor(60);
  appendFileSync(log, lines(61, 70));
  await c.waitFor(70);
  assert.equal(c.got.length, 70, 'lines across the rotation');

  // Truncate in place (copytruncate style), then write again.
  // The new content (80 bytes) is shorter than what was read (200), so the shrink is seen whenever
  // the follower next looks.
  truncateSync(log, 0);
  appendFileSync(log, lines(71, 80));
  await c.waitFor(80);

  child.kill('SIGTERM');
  const r = await done;
  assert.equal(r.code, 0, r.stderr);
  const want = Array.from({ length: 80 }, (_, i) => `line ${i + 1}`);
  assert.deepEqual(texts(c), want);
  // Extended records with the sender's own seq, 0..79.
  assert.deepEqual(c.got.map((g) => Number(g.payload.toString('latin1').split(',')[1])), want.map((_, i) => i));
  assert.match(r.stderr, /was rotated/);
  assert.match(r.stderr, /was truncated/);
});

test('--file from the end skips existing lines and waits for a missing file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nch-follow-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const old = join(dir, 'old.log');
  writeFileSync(old, lines(1, 5));
  const later = join(dir, 'later.log');
  const c = await Catcher.open();
  t.after(() => c.close());
  const a = startSend(['--file', old, '--target', `127.0.0.1:${c.port}`, '--source-port', '0', '--format', 'legacy', '--no-timestamps']);
  const b = startSend(['--file', later, '--target', `127.0.0.1:${c.port}`, '--source-port', '0', '--format', 'legacy', '--no-timestamps']);
  t.after(() => {
    a.child.kill('SIGKILL');
    b.child.kill('SIGKILL');
  });
  // Both must have opened the file (or found it missing) before anything is written.
  assert.ok(await a.stderrHas(/following .*old\.log from byte 35/), 'first sender did not start following');
  assert.ok(await b.stderrHas(/later\.log does not exist yet/), 'second sender did not start waiting');
  appendFileSync(old, 'appended\n');
  writeFileSync(later, 'created\n');
  await c.waitFor(2);
  a.child.kill('SIGTERM');
  b.child.kill('SIGTERM');
  await Promise.all([a.done, b.done]);
  assert.deepEqual(c.got.map((g) => g.payload.toString()).sort(), ['appended\n', 'created\n']);
});
