// The real client again: Debian's Linux 6.1 under qemu runs `sysrq t` (the harness's `tasks`
// scenario) with netconsole aimed at a running `serve`. What the guest sent (its own frames,
// sent.jsonl) is compared with what was stored, record by record: every record one row with its own
// seq, flag and text, the `c` records of the scheduler dump included.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { NetconsoleReceiver } from '../src/netconsole/pipeline.js';
import type { LogRecord } from '../src/netconsole/types.js';
import { SHARED } from './helpers/fixtures.js';
import { freeUdpPort, getJson, mustRun, startServe, tempDir, waitFor } from './helpers/serve.js';

const HARNESS = join(SHARED, 'tools/kernel-netconsole/run.sh');

test('Linux 6.1 under qemu, sysrq t: every record the guest sent is one row, c records included', { timeout: 600_000 }, async (t) => {
  const why = process.getuid?.() !== 0 ? 'not root (the qemu harness needs root)' : !existsSync(HARNESS) ? `no harness at ${HARNESS}` : '';
  if (why) {
    if (mustRun('NCH_REQUIRE_KERNEL')) assert.fail(`NCH_REQUIRE_KERNEL=1 but ${why}`);
    t.skip(why);
    return;
  }
  const port = await freeUdpPort(true);
  const srv = await startServe({ udp: [`127.0.0.1:${port}`, `127.0.0.1:${port + 1}`] });
  try {
    const out = tempDir('nch-kernel-tasks-');
    const code = await new Promise<number | null>((res) => {
      const p = spawn(HARNESS, ['--external', '--port', String(port), '--port2', String(port + 1), '--scenario', 'tasks', '--out', out, '--time-limit', '240'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      p.stdout.on('data', (d) => (log += d));
      p.stderr.on('data', (d) => (log += d));
      p.on('exit', (c) => { if (c !== 0) console.log(log.slice(-3000)); res(c); });
    });
    assert.equal(code, 0, 'the harness ran the guest');
    // The guest's own frames to the extended target, in the order it sent them.
    const sent = readFileSync(join(out, 'sent.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
      .filter((o) => o.port === port).map((o) => Buffer.from(o.b64, 'base64'));
    const want: LogRecord[] = [];
    const rx = new NetconsoleReceiver();
    const sink = { record: (r: LogRecord) => want.push(r), event: () => {} };
    sent.forEach((p, i) => rx.push('guest', p, i, sink));
    rx.flushAll(1e9, sink);
    assert.ok(want.length > 500, `the guest sent ${want.length} records`);
    await waitFor('every record stored', async () => {
      const s = await getJson(`${srv.http}/api/stats`);
      return s.queue_depth === 0 && s.messages >= want.length ? s : undefined;
    });
    await new Promise((r) => setTimeout(r, 1500)); // holds (≤ 1 s) of the legacy target expire
    assert.equal(await srv.stop(), 0);
    const db = new Database(srv.db, { readonly: true });
    const rows = db.prepare(`SELECT m.seq, m.flags, m.text FROM messages m JOIN sources s ON s.id = m.source_id
      WHERE s.format = 'extended' ORDER BY m.seq, m.id`).all() as Array<{ seq: number; flags: string; text: string }>;
    db.close();
    assert.deepEqual(rows.map((r) => [r.seq, r.flags, r.text]), want.map((r) => [r.seq, r.flags, r.text]), 'stored = sent, record by record');
    const c = rows.filter((r) => r.flags === 'c').length;
    assert.ok(c >= 100, `the scheduler dump's c records are rows (${c})`);
    console.log(`kernel 6.1 tasks: the guest sent ${want.length} records (${want.filter((r) => r.flags === 'c').length} with flag c), stored ${rows.length} (${c} with flag c)`);
  } finally {
    await srv.stop('SIGKILL');
  }
});
