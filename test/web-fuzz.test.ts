// Property-based: any value of any API parameter gives 200 or a 4xx JSON error with a message,
// never a 500; any live-stream message gives rows or an error reply, never a crash.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WebSocket } from 'ws';
import { startWorld, record, getJson, type World } from './web-world.js';

let w: World;
before(async () => {
  w = await startWorld();
  await w.add([...Array(20).keys()].map((i) => record('10.3.0.1:6665', { seq: i, level: i % 8, text: `fuzz line ${i} panic eth0` })));
});
after(async () => {
  await w?.close();
});

const EDGES = ['-1', '0', '1', '1e9', '4294967295', '4294967296', '9007199254740991', '9007199254740993', '18446744073709551616', 'NaN', '', ' ', '"', '*', 'AND', 'NEAR(', 'x:y', '/(/', '2024-13-45', '2024-01-01T00:00:00Z'];
const value = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.integer().map(String),
  fc.constantFrom(...EDGES),
);
const PARAMS = ['host', 'hosts', 'boot', 'boot_from', 'level', 'facility', 'since', 'until', 'q', 'text', 'regex', 'seq_from', 'seq_to', 'before', 'after', 'limit', 'order', 'format', 'kind', 'signature'];
const PATHS = ['/api/messages', '/api/messages/3/context', '/api/hosts/10.3.0.1/boots/1/log', '/api/histogram', '/api/incidents'];

function assertHandled(status: number, body: unknown, url: string): void {
  assert.ok(status === 200 || (status >= 400 && status < 500), `${url} gave ${status}: ${JSON.stringify(body)}`);
  if (status !== 200) assert.ok(typeof (body as { message?: unknown }).message === 'string', `${url}: error without a message`);
}

async function getHandled(url: string): Promise<void> {
  const res = await fetch(url);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* text downloads are not JSON */
  }
  assertHandled(res.status, body, url);
}

// Every edge value on every parameter of every path, alone: deterministic, so a value one storage
// cannot hold (a boot beyond UInt32 on ClickHouse, say) fails every run, not one in a hundred.
test('edge values: each parameter alone on each path gives 200 or a 4xx with a message', async () => {
  for (const path of PATHS) {
    for (const param of PARAMS) {
      for (const v of EDGES) await getHandled(`${w.base}${path}?${new URLSearchParams({ [param]: v }).toString()}`);
    }
  }
  for (const v of EDGES.filter((e) => e !== '')) {
    const p = encodeURIComponent(v);
    for (const path of [`/api/messages/${p}/context`, `/api/hosts/10.3.0.1/boots/${p}/log`, `/api/hosts/${p}/boots/1/log`, `/api/incidents/${p}`]) await getHandled(`${w.base}${path}`);
  }
});

test('fuzz: /api/messages and friends never fail with a 500', async () => {
  await fc.assert(
    fc.asyncProperty(fc.dictionary(fc.constantFrom(...PARAMS), value, { maxKeys: 4 }), fc.constantFrom(...PATHS), async (params, path) => {
      await getHandled(`${w.base}${path}?${new URLSearchParams(params).toString()}`);
    }),
    { numRuns: 300, includeErrorInReport: true, ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH } : {}) },
  );
});

test('fuzz: path parameters', async () => {
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 30 }), fc.string({ maxLength: 12 }), async (host, boot) => {
      for (const path of [`/api/messages/${encodeURIComponent(boot)}/context`, `/api/hosts/${encodeURIComponent(host)}/boots/${encodeURIComponent(boot)}/log`]) {
        const r = await getJson(`${w.base}${path}`);
        assertHandled(r.status, r.body, path);
      }
    }),
    { numRuns: 100 },
  );
});

test('fuzz: live-stream messages get a reply, the server stays up', async () => {
  const ws = new WebSocket(`${w.base.replace('http', 'ws')}/api/live`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const replies: { type: string }[] = [];
  ws.on('message', (d) => replies.push(JSON.parse(String(d))));
  const samples = fc.sample(
    fc.oneof(
      fc.string({ maxLength: 50 }),
      fc.json(),
      fc.record({ filters: fc.record({ host: fc.anything(), level: fc.anything(), text: fc.anything() }, { requiredKeys: [] }), since_id: fc.anything() }, { requiredKeys: [] }).map((o) => JSON.stringify(o) ?? 'null'),
    ),
    { numRuns: 200, seed: 42 },
  );
  for (const s of samples) ws.send(s);
  ws.send(JSON.stringify({ filters: { text: 'marker-done' } }));
  const deadline = Date.now() + 10_000;
  while (!replies.some((r) => r.type === 'subscribed' && (r as { filters?: { text?: string } }).filters?.text === 'marker-done') && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(replies.length >= samples.length + 1, `every message got a reply (${replies.length} of ${samples.length + 1})`);
  assert.ok(replies.every((r) => ['subscribed', 'error', 'messages', 'missed'].includes(r.type)));
  ws.close();
  assert.equal((await getJson(`${w.base}/healthz`)).status, 200);
});
