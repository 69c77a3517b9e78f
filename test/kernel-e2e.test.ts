// The real clients: Debian's Linux 6.1 and 6.12 booted under qemu, netconsole aimed at a running
// `serve`. What the guest sent (the harness's sent.jsonl, read from guest-eth0.pcap) is compared
// with what was stored, record by record, through test/helpers/kernel-oracle.ts.
// Needs root (the harness installs qemu and the kernel packages from Debian on first use, and
// caches them in /var/cache/kn-harness). Runs go two at a time: each qemu (TCG) takes one core.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { SHARED } from './helpers/fixtures.js';
import { expectedExtended, expectedLegacy } from './helpers/kernel-oracle.js';
import { freeUdpPort, getJson, mustRun, startServe, tempDir, waitFor } from './helpers/serve.js';

const HARNESS = join(SHARED, 'tools/kernel-netconsole/run.sh');
const K612 = 'linux-image-6.12.118+deb12-amd64';
const RELEASE_612 = '6.12.118+deb12-amd64';
const USERDATA: Array<[string, string]> = [['rack', 'r12'], ['role', 'db'], ['long', 'u'.repeat(150)]];

interface RunSpec {
  name: string;
  args: string[];
  /** Userdata of the extended target (the configfs one carries it). */
  userdata: Array<[string, string]>;
}

const RUNS: Record<string, RunSpec> = {
  linux61: { name: 'Linux 6.1, extended + configfs legacy, all scenarios and tasks', args: ['--scenario', 'all,tasks'], userdata: [] },
  release612: { name: 'Linux 6.12 --mode release, all scenarios and tasks', args: ['--kernel-pkg', K612, '--mode', 'release', '--scenario', 'all,tasks'], userdata: [] },
  userdata612: {
    name: 'Linux 6.12 legacy + configfs extended target with userdata, all scenarios',
    args: ['--kernel-pkg', K612, '--mode', 'legacy', '--userdata', 'rack=r12,role=db,long=@150'],
    userdata: USERDATA,
  },
};

interface RunResult { dir: string; db: string; code: number | null; log: string; checksumErrors: number }

function skipReason(): string {
  if (process.getuid?.() !== 0) return 'not root (the qemu harness needs root)';
  if (!existsSync(HARNESS)) return `no harness at ${HARNESS}`;
  return '';
}

/** At most two harness runs at once: each qemu is CPU-bound on one core. */
let free = 2;
const waiting: Array<() => void> = [];
async function slot<T>(fn: () => Promise<T>): Promise<T> {
  while (free === 0) await new Promise<void>((res) => waiting.push(res));
  free--;
  try {
    return await fn();
  } finally {
    free++;
    waiting.shift()?.();
  }
}

function sentCount(dir: string): number {
  return readFileSync(join(dir, 'sent.jsonl'), 'utf8').split('\n').filter(Boolean).length;
}

