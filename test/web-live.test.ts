// GET /api/live over a real WebSocket: filters, resume without hole or duplicate while ingest goes
// on, the replay bound, and a slow client that is told what it missed without slowing the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { startWorld, record, T0, type World } from './web-world.js';
import type { MessageJson } from '../src/web/types.js';
import type { StoreQueries } from '../src/receiver/store/port.js';

const A = '10.1.0.1:6665';
const B = '10.1.0.2:6665';

interface Client {
  ws: WebSocket;
  rows: MessageJson[];
  msgs: any[];
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves once `pred` holds over what was received (polled on each message; bounded by timeoutMs). */
  until(pred: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  send(obj: unknown): void;
}

async function connect(w: World): Promise<Client> {
  const ws = new WebSocket(`${w.base.replace('http', 'ws')}/api/live`);
  const rows: MessageJson[] = [];
  const msgs: any[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data) => {
    const m = JSON.parse(String(data));
    msgs.push(m);
    if (m.type === 'messages') rows.push(...m.rows);
    for (const w of waiters) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws, rows, msgs, closed,
    send: (obj) => ws.send(JSON.stringify(obj)),
    until(pred, what, timeoutMs = 10_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pred()) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${what}; got ${msgs.length} messages, ${rows.length} rows`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

const lines = (source: string, from: number, n: number, p: { level?: number; text?: string } = {}) =>
  [...Array(n).keys()].map((i) => record(source, { seq: from + i, level: p.level ?? 6, receivedAt: T0 + from + i, text: `${p.text ?? 'line'} ${from + i}` }));

test('live: filters by host, level and text; rows are what was stored', async () => {
  const w = await startWorld();
  try {
    await w.add(lines(A, 0, 1)); // host A exists before the subscription
    const all = await connect(w);
    const hostB = await connect(w);
    const errs = await connect(w);
    const text = await connect(w);
    all.send({});
    hostB.send({ filters: { host: '10.1.0.2' } });
    errs.send({ filters: { level: 3 } });
    text.send({ filters: { text: 'OOPS' } });
    for (const c of [all, hostB, errs, text]) await c.until(() => c.msgs.some((m) => m.type === 'subscribed'), 'subscribed');
    const stored = await w.add([...lines(A, 1, 3), ...lines(B, 0, 3), ...lines(A, 10, 2, { level: 2, text: 'an oops here' })]);
    await all.until(() => all.rows.length === stored.length, 'all rows');
    assert.deepEqual(all.rows, stored);
    await hostB.until(() => hostB.rows.length === 3, 'host B rows');
    assert.ok(hostB.rows.every((r) => r.host === '10.1.0.2'));
    await errs.until(() => errs.rows.length === 2, 'error rows');
    assert.ok(errs.rows.every((r) => r.level === 2));
    await text.until(() => text.rows.length === 2, 'text rows');
    // Nothing else arrives: a final marker row proves the filtered streams saw everything before it.
    await w.add([record(A, { seq: 99, level: 1, text: 'oops marker' })]);
    await text.until(() => text.rows.length === 3, 'marker');
    assert.equal(hostB.rows.length, 3);
    assert.equal(w.hub.clientCount, 4);
    for (const c of [all, hostB, errs, text]) c.ws.close();
  } finally {
    await w.close();
  }
});

test('live: a bad subscription gets an error message, the socket stays usable', async () => {
  const w = await startWorld();
  try {
    const c = await connect(w);
    c.ws.send('not json');
    c.send({ filters: { level: 12 } });
    c.send({ since_id: -1 });
    await c.until(() => c.msgs.filter((m) => m.type === 'error').length === 3, 'three errors');
    assert.match(c.msgs[0].message, /not JSON/);
    assert.match(c.msgs[1].message, /level/);
    assert.match(c.msgs[2].message, /since_id/);
    c.send({});
    const stored = await w.add(lines(A, 0, 2));
    await c.until(() => c.rows.length === 2, 'rows');
    assert.deepEqual(c.rows.map((r) => r.id), stored.map((r) => r.id));
    c.ws.close();
  } finally {
    await w.close();
  }
});

test('live: resume with since_id during ingest has no hole and no duplicate', async () => {
  // Small replay pages and a zero drain threshold make the replay yield between pages while the
  // writer keeps storing and publishing.
  const w = await startWorld({ replayPage: 7, resumeBelowBytes: 0 });
  try {
    const history = await w.add(lines(A, 0, 120));
    const since = history[29]!.id;
    const c = await connect(w);
    let seq = 1000;
    let ingesting = true;
    const ingest = (async () => {
      for (let i = 0; i < 40 && ingesting; i++) {
        await w.add(lines(A, seq, 5));
        seq += 5;
      }
    })();
    c.send({ since_id: since });
    await ingest;
    ingesting = false;
    const expected = w.stored.filter((r) => r.id > since).map((r) => r.id);
    await c.until(() => c.rows.length >= expected.length, 'every row after since_id');
    const got = c.rows.map((r) => r.id);
    assert.deepEqual(got, expected, 'every stored row after since_id exactly once, in order');
    c.ws.close();
  } finally {
    await w.close();
  }
});

test('live: a resume replays at most maxReplay records and reports the rest as missed', async () => {
  const w = await startWorld({ maxReplay: 50 });
  try {
    const stored = await w.add(lines(A, 0, 80));
    const c = await connect(w);
    c.send({ since_id: 0 });
    await c.until(() => c.rows.length === 50, 'the newest 50');
    assert.deepEqual(c.msgs.find((m) => m.type === 'missed')?.count, 30);
    assert.deepEqual(c.rows.map((r) => r.id), stored.slice(30).map((r) => r.id));
    c.ws.close();
  } finally {
    await w.close();
  }
});

test('live: a slow client is told what it missed and never holds back a fast one', async () => {
  const w = await startWorld({ maxBufferedBytes: 64 * 1024, resumeBelowBytes: 16 * 1024, tickMs: 20 });
  try {
    const fast = await connect(w);
    const slow = await connect(w);
    fast.send({});
    slow.send({});
    await fast.until(() => fast.msgs.length > 0, 'fast subscribed');
    await slow.until(() => slow.msgs.length > 0, 'slow subscribed');
    // The slow client stops reading: its socket buffers fill up on both ends.
    (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const big = 'x'.repeat(4000);
    let sent = 0;
    for (let i = 0; i < 60; i++) {
      const batch = [...Array(50).keys()].map((k) => record(A, { seq: sent + k, text: `${big} ${sent + k}` }));
      await w.add(batch);
      sent += batch.length;
      await fast.until(() => fast.rows.length === sent, `fast client has ${sent}`);
    }
    assert.equal(fast.rows.length, sent, 'the fast client got every row');
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    // Once drained, the slow client hears how many it missed; later rows reach it again.
    await slow.until(() => slow.msgs.some((m) => m.type === 'missed'), 'missed notice', 20_000);
    const missed = slow.msgs.filter((m) => m.type === 'missed').reduce((n, m) => n + m.count, 0);
    assert.ok(missed > 0);
    await w.add([record(A, { seq: 99_999, text: 'after the storm' })]);
    await slow.until(() => slow.rows.some((r) => r.text === 'after the storm'), 'rows after recovery');
    assert.equal(slow.rows.length + missed, sent + 1, 'every row was either delivered or counted as missed');
    fast.ws.close();
    slow.ws.close();
  } finally {
    await w.close();
  }
});

test('live: a client that misses too much is disconnected with a reason', async () => {
  const w = await startWorld({ maxBufferedBytes: 32 * 1024, resumeBelowBytes: 8 * 1024, maxMissed: 100 });
  try {
    const slow = await connect(w);
    slow.send({});
    await slow.until(() => slow.msgs.length > 0, 'subscribed');
    (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const big = 'y'.repeat(4000);
    let disconnected = false;
    void slow.closed.then(() => (disconnected = true));
    for (let i = 0; i < 100 && w.hub.clientCount > 0; i++) {
      await w.add([...Array(50).keys()].map((k) => record(A, { seq: i * 50 + k, text: big })));
    }
    assert.equal(w.hub.clientCount, 0, 'the session left the hub');
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const { code, reason } = await slow.closed;
    assert.ok(disconnected);
    assert.equal(code, 1008);
    assert.match(reason, /too slow: \d+ records missed/);
  } finally {
    await w.close();
  }
});

test('live: a batch stored unpublished right after the subscription reply still reaches the client', async () => {
  // The newest id a new subscription starts from is read from the store; a slow read (here held
  // 300 ms) must not let rows stored after the client heard 'subscribed' fall below it.
  const slowMax = (s: StoreQueries): StoreQueries => new Proxy(s, {
    get(target, prop) {
      if (prop === 'maxMessageId') return async () => { await new Promise((r) => setTimeout(r, 300)); return target.maxMessageId(); };
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const w = await startWorld({}, slowMax);
  try {
    await w.add(lines(A, 0, 5));
    const c = await connect(w);
    c.send({});
    await c.until(() => c.msgs.some((m) => m.type === 'subscribed'), 'subscribed');
    const unpublished = await w.add(lines(A, 100, 4), false);
    const published = await w.add(lines(A, 200, 3));
    const expected = [...unpublished, ...published];
    await c.until(() => c.rows.length >= expected.length, 'every row stored after the reply');
    assert.deepEqual(c.rows.map((r) => r.id), expected.map((r) => r.id));
    c.ws.close();
  } finally {
    await w.close();
  }
});

test('live: rows stored but never published (the batches in flight when the first client came) are read from the database', async () => {
  // serve asks the writer for rows only while someone watches: a batch already on its way when the
  // first client subscribes is stored without being published. add(…, false) stores one like that.
  const w = await startWorld();
  try {
    await w.add(lines(A, 0, 20));
    for (const sub of [{}, { since_id: w.stored[9]!.id }, { filters: { level: 3 } }]) {
      const c = await connect(w);
      const start = w.stored.length;
      c.send(sub);
      await c.until(() => c.msgs.some((m) => m.type === 'subscribed'), 'subscribed');
      if ('since_id' in sub) await c.until(() => c.rows.length === start - 10, 'the replay');
      const unpublished = await w.add([...lines(A, 100, 7), ...lines(A, 200, 3, { level: 2 })], false);
      const published = await w.add([...lines(A, 300, 5), ...lines(A, 400, 2, { level: 1 })]);
      const level = (sub as { filters?: { level: number } }).filters?.level ?? 7;
      const expected = [...('since_id' in sub ? w.stored.slice(10, start) : []), ...unpublished, ...published].filter((r) => r.level! <= level);
      await c.until(() => c.rows.length >= expected.length, `${JSON.stringify(sub)}: every row stored after subscribing`);
      assert.deepEqual(c.rows.map((r) => r.id), expected.map((r) => r.id), JSON.stringify(sub));
      c.ws.close();
    }
  } finally {
    await w.close();
  }
});
