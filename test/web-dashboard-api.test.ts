// What the dashboard added to the API, against a real server over a real SQLite file: the text,
// regex and hosts filters of /api/messages (the regex checked against JavaScript over every row),
// the same filters on the live stream (replay and live), /api/histogram and /api/setup.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { startWorld, record, getJson, T0, type World } from './web-world.js';
import type { MessageJson } from '../src/web/types.js';

const A = '10.3.0.1:6665';
const B = '10.3.0.2:6665';
const C = '10.3.0.3:6665';
let w: World;
let all: MessageJson[];

const TEXTS = ['EXT4-fs error (device sda1): ext4_find_entry', 'ext4-fs warning: mounting unchecked fs', 'usb 1-1: new high-speed USB device',
  'Out of memory: Killed process 812', 'e1000: eth1 NIC Link is Up', 'WARNING: CPU: 1 PID: 42 at net/core/dev.c:12'];

before(async () => {
  w = await startWorld();
  // Three hosts, 8 levels, two facilities, records spread over three minutes.
  await w.add([A, B, C].flatMap((src, h) => [...Array(24).keys()].map((i) => record(src, {
    seq: i, level: i % 8, facility: i % 5 === 0 ? 1 : 0, tsUsec: 1000 + i, receivedAt: T0 + h * 60_000 + i * 1000, text: `${TEXTS[i % TEXTS.length]} #${h}.${i}`,
  }))));
  all = [...w.stored];
});

after(async () => {
  await w.close();
});

async function ids(query: string): Promise<number[]> {
  const r = await getJson(`${w.base}/api/messages?limit=5000&${query}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.messages.map((m: MessageJson) => m.id);
}

const newestFirst = (rows: MessageJson[]) => rows.map((m) => m.id).reverse();

test('/api/messages regex= selects exactly what JavaScript selects, with /…/flags or bare', async () => {
  for (const pattern of ['/ext4-fs (error|warning)/', '/ext4-fs (error|warning)/i', '/^WARNING: CPU: \\d+/', 'Link is (Up|Down)', '/#[12]\\.1\\d$/']) {
    const m = /^\/(.*)\/([imsu]*)$/s.exec(pattern);
    const re = m ? new RegExp(m[1]!, m[2]) : new RegExp(pattern);
    const expected = newestFirst(all.filter((r) => re.test(r.text)));
    assert.ok(expected.length > 0, pattern);
    assert.deepEqual(await ids(`regex=${encodeURIComponent(pattern)}`), expected, pattern);
  }
  // Case matters without i: "EXT4-fs" only.
  assert.equal((await ids(`regex=${encodeURIComponent('/ext4-fs error/')}`)).length, 0);
  const bad = await getJson(`${w.base}/api/messages?regex=${encodeURIComponent('/ext4(/')}`);
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /invalid regex/);
});

test('/api/messages text= (substring, any case), hosts=a,b, with level and facility', async () => {
  assert.deepEqual(await ids('text=EXT4-FS'), newestFirst(all.filter((r) => r.text.toLowerCase().includes('ext4-fs'))));
  assert.deepEqual(await ids('hosts=10.3.0.1,10.3.0.3'), newestFirst(all.filter((r) => r.host !== '10.3.0.2')));
  assert.deepEqual(await ids('hosts=10.3.0.2&level=3&facility=1&text=e'),
    newestFirst(all.filter((r) => r.host === '10.3.0.2' && r.level! <= 3 && r.facility === 1 && r.text.includes('e'))));
  // With a full-text query too (FTS drives, the regex tests each match).
  assert.deepEqual(await ids(`q=ext4*&regex=${encodeURIComponent('/#0\\./')}`), newestFirst(all.filter((r) => /ext4/i.test(r.text) && /#0\./.test(r.text))));
  assert.deepEqual(await ids('hosts=10.9.9.9'), []);
});

test('/api/histogram: records per minute and level over the range, with the same filters', async () => {
  const r = await getJson(`${w.base}/api/histogram?since=${T0}&until=${T0 + 3 * 60_000 - 1}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.bucket_ms, 60_000);
  const expected = new Map<number, number[]>();
  for (const m of all) {
    const t = Math.floor(m.received_at / 60_000) * 60_000;
    const counts = expected.get(t) ?? new Array(9).fill(0);
    counts[m.level ?? 8] += 1;
    expected.set(t, counts);
  }
  assert.deepEqual(r.body.buckets, [...expected].sort((a, b) => a[0] - b[0]).map(([t, counts]) => ({ t, counts })));
  const f = await getJson(`${w.base}/api/histogram?since=${T0}&until=${T0 + 3 * 60_000}&hosts=10.3.0.2&regex=${encodeURIComponent('/USB/')}`);
  assert.equal(f.body.buckets.reduce((n: number, b: { counts: number[] }) => n + b.counts.reduce((x, y) => x + y, 0), 0),
    all.filter((m) => m.host === '10.3.0.2' && /USB/.test(m.text)).length);
  // A long range gets wider buckets, never more than 1500.
  const year = await getJson(`${w.base}/api/histogram?since=${T0 - 365 * 86_400_000}&until=${T0}`);
  assert.ok(year.body.bucket_ms >= 365 * 86_400_000 / 1500 && year.body.bucket_ms % 60_000 === 0);
  assert.equal((await getJson(`${w.base}/api/histogram?since=${T0}&until=${T0 - 1}`)).status, 400);
  assert.equal((await getJson(`${w.base}/api/histogram?regex=${encodeURIComponent('/(/')}`)).status, 400);
});

test('/api/setup: the UDP listeners (none without a receiver) and this machine\'s addresses', async () => {
  const r = await getJson(`${w.base}/api/setup`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.udp, []);
  assert.ok(Array.isArray(r.body.addresses));
});

test('live stream: hosts, facility and regex filter the replay and the live rows alike; a bad regex is an error', async () => {
  const ws = new WebSocket(`${w.base.replace('http', 'ws')}/api/live`);
  const msgs: any[] = [];
  ws.on('message', (d) => msgs.push(JSON.parse(String(d))));
  await new Promise<void>((res, rej) => {
    ws.once('open', () => res());
    ws.once('error', rej);
  });
  const until = async (pred: () => boolean, what: string): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    ws.send(JSON.stringify({ filters: { regex: '/(/' } }));
    await until(() => msgs.some((m) => m.type === 'error' && /invalid regex/.test(m.message)), 'the error');
    const filter = (r: MessageJson) => (r.host === '10.3.0.1' || r.host === '10.3.0.3') && r.facility === 0 && /ext4-fs/i.test(r.text);
    ws.send(JSON.stringify({ filters: { hosts: ['10.3.0.1', '10.3.0.3'], facility: 0, regex: '/ext4-fs/i' }, since_id: 0 }));
    const rows = () => msgs.filter((m) => m.type === 'messages').flatMap((m) => m.rows as MessageJson[]);
    const replayed = all.filter(filter).map((r) => r.id);
    await until(() => rows().length >= replayed.length, 'the replay');
    const live = await w.add([C, B].map((src, i) => record(src, { seq: 100 + i, facility: 0, receivedAt: T0 + 500_000, text: `EXT4-fs error live ${i}` })));
    await until(() => rows().length >= replayed.length + 1, 'the live row');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(rows().map((r) => r.id), [...replayed, live[0]!.id], 'host B filtered out');
  } finally {
    ws.close();
  }
});
