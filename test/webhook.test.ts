// The webhook poster against real HTTP servers on 127.0.0.1: retried with backoff until accepted,
// bounded queue, permanent errors not retried, unreachable endpoint given up on, never blocking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebhookPoster, incidentWebhookBody, parseWebhookUrl } from '../src/receiver/webhook.js';
import type { Incident } from '../src/netconsole/incidents.js';

interface Hit { body: unknown; contentType: string | undefined }

/** A local server whose answer to the n-th request (1-based) is decided by `answer`. */
async function server(answer: (n: number, res: ServerResponse) => void): Promise<{ url: string; hits: Hit[]; close: () => Promise<void> }> {
  const hits: Hit[] = [];
  const srv = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({ body: JSON.parse(Buffer.concat(chunks).toString('utf8')), contentType: req.headers['content-type'] });
      answer(hits.length, res);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    hits,
    close: () => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }),
  };
}

/** Waits (bounded: at most ~10 s) until cond() holds. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), `gave up waiting for: ${what}`);
}

const FAST = { baseDelayMs: 5, maxDelayMs: 50, timeoutMs: 2000 };

const INCIDENT = {
  key: 'h|1|1', id: 7, host: '10.0.0.1', kind: 'panic', severity: 'critical', headline: 'Kernel panic - not syncing: sysrq triggered crash',
  started_at: 1, ended_at: 2, ended_by: 'end-marker', ts_usec: 1, first_message_id: 1, last_message_id: 2, lines: ['x'], modules: [],
  release: '6.1.0-56-amd64', signature: '0123456789abcdef', signature_frames: [], context_before: [],
} satisfies Incident;

test('a server that fails the first two attempts (503) gets the body on the third', async () => {
  const s = await server((n, res) => { res.statusCode = n <= 2 ? 503 : 204; res.end(); });
  const problems: string[] = [];
  const poster = new WebhookPoster(s.url, { ...FAST, onProblem: (m) => problems.push(m) });
  try {
    const body = incidentWebhookBody(INCIDENT, 'http://hub.example:8080/');
    assert.equal(poster.post(body), true);
    await until(() => poster.stats().sent === 1, 'delivery');
    assert.equal(s.hits.length, 3);
    for (const h of s.hits) {
      assert.deepEqual(h.body, JSON.parse(JSON.stringify(body)));
      assert.equal(h.contentType, 'application/json');
    }
    assert.equal((s.hits[0].body as { text: string }).text,
      '[panic] 10.0.0.1: Kernel panic - not syncing: sysrq triggered crash http://hub.example:8080/#incidents/7');
    assert.deepEqual(poster.stats(), { queued: 0, sent: 1, failed: 0, dropped: 0, retries: 2 });
    assert.deepEqual(problems, []);
  } finally {
    await poster.close();
    await s.close();
  }
});

test('bodies are delivered in order; a full queue drops the oldest waiting body', async () => {
  const s = await server((_n, res) => { res.statusCode = 200; res.end('ok'); });
  const poster = new WebhookPoster(s.url, { ...FAST, maxQueue: 2 });
  try {
    // post never waits: 1 goes out at once, 2..5 queue behind it and the bound keeps the newest two
    for (let i = 1; i <= 5; i++) poster.post({ n: i });
    assert.equal(poster.stats().dropped, 2);
    assert.equal(poster.stats().queued, 2);
    await until(() => poster.stats().sent === 3, 'three deliveries');
    assert.deepEqual(s.hits.map((h) => h.body), [{ n: 1 }, { n: 4 }, { n: 5 }]);
    poster.post({ n: 6 });
    await until(() => poster.stats().sent === 4, 'fourth delivery');
    assert.deepEqual(s.hits.map((h) => h.body), [{ n: 1 }, { n: 4 }, { n: 5 }, { n: 6 }]);
  } finally {
    await poster.close();
    await s.close();
  }
});

test('a permanent client error (400) is not retried; 429 is', async () => {
  const s = await server((n, res) => { res.statusCode = n === 1 ? 400 : n === 2 ? 429 : 200; res.end(); });
  const problems: string[] = [];
  const poster = new WebhookPoster(s.url, { ...FAST, onProblem: (m) => problems.push(m) });
  try {
    poster.post({ n: 1 });
    poster.post({ n: 2 });
    await until(() => poster.stats().sent === 1, 'second body delivered');
    assert.deepEqual(s.hits.map((h) => h.body), [{ n: 1 }, { n: 2 }, { n: 2 }]);
    assert.deepEqual(poster.stats(), { queued: 0, sent: 1, failed: 1, dropped: 0, retries: 1 });
    assert.equal(problems.length, 1);
    assert.match(problems[0], /answered HTTP 400; not retrying/);
  } finally {
    await poster.close();
    await s.close();
  }
});

test('an unreachable endpoint is given up on after maxAttempts, and the poster keeps working', async () => {
  const s = await server((_n, res) => { res.end(); });
  const deadUrl = s.url;
  await s.close(); // nothing listens there now: connection refused
  const problems: string[] = [];
  const poster = new WebhookPoster(deadUrl, { ...FAST, maxAttempts: 3, onProblem: (m) => problems.push(m) });
  try {
    poster.post({ n: 1 });
    await until(() => poster.stats().failed === 1, 'give up');
    assert.deepEqual(poster.stats(), { queued: 0, sent: 0, failed: 1, dropped: 0, retries: 2 });
    assert.match(problems[0], /failed 3 times \(last: ECONNREFUSED\); giving up/);
  } finally {
    await poster.close();
  }
});

test('a server that never answers: the attempt times out and is retried; close() aborts it', async () => {
  const pending: ServerResponse[] = [];
  const s = await server((_n, res) => { pending.push(res); });
  const poster = new WebhookPoster(s.url, { ...FAST, timeoutMs: 100, maxAttempts: 100 });
  try {
    poster.post({ n: 1 });
    await until(() => s.hits.length >= 2, 'a retry after the timeout');
    assert.ok(poster.stats().retries >= 1);
    await poster.close();
    assert.equal(poster.post({ n: 2 }), false, 'closed posters refuse');
    assert.equal(poster.stats().sent, 0);
  } finally {
    await poster.close();
    await s.close();
  }
});

test('close(grace) lets the queue drain first', async () => {
  const s = await server((_n, res) => { res.statusCode = 200; res.end(); });
  const poster = new WebhookPoster(s.url, FAST);
  poster.post({ n: 1 });
  poster.post({ n: 2 });
  await poster.close(5000);
  assert.equal(poster.stats().sent, 2);
  await s.close();
});

test('bad --webhook values are one-line errors', () => {
  assert.throws(() => parseWebhookUrl('not a url'), /^Error: --webhook "not a url" is not a URL/);
  assert.throws(() => new WebhookPoster('ftp://x/'), /must be an http:\/\/ or https:\/\/ URL, got ftp:/);
  assert.equal(parseWebhookUrl('https://hooks.example/abc').host, 'hooks.example');
});
