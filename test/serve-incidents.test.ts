// Issue 6 wired into serve: the fixture's sysrq crash becomes one panic incident, served by the
// API and posted to the webhook; the NMI backtrace before it is not a panic.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { loadJsonl } from './helpers/fixtures.js';
import { getJson, sendDatagrams, startServe, waitFor } from './helpers/serve.js';

test('serve finds the fixture panic, serves it and posts it to the webhook', async () => {
  const bodies: any[] = [];
  const hook = createServer((req, res) => {
    let b = '';
    req.on('data', (d) => (b += d));
    req.on('end', () => { bodies.push(JSON.parse(b)); res.end('ok'); });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  const port = (hook.address() as { port: number }).port;
  const srv = await startServe({ extraArgs: ['--webhook', `http://127.0.0.1:${port}/hook`] });
  try {
    await sendDatagrams(srv.udpPort, loadJsonl('extended.jsonl').map((d) => d.payload));
    const list = await waitFor('panic incident', async () => {
      const r = await getJson(`${srv.http}/api/incidents`);
      return r.incidents?.some((i: any) => i.kind === 'panic') ? r.incidents : undefined;
    });
    const kinds = list.map((i: any) => i.kind).sort();
    assert.deepEqual(kinds.filter((k: string) => k === 'panic'), ['panic'], 'one panic, not two');
    const panic = list.find((i: any) => i.kind === 'panic');
    assert.match(panic.headline, /Kernel panic - not syncing: sysrq triggered crash/);
    // The report is complete once its end line arrived (the incident closes).
    const detail = await waitFor('complete report', async () => {
      const d = (await getJson(`${srv.http}/api/incidents/${panic.id}`)).incident;
      return d.ended_by ? d : undefined;
    });
    assert.ok(detail.lines.some((l: string) => l.includes('Call Trace:')));
    assert.ok(detail.lines.some((l: string) => l.startsWith('---[ end Kernel panic')));
    const posted = await waitFor('webhook body', () => bodies.find((b) => b.incident?.kind === 'panic'));
    assert.match(posted.text, /panic/);
  } finally {
    await srv.stop('SIGKILL');
    hook.close();
  }
});
