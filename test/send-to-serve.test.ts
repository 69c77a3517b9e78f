// Issue 5 end to end: the sender into a running receiver: every line stored once, in order.
import assert from 'node:assert/strict';
import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { getJson, startServe, tempDir, waitFor } from './helpers/serve.js';
import { runSend, startSend } from './sender-helpers.js';

function storedTexts(db: string): string[] {
  const d = new Database(db, { readonly: true });
  const rows = d.prepare('SELECT text FROM messages ORDER BY id').all() as Array<{ text: string }>;
  d.close();
  return rows.map((r) => r.text);
}

test('send --stdin to serve: every line stored once, in order, both formats', async () => {
  const srv = await startServe();
  try {
    const lines = Array.from({ length: 500 }, (_, i) => `stdin line ${String(i).padStart(4, '0')} ${'é'.repeat(i % 5)}`);
    const ext = await runSend(['--stdin', '--target', `127.0.0.1:${srv.udpPort}`, '--source-port', '0'], lines.join('\n') + '\n');
    assert.equal(ext.code, 0, ext.stderr);
    const leg = await runSend(['--stdin', '--format', 'legacy', '--target', `127.0.0.1:${srv.udpPort}`, '--source-port', '0'], lines.join('\n') + '\n');
    assert.equal(leg.code, 0, leg.stderr);
    await waitFor('stored', async () => (await getJson(`${srv.http}/api/stats`)).messages === 1000);
    assert.equal(await srv.stop(), 0);
    const texts = storedTexts(srv.db);
    assert.deepEqual(texts.slice(0, 500), lines);
    assert.deepEqual(texts.slice(500), lines);
  } finally {
    await srv.stop('SIGKILL');
  }
});

test('send --file with a rotation in the middle: every line stored once, in order', async () => {
  const srv = await startServe();
  const dir = tempDir('nch-file-');
  const path = join(dir, 'app.log');
  writeFileSync(path, '');
  const s = startSend(['--file', path, '--from', 'beginning', '--target', `127.0.0.1:${srv.udpPort}`, '--source-port', '0']);
  try {
    const before = Array.from({ length: 200 }, (_, i) => `before rotation ${i}`);
    const after = Array.from({ length: 200 }, (_, i) => `after rotation ${i}`);
    appendFileSync(path, before.join('\n') + '\n');
    await waitFor('first half stored', async () => (await getJson(`${srv.http}/api/stats`)).messages === 200);
    renameSync(path, path + '.1');
    writeFileSync(path, after.join('\n') + '\n');
    await waitFor('second half stored', async () => (await getJson(`${srv.http}/api/stats`)).messages === 400);
    s.child.kill('SIGTERM');
    await s.done;
    assert.equal(await srv.stop(), 0);
    assert.deepEqual(storedTexts(srv.db), [...before, ...after]);
  } finally {
    s.child.kill('SIGKILL');
    await srv.stop('SIGKILL');
  }
});

test('send --target NAME:PORT resolves the name once; an unknown name is a one-line error', async (t) => {
  const { lookup } = await import('node:dns/promises');
  const { hostname } = await import('node:os');
  const name = hostname();
  const addr = await lookup(name, { family: 4 }).then((r) => r.address, () => '');
  if (!addr.startsWith('127.')) {
    // Traffic in tests goes to loopback only: a host name that is not loopback here cannot be used.
    t.skip(`this machine's name '${name}' does not resolve to a loopback address (${addr || 'unresolved'})`);
    return;
  }
  const srv = await startServe({ udp: ['0.0.0.0:0'] });
  try {
    const r = await runSend(['--message', 'sent to a name', '--target', `${name}:${srv.udpPort}`, '--source-port', '0']);
    assert.equal(r.code, 0, r.stderr);
    await waitFor('stored', async () => (await getJson(`${srv.http}/api/stats`)).messages === 1);
    const bad = await runSend(['--message', 'x', '--target', 'no-such-host.invalid:6666']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /cannot resolve --target host 'no-such-host.invalid'/);
  } finally {
    await srv.stop('SIGKILL');
  }
});
