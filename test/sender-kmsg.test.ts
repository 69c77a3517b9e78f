// `send --kmsg` against the real /dev/kmsg: the datagrams are the kernel's own records (extended
// format = the /dev/kmsg text), and with --state a restart neither repeats nor skips a record.
// Skipped with the reason when /dev/kmsg cannot be read (or written, for the restart test), unless
// NCH_REQUIRE_ROOT=1.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, readSync, closeSync, writeFileSync, mkdtempSync, rmSync, readFileSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseKmsgRecord } from '../src/netconsole/kmsg.js';
import { formatRecord } from '../src/netconsole/format.js';
import { Catcher, runSend, startSend } from './sender-helpers.js';

const REQUIRE = process.env.NCH_REQUIRE_ROOT === '1';

function kmsgProblem(mode: 'read' | 'write'): string | null {
  try {
    closeSync(openSync('/dev/kmsg', mode === 'read' ? constants.O_RDONLY | constants.O_NONBLOCK : constants.O_WRONLY));
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

function skipUnless(t: TestContext, mode: 'read' | 'write'): boolean {
  const why = kmsgProblem(mode);
  if (why === null) return false;
  if (REQUIRE) assert.fail(`NCH_REQUIRE_ROOT=1 but /dev/kmsg cannot be opened for ${mode}: ${why}`);
  t.skip(`/dev/kmsg not ${mode === 'read' ? 'readable' : 'writable'} here (${why})`);
  return true;
}

/** The oldest `n` records in the ring buffer, as /dev/kmsg returns them. */
function firstRecords(n: number): Buffer[] {
  const fd = openSync('/dev/kmsg', constants.O_RDONLY | constants.O_NONBLOCK);
  const buf = Buffer.alloc(16384);
  const out: Buffer[] = [];
  try {
    while (out.length < n) {
      try {
        out.push(Buffer.from(buf.subarray(0, readSync(fd, buf, 0, buf.length, null))));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EPIPE') continue;
        break;
      }
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

test('--kmsg --from beginning: the datagrams are the kernel records themselves', async (t) => {
  if (skipUnless(t, 'read')) return;
  const c = await Catcher.open();
  t.after(() => c.close());
  const r = await runSend(['--kmsg', '--from', 'beginning', '--count', '5', '--target', `127.0.0.1:${c.port}`, '--source-port', '0']);
  assert.equal(r.code, 0, r.stderr);
  const kernel = firstRecords(5);
  const expected = kernel.flatMap((m) => formatRecord(parseKmsgRecord(m), { format: 'extended', kernel: 'latest' }));
  const got = await c.waitFor(expected.length);
  assert.deepEqual(got.map((g) => g.payload.toString('latin1')), expected.map((e) => e.toString('latin1')));
  // Records that fit one datagram are sent verbatim.
  for (const m of kernel) if (m.length <= 1000) assert.ok(got.some((g) => g.payload.equals(m)));
});

test('--kmsg --state: new records from the end; after a restart the next ones, none twice', async (t) => {
  if (skipUnless(t, 'read') || skipUnless(t, 'write')) return;
  const dir = mkdtempSync(join(tmpdir(), 'nch-kmsg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const state = join(dir, 'state.json');
  const tag = `nch-send-test-${process.pid}-${Date.now()}`;
  const c = await Catcher.open();
  t.after(() => c.close());
  const args = ['--kmsg', '--state', state, '--target', `127.0.0.1:${c.port}`, '--source-port', '0'];
  const mine = (): string[] => c.got.map((g) => g.payload.toString('latin1')).filter((s) => s.includes(tag));

  const first = startSend(args);
  t.after(() => first.child.kill('SIGKILL'));
  assert.ok(await first.stderrHas(/at the end of \/dev\/kmsg/), 'sender did not reach the end of the buffer');
  writeFileSync('/dev/kmsg', `<13>${tag} one\n`);
  for (let i = 0; i < 200 && mine().length < 1; i++) await c.waitFor(c.got.length + 1, 50);
  first.child.kill('SIGTERM');
  assert.equal((await first.done).code, 0);
  const saved = JSON.parse(readFileSync(state, 'utf8')) as { seq: string };
  assert.match(mine()[0], new RegExp(`^13,${saved.seq},\\d+,-;${tag} one\\n$`));

  // Written while no sender runs: must be sent by the next one, after the saved position.
  writeFileSync('/dev/kmsg', `<13>${tag} two\n`);
  writeFileSync('/dev/kmsg', `<12>${tag} three\n`);
  const second = startSend(args);
  t.after(() => second.child.kill('SIGKILL'));
  for (let i = 0; i < 200 && mine().length < 3; i++) await c.waitFor(c.got.length + 1, 50);
  second.child.kill('SIGTERM');
  const r2 = await second.done;
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stderr, new RegExp(`resuming /dev/kmsg after seq ${saved.seq}`));
  const texts = mine().map((s) => s.slice(s.indexOf(';') + 1));
  assert.deepEqual(texts, [`${tag} one\n`, `${tag} two\n`, `${tag} three\n`]);
  const seqs = mine().map((s) => BigInt(s.split(',')[1]));
  assert.ok(seqs[0] < seqs[1] && seqs[1] < seqs[2]);
  assert.equal(mine()[2].split(',')[0], '12');
});
