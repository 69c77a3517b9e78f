// The API and the live stream of a real `serve` filled over UDP with the real 6.1 kernel capture:
// what the live stream pushed is what the API returns, the search finds the crash, the boot log
// reads like dmesg.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { loadJsonl } from './helpers/fixtures.js';
import { getJson, sendDatagrams, startServe, waitFor } from './helpers/serve.js';
import type { MessageJson } from '../src/web/types.js';

test('web over UDP: the extended 6.1 capture through serve, live stream and API agree', async () => {
  const datagrams = loadJsonl('extended.jsonl');
  const srv = await startServe();
  try {
    const ws = new WebSocket(`${srv.http.replace('http', 'ws')}/api/live`);
    const live: MessageJson[] = [];
    let subscribed = false;
    ws.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (m.type === 'subscribed') subscribed = true;
      if (m.type === 'messages') live.push(...m.rows);
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send('{}');
    await waitFor('the live subscription', () => subscribed || undefined);
    await sendDatagrams(srv.udpPort, datagrams.map((d) => d.payload));
    const records = 2479;
    await waitFor('every record stored', async () => (await getJson(`${srv.http}/api/stats`)).messages === records || undefined);
    await waitFor('every record pushed live', () => live.length >= records || undefined);
    assert.equal(live.length, records, 'each record pushed once');

    // Page through the API and compare with what was pushed.
    const fromApi: MessageJson[] = [];
    let before: number | null | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await getJson(`${srv.http}/api/messages?limit=1000${before ? `&before=${before}` : ''}`);
      fromApi.push(...page.messages);
      before = page.older;
      if (before === null) break;
    }
    assert.deepEqual(fromApi.reverse(), live);

    const hosts = (await getJson(`${srv.http}/api/hosts`)).hosts;
    assert.equal(hosts.length, 1);
    assert.equal(hosts[0].messages, records);
    assert.equal(hosts[0].lost_records, 0);
    assert.equal(hosts[0].boots.length, 1);

    const crash = await getJson(`${srv.http}/api/messages?q=${encodeURIComponent('sysrq AND crash')}`);
    assert.ok(crash.messages.some((m: MessageJson) => /sysrq: Trigger a crash/.test(m.text)), 'search finds the sysrq crash');
    const panic = await getJson(`${srv.http}/api/messages?q=${encodeURIComponent('"Kernel panic"')}&level=0`);
    assert.ok(panic.messages.length >= 1, 'the panic is found at emerg level');

    const log = await (await fetch(`${srv.http}/api/hosts/${encodeURIComponent(hosts[0].host)}/boots/1/log`)).text();
    const lines = log.trimEnd().split('\n');
    assert.ok(lines.length >= records, 'one line (or more, for multi-line records) per record');
    assert.match(lines[0]!, /^\[\s+0\.000000\] Linux version 6\.1\.0-56-amd64/);
    assert.ok(lines.every((l) => /^\[\s*\d+\.\d{6}\] /.test(l) || !l.startsWith('[')), 'dmesg-like prefixes');
    ws.close();
  } finally {
    await srv.stop();
  }
});