async function harnessRun(spec: RunSpec): Promise<RunResult> {
  const port = await freeUdpPort(true);
  const srv = await startServe({ udp: [`127.0.0.1:${port}`, `127.0.0.1:${port + 1}`] });
  try {
    const dir = tempDir('nch-kernel-');
    let log = '';
    const code = await new Promise<number | null>((res) => {
      const args = ['--external', '--port', String(port), '--port2', String(port + 1), '--out', dir, '--time-limit', '240', ...spec.args];
      const p = spawn(HARNESS, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      p.stdout.on('data', (d) => (log += d));
      p.stderr.on('data', (d) => (log += d));
      p.on('exit', (c) => res(c));
    });
    if (code !== 0) return { dir, db: srv.db, code, log, checksumErrors: 0 };
    // Every datagram the guest sent has reached the collector and been committed.
    const expected = sentCount(dir);
    const stats = await waitFor(`${spec.name}: ${expected} datagrams stored`, async () => {
      const s = await getJson(`${srv.http}/api/stats`);
      return s.queue_depth === 0 && s.datagrams >= expected ? s : undefined;
    }, 60_000);
    await new Promise((r) => setTimeout(r, 1500)); // let the last holds (≤ 1 s) expire
    assert.equal(await srv.stop(), 0);
    return { dir, db: srv.db, code, log, checksumErrors: stats.checksum_errors };
  } finally {
    await srv.stop('SIGKILL');
  }
}

const started = new Map<string, Promise<RunResult>>();
/** Starts every run (two at a time) the first time any test asks, so they overlap. */
function result(key: string): Promise<RunResult> {
  if (started.size === 0) for (const [k, spec] of Object.entries(RUNS)) started.set(k, slot(() => harnessRun(spec)));
  return started.get(key)!;
}

type Row = Record<string, any>;

function sentPayloads(dir: string): Map<number, Buffer[]> {
  const byPort = new Map<number, Buffer[]>();
  for (const l of readFileSync(join(dir, 'sent.jsonl'), 'utf8').split('\n')) {
    if (!l) continue;
    const o = JSON.parse(l);
    assert.equal(o.csum_ok, true, 'the guest\'s UDP checksums are valid');
    if (!byPort.has(o.port)) byPort.set(o.port, []);
    byPort.get(o.port)!.push(Buffer.from(o.b64, 'base64'));
  }
  return byPort;
}

/** Compares the stored rows of each target with what its frames must decode to; returns the stored rows by format. */
function compareWithSent(r: RunResult, spec: RunSpec): { extended: Row[]; legacy: Row[]; db: Database.Database } {
  const db = new Database(r.db, { readonly: true });
  const rows = (format: string) => db.prepare(`SELECT m.seq, m.flags, m.release, m.text, m.fields, m.truncated, m.ts_usec, m.complete
      FROM messages m JOIN sources s ON s.id = m.source_id WHERE s.format = ? ORDER BY m.id`).all(format) as Row[];
  const stored = { extended: rows('extended'), legacy: rows('legacy') };
  const sent = sentPayloads(r.dir);
  assert.equal(sent.size, 2, 'two targets sent');
  for (const payloads of sent.values()) {
    const isExtended = /^[^;\n]{0,80},\d+,\d+,[-c][,;]/.test(payloads[0].toString('latin1'));
    if (isExtended) {
      const want = expectedExtended(payloads, spec.userdata);
      const got = stored.extended;
      assert.equal(got.length, want.length, `${spec.name}: extended records sent vs stored`);
      for (let i = 0; i < want.length; i++) {
        const g = got[i];
        assert.deepEqual(
          { seq: g.seq, flags: g.flags, release: g.release, text: g.text, fields: JSON.parse(g.fields), truncated: g.truncated === 1 },
          want[i], `${spec.name}: extended record ${i}`);
        assert.equal(g.complete, 1);
      }
    } else {
      const want = expectedLegacy(payloads);
      const got = stored.legacy.map((g) => ({ ts_usec: g.ts_usec, text: g.text }));
      assert.equal(got.length, want.length, `${spec.name}: legacy lines sent vs stored`);
      assert.deepEqual(got, want, `${spec.name}: legacy lines`);
    }
  }
  const gaps = db.prepare(`SELECT COUNT(*) n FROM seq_events WHERE type = 'gap'`).get() as { n: number };
  assert.equal(gaps.n, 0, 'no extended record lost');
  assert.equal(r.checksumErrors, 0);
  return { ...stored, db };
}

async function runOrSkip(t: { skip(m: string): void }, key: string): Promise<RunResult | null> {
  const why = skipReason();
  if (why) {
    if (mustRun('NCH_REQUIRE_KERNEL')) assert.fail(`NCH_REQUIRE_KERNEL=1 but ${why}`);
    t.skip(why);
    return null;
  }
  const r = await result(key);
  if (r.code !== 0) console.log(r.log.slice(-3000));
  assert.equal(r.code, 0, `${RUNS[key].name}: the harness ran the guest to its panic`);
  return r;
}

function assertAllScenarios(s: { extended: Row[]; legacy: Row[] }, name: string): void {
  for (const [format, recs] of [['extended', s.extended], ['legacy', s.legacy]] as const) {
    assert.equal(recs.filter((m) => /^kn-burst \d{5}\/02000 /.test(m.text)).length, 2000, `${name} ${format}: all 2000 burst lines`);
    assert.ok(recs.some((m) => m.text.startsWith('Kernel panic - not syncing: sysrq triggered crash')), `${name} ${format}: the panic`);
    assert.ok(recs.some((m) => m.text.startsWith('---[ end Kernel panic - not syncing')), `${name} ${format}: the panic's end`);
  }
  const ext = s.extended;
  assert.ok(ext.some((m) => m.text.startsWith('kn-basic tricky text 6,123,456789,-;ncfrag=0/10;')), `${name}: basic`);
  assert.ok(ext.some((m) => JSON.parse(m.fields).SUBSYSTEM === 'pci'), `${name}: device (dictionary lines)`);
  assert.ok(ext.some((m) => m.text.startsWith('kn-frag utf8-long ')), `${name}: fragment`);
}

test('Linux 6.1 under qemu: every record stored as sent, burst and panic, sysrq t\'s c records one row each', { timeout: 900_000 }, async (t) => {
  const r = await runOrSkip(t, 'linux61');
  if (!r) return;
  const s = compareWithSent(r, RUNS.linux61);
  assertAllScenarios(s, 'linux 6.1');
  assert.ok(s.extended.every((m) => m.truncated === 0 && m.release === null), '6.1 never cuts and has no release prefix');
  // 6.1 sends every line of the scheduler dump as a record with flag c (about 110): each is a row.
  const c = s.extended.filter((m) => m.flags === 'c');
  assert.ok(c.length >= 100 && c.some((m) => m.text.startsWith('Sched Debug Version:')), `sysrq t's c records are rows (${c.length})`);
  assert.ok(!s.extended.some((m) => /<\/TASK>Sched Debug/.test(m.text)), 'no line that never existed');
  console.log(`linux 6.1: ${s.extended.length} extended records (${c.length} with flag c) and ${s.legacy.length} legacy lines stored as sent`);
  s.db.close();
});

test('Linux 6.12 --mode release with tasks: every record as sent, release on every record and the boot, c records alone', { timeout: 900_000 }, async (t) => {
  const r = await runOrSkip(t, 'release612');
  if (!r) return;
  const s = compareWithSent(r, RUNS.release612);
  assertAllScenarios(s, 'linux 6.12 release');
  assert.ok(s.extended.every((m) => m.release === RELEASE_612), 'release is a field of every record');
  assert.ok(s.extended.filter((m) => m.flags === 'c').length > 50, 'sysrq t sends records with flag c, one row each');
  assert.deepEqual(s.extended.filter((m) => m.truncated === 1).map((m) => m.text.slice(0, 18)), ['kn-frag utf8-long ']);
  const boots = s.db.prepare('SELECT DISTINCT release FROM boots').all() as Row[];
  assert.deepEqual(boots.map((b) => b.release), [RELEASE_612], 'and of the boot');
  console.log(`linux 6.12 release: ${s.extended.length} extended records and ${s.legacy.length} legacy lines stored as sent`);
  s.db.close();
});

test('Linux 6.12 configfs target with userdata (short and 150 bytes): fields on every record, the 2048-byte cut', { timeout: 900_000 }, async (t) => {
  const r = await runOrSkip(t, 'userdata612');
  if (!r) return;
  const s = compareWithSent(r, RUNS.userdata612);
  assertAllScenarios(s, 'linux 6.12 userdata');
  assert.ok(s.extended.every((m) => {
    const f = JSON.parse(m.fields);
    return f.rack === 'r12' && f.role === 'db' && f.long === 'u'.repeat(150) && !m.text.includes('rack=');
  }), 'userdata is a field of every record, never text');
  // Sysdata switches (cpu_nr_enabled, … : 6.15+) would be listed beside the keys: 6.12 has none.
  const dirLine = /userdata dir: ([^\r\n]*)/.exec(readFileSync(join(r.dir, 'serial.log'), 'latin1'));
  assert.deepEqual(dirLine?.[1].trim().split(/\s+/).sort(), ['long', 'rack', 'role'], 'configfs userdata holds the three keys and no sysdata switch');
  const cut = s.extended.filter((m) => m.truncated === 1);
  assert.equal(cut.length, 1);
  assert.ok(cut[0].text.startsWith('kn-frag utf8-long ') && !cut[0].text.includes('\ufffd'));
  console.log(`linux 6.12 userdata: ${s.extended.length} extended records and ${s.legacy.length} legacy lines stored as sent`);
  s.db.close();
});
