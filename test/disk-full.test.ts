// Issue 8: the disk fills up under the database: ingest keeps counting what it could not store,
// /healthz and the log say so, storing resumes when space returns, and stored data is intact.
// Needs root to mount a small tmpfs (a real "disk" that really fills).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { getJson, mustRun, sendDatagrams, startServe, tempDir, waitFor } from './helpers/serve.js';

function records(from: number, n: number, tag: string): Buffer[] {
  return Array.from({ length: n }, (_, i) => Buffer.from(`6,${from + i},${(from + i) * 1000},-;${tag} record ${from + i} ${'d'.repeat(200)}\n`));
}

test('disk full: counted while it lasts, reported by /healthz, storing resumes, data intact', { timeout: 180_000 }, async (t) => {
  if (process.getuid?.() !== 0) {
    if (mustRun('NCH_REQUIRE_ROOT')) assert.fail('NCH_REQUIRE_ROOT=1 but not root (needed to mount a small tmpfs)');
    t.skip('not root: cannot mount a small tmpfs to fill');
    return;
  }
  const mnt = join(tempDir('nch-full-'), 'fs');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mnt]);
  let srv: Awaited<ReturnType<typeof startServe>> | null = null;
  try {
    srv = await startServe({ db: join(mnt, 'n.db') });
    await sendDatagrams(srv.udpPort, records(0, 200, 'before'));
    await waitFor('first records', async () => (await getJson(`${srv!.http}/api/stats`)).messages === 200);
    // Fill the rest of the file system.
    spawnSync('dd', ['if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=64k'], { stdio: 'ignore' });
    await sendDatagrams(srv.udpPort, records(200, 3000, 'during'));
    const failing = await waitFor('writes failing', async () => {
      const s = await getJson(`${srv!.http}/api/stats`);
      return s.dropped.write_error > 0 ? s : undefined;
    });
    assert.ok(failing.dropped.write_error > 0);
    const h1 = await fetch(`${srv.http}/healthz`);
    assert.equal(h1.status, 503);
    assert.match(JSON.stringify(await h1.json()), /database writes are failing/);
    assert.match(srv.log(), /storage write failed/);
    // Space returns.
    rmSync(join(mnt, 'filler'));
    await sendDatagrams(srv.udpPort, records(5000, 100, 'after'));
    await waitFor('storing again', async () => (await fetch(`${srv!.http}/healthz`)).status === 200);
    await waitFor('after records stored', async () => {
      const r = await getJson(`${srv!.http}/api/messages?q=after&limit=500`);
      return r.messages.length === 100;
    });
    assert.equal(await srv.stop(), 0);
    const db = new Database(join(mnt, 'n.db'), { readonly: true });
    assert.equal((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
    const before = db.prepare(`SELECT COUNT(*) n FROM messages WHERE text LIKE 'before record %'`).get() as { n: number };
    assert.equal(before.n, 200, 'what was stored before the disk filled is intact');
    db.close();
  } finally {
    await srv?.stop('SIGKILL');
    spawnSync('umount', ['-l', mnt]);
  }
});
