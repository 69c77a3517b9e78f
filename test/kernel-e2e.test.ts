// The real client: Debian's Linux 6.1 booted under qemu, netconsole aimed at a running `serve`.
// Needs root (the harness installs qemu and the kernel from Debian's packages on first use).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { SHARED } from './helpers/fixtures.js';
import { freeUdpPort, getJson, mustRun, startServe, tempDir, waitFor } from './helpers/serve.js';

const HARNESS = join(SHARED, 'tools/kernel-netconsole/run.sh');

test('Linux 6.1 under qemu: every burst line and the panic are stored', { timeout: 600_000 }, async (t) => {
  const why = process.getuid?.() !== 0 ? 'not root (the qemu harness needs root)' : !existsSync(HARNESS) ? `no harness at ${HARNESS}` : '';
  if (why) {
    if (mustRun('NCH_REQUIRE_KERNEL')) assert.fail(`NCH_REQUIRE_KERNEL=1 but ${why}`);
    t.skip(why);
    return;
  }
  const port = await freeUdpPort(true);
  const srv = await startServe({ udp: [`127.0.0.1:${port}`, `127.0.0.1:${port + 1}`] });
  try {
    const out = tempDir('nch-kernel-');
    const code = await new Promise<number | null>((res) => {
      const p = spawn(HARNESS, ['--external', '--port', String(port), '--port2', String(port + 1), '--out', out, '--time-limit', '240'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      p.stdout.on('data', (d) => (log += d));
      p.stderr.on('data', (d) => (log += d));
      p.on('exit', (c) => { if (c !== 0) console.log(log.slice(-3000)); res(c); });
    });
    assert.equal(code, 0, 'the harness ran the guest to its panic');
    // The harness's own record of what the guest sent is the ground truth for the count.
    const stats = await waitFor('the guest\'s records stored', async () => {
      const s = await getJson(`${srv.http}/api/stats`);
      return s.queue_depth === 0 && s.datagrams > 4000 ? s : undefined;
    });
    await new Promise((r) => setTimeout(r, 1500)); // let the last partial holds (≤ 1 s) expire
    assert.equal(await srv.stop(), 0);
    const db = new Database(srv.db, { readonly: true });
    const perSource = db.prepare(`SELECT s.address, s.format, COUNT(*) n,
        SUM(m.text LIKE 'kn-burst %/02000 %') burst,
        SUM(m.text LIKE 'Kernel panic - not syncing: sysrq triggered crash%') panic,
        SUM(m.text LIKE '---[ end Kernel panic - not syncing%') panic_end
      FROM messages m JOIN sources s ON s.id = m.source_id GROUP BY s.id ORDER BY s.format`).all() as Array<Record<string, any>>;
    assert.equal(perSource.length, 2, `two targets, two sources: ${JSON.stringify(perSource)}`);
    for (const s of perSource) {
      assert.equal(s.burst, 2000, `${s.format}: all 2000 burst lines`);
      assert.ok(s.panic >= 1 && s.panic_end >= 1, `${s.format}: the panic is stored`);
    }
    const gaps = db.prepare(`SELECT COUNT(*) n FROM seq_events WHERE type = 'gap'`).get() as { n: number };
    assert.equal(gaps.n, 0, 'no extended record lost');
    assert.equal(stats.checksum_errors, 0);
    db.close();
  } finally {
    await srv.stop('SIGKILL');
  }
});
