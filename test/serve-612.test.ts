// The frozen Linux 6.12 frames (test/fixtures/kernel-6.12) replayed over loopback UDP to a real
// `serve`: the cut record is stored and served as `truncated`, userdata as fields, the release on
// the record and its boot.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { readCaptureFile } from '../src/capture/read.js';
import { ROOT } from './helpers/fixtures.js';
import { getJson, sendDatagrams, startServe, waitFor } from './helpers/serve.js';

const DIR = join(ROOT, 'test/fixtures/kernel-6.12');

function payloadsOf(name: string, source: string): Buffer[] {
  return [...readCaptureFile(join(DIR, `${name}.guest-eth0.pcap`))].filter((d) => d.source === source).map((d) => Buffer.from(d.payload));
}

test('6.12 frames through serve: truncated in the row and the API, userdata and release as fields', async () => {
  const srv = await startServe();
  try {
    const ud = payloadsOf('userdata', '10.0.2.15:6664'); // the extended configfs target with userdata
    const rel = payloadsOf('release', '10.0.2.15:6665'); // the extended target with the release prefix
    await sendDatagrams(srv.udpPort, ud);
    await sendDatagrams(srv.udpPort, rel);
    await waitFor('both targets stored', async () => {
      const s = await getJson(`${srv.http}/api/stats`);
      return s.queue_depth === 0 && s.messages >= 316 + 1300;
    });
    const page = await getJson(`${srv.http}/api/messages?limit=5000&order=asc`);
    const msgs = page.messages as Array<Record<string, any>>;
    assert.ok(msgs.every((m) => typeof m.truncated === 'boolean'), 'every message says truncated: true or false');
    const cut = msgs.filter((m) => m.truncated);
    assert.equal(cut.length, 2, 'the UTF-8 line of each boot');
    for (const m of cut) {
      assert.equal(m.seq, 397);
      assert.ok(m.text.startsWith('kn-frag utf8-long ') && !m.text.includes('rack='));
    }
    const withUd = msgs.filter((m) => m.fields.rack === 'r12');
    assert.equal(withUd.length, 316);
    assert.ok(withUd.every((m) => m.fields.role === 'db' && m.fields.long === 'u'.repeat(150)));
    assert.equal(await srv.stop(), 0);
    const db = new Database(srv.db, { readonly: true });
    const rows = db.prepare('SELECT seq, truncated, release FROM messages WHERE truncated = 1 ORDER BY id').all();
    assert.deepEqual(rows, [{ seq: 397, truncated: 1, release: null }, { seq: 397, truncated: 1, release: '6.12.118+deb12-amd64' }]);
    const boots = db.prepare('SELECT release FROM boots ORDER BY id').all().map((b: any) => b.release);
    assert.ok(boots.includes('6.12.118+deb12-amd64'), 'the release is a field of the boot');
    assert.equal((db.prepare("SELECT count(*) n FROM messages WHERE text LIKE '6.12.118%'").get() as { n: number }).n, 0);
    db.close();
  } finally {
    await srv.stop('SIGKILL');
  }
});
