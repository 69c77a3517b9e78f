// Access control against a real `serve` on loopback: with --auth-token (or NCH_AUTH_TOKEN, or a
// token file) every /api/* request, the live WebSocket and /metrics need the bearer token or the
// dashboard's session cookie; /healthz and the dashboard's files stay open; errors are JSON 401s.
// Without a token, binding HTTP beyond loopback prints a one-line warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { settingsFromArgv } from '../src/commands/serve.js';
import { TokenAuth, exposureWarnings, safeEqual } from '../src/web/auth.js';
import { sendDatagrams, startServe, tempDir, waitFor, type ServeProcess } from './helpers/serve.js';

const TOKEN = 'a3f9c2e7b1d04f6a9e8c7b6a5d4c3b2a';

async function call(url: string, init: RequestInit = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body, headers: res.headers };
}

function bearer(token: string): RequestInit {
  return { headers: { authorization: `Bearer ${token}` } };
}

function assert401(r: { status: number; body: any; headers: Headers }, message: RegExp): void {
  assert.equal(r.status, 401);
  assert.match(r.headers.get('content-type') ?? '', /application\/json/);
  assert.equal(r.body.statusCode, 401);
  assert.equal(r.body.error, 'Unauthorized');
  assert.match(r.body.message, message);
  assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
}

/** Opens a WebSocket: 'open' with the socket, or the HTTP status the upgrade was refused with. */
function openWs(srv: ServeProcess, headers: Record<string, string> = {}): Promise<{ ws?: WebSocket; status?: number; body?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${srv.http.replace('http', 'ws')}/api/live`, { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode, body });
      });
      res.on('error', reject);
    });
    ws.once('error', (err) => reject(err));
  });
}

/** Subscribes and collects pushed rows' text. */
async function subscribe(ws: WebSocket): Promise<string[]> {
  const texts: string[] = [];
  let subscribed = false;
  ws.on('message', (d) => {
    const m = JSON.parse(String(d));
    if (m.type === 'subscribed') subscribed = true;
    if (m.type === 'messages') texts.push(...m.rows.map((r: { text: string }) => r.text));
  });
  ws.send('{}');
  await waitFor('the live subscription', () => subscribed || undefined);
  return texts;
}

test('token auth on a real serve: 401 without or with a wrong token, bearer and cookie work, WebSocket guarded', async () => {
  const srv = await startServe({ extraArgs: ['--auth-token', TOKEN] });
  try {
    const base = srv.http;
    assert.doesNotMatch(srv.log(), /without --auth-token/, 'loopback with a token: no warning');

    // Refused: no token, a wrong token, a malformed header, a lookalike of the right one.
    assert401(await call(`${base}/api/hosts`), /needs a token/);
    assert401(await call(`${base}/api/hosts`, bearer('wrong')), /wrong token/);
    assert401(await call(`${base}/api/hosts`, bearer(TOKEN.slice(0, -1))), /wrong token/);
    assert401(await call(`${base}/api/hosts`, bearer(TOKEN + 'x')), /wrong token/);
    assert401(await call(`${base}/api/hosts`, { headers: { authorization: TOKEN } }), /Bearer <token>/);
    assert401(await call(`${base}/api/hosts`, { headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` } }), /Bearer/);
    for (const path of ['/api/messages', '/api/stats', '/api/incidents', '/api/messages/1/context', '/api/hosts/x/boots/1/log', '/api/no-such-route', '/metrics']) {
      assert401(await call(base + path), /token/);
    }
    // A percent-encoded path that routes to an API route is guarded too.
    const encoded = await call(`${base}/%61pi/hosts`);
    assert.notEqual(encoded.status, 200, 'an encoded /api path does not bypass the token');
    assert.ok(!JSON.stringify(encoded.body).includes('"hosts"'));

    // Open: health checks, the dashboard's files, the session probe.
    const health = await call(`${base}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(health.body.ok, true);
    const page = await call(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(String(page.body), /id="login-form"/);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.equal((await call(`${base}/app.js`)).status, 200);
    assert.deepEqual((await call(`${base}/api/session`)).body, { auth_required: true, authenticated: false });

    // Bearer token: the API and the metrics.
    const hosts = await call(`${base}/api/hosts`, bearer(TOKEN));
    assert.equal(hosts.status, 200);
    assert.deepEqual(hosts.body, { hosts: [] });
    assert.equal((await call(`${base}/api/messages`, { headers: { authorization: `bearer   ${TOKEN}` } })).status, 200, 'scheme is case-insensitive');
    const metrics = await call(`${base}/metrics`, bearer(TOKEN));
    assert.equal(metrics.status, 200);
    assert.match(String(metrics.body), /netconsole_datagrams_total/);
    assert.deepEqual((await call(`${base}/api/session`, bearer(TOKEN))).body, { auth_required: true, authenticated: true });

    // Login: a wrong token is a 401 without a cookie; the right one sets an HttpOnly, SameSite=Strict cookie.
    const json = (token: unknown, extra: Record<string, string> = {}): RequestInit => ({
      method: 'POST', headers: { 'content-type': 'application/json', ...extra }, body: JSON.stringify({ token }),
    });
    const bad = await call(`${base}/api/login`, json('nope'));
    assert401(bad, /wrong token/);
    assert.equal(bad.headers.get('set-cookie'), null);
    assert.equal((await call(`${base}/api/login`, json(''))).status, 400);
    assert.equal((await call(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 400);
    assert.equal((await call(`${base}/api/login`, json(TOKEN, { origin: 'http://evil.example' }))).status, 403, 'a cross-site login is refused');
    const login = await call(`${base}/api/login`, json(TOKEN));
    assert.equal(login.status, 200);
    const setCookie = login.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^nch_session=v1\.\d+\.[A-Za-z0-9_-]{43}; /);
    assert.match(setCookie, /; HttpOnly/);
    assert.match(setCookie, /; SameSite=Strict/);
    assert.match(setCookie, /; Path=\//);
    assert.doesNotMatch(setCookie, new RegExp(TOKEN), 'the cookie is not the token');
    const cookie = setCookie.split(';')[0]!;
    const withCookie = await call(`${base}/api/hosts`, { headers: { cookie } });
    assert.equal(withCookie.status, 200);
    assert.deepEqual((await call(`${base}/api/session`, { headers: { cookie } })).body, { auth_required: true, authenticated: true });
    assert.equal((await call(`${base}/metrics`, { headers: { cookie } })).status, 200);
    // A forged or altered cookie is refused.
    const [, expiry, mac] = /^nch_session=v1\.(\d+)\.(.+)$/.exec(cookie)!;
    assert401(await call(`${base}/api/hosts`, { headers: { cookie: `nch_session=v1.${Number(expiry) + 1000}.${mac}` } }), /session/);
    assert401(await call(`${base}/api/hosts`, { headers: { cookie: `nch_session=${TOKEN}` } }), /session/);
    assert401(await call(`${base}/api/hosts`, { headers: { cookie: `other=1; nch_session=v1.${expiry}.${'A'.repeat(43)}` } }), /session/);
    // With the cookie, a request from another origin is refused.
    assert.equal((await call(`${base}/api/hosts`, { headers: { cookie, origin: 'http://evil.example' } })).status, 403);
    // Logout clears the cookie.
    const logout = await call(`${base}/api/logout`, { method: 'POST' });
    assert.match(logout.headers.get('set-cookie') ?? '', /^nch_session=; .*Max-Age=0/);

    // WebSocket: refused with a 401 (no upgrade) without a token or with a wrong one ...
    const none = await openWs(srv);
    assert.equal(none.status, 401);
    assert.match(JSON.parse(none.body!).message, /needs a token/);
    assert.equal((await openWs(srv, { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await openWs(srv, { cookie: 'nch_session=v1.99999999999999.' + 'A'.repeat(43) })).status, 401);
    assert.equal((await openWs(srv, { cookie, origin: 'http://evil.example' })).status, 403, 'cross-site WebSocket hijacking refused');
    // ... accepted with the bearer token or the session cookie, and records flow.
    const byBearer = await openWs(srv, { authorization: `Bearer ${TOKEN}` });
    const byCookie = await openWs(srv, { cookie, origin: base });
    assert.ok(byBearer.ws && byCookie.ws, 'both sockets open');
    const a = await subscribe(byBearer.ws!);
    const b = await subscribe(byCookie.ws!);
    await sendDatagrams(srv.udpPort, [Buffer.from('6,0,1000,-;authorized stream works\n')]);
    await waitFor('the record on both sockets', () => (a.includes('authorized stream works') && b.includes('authorized stream works')) || undefined);
    byBearer.ws!.close();
    byCookie.ws!.close();
    // The refused requests reached no data: the record is stored once and visible only with the token.
    const msgs = await call(`${base}/api/messages`, bearer(TOKEN));
    assert.deepEqual(msgs.body.messages.map((m: { text: string }) => m.text), ['authorized stream works']);
  } finally {
    await srv.stop();
  }
});

test('token from NCH_AUTH_TOKEN and from --auth-token-file', async () => {
  const env = await startServe({ env: { NCH_AUTH_TOKEN: TOKEN } });
  try {
    assert401(await call(`${env.http}/api/stats`), /needs a token/);
    assert.equal((await call(`${env.http}/api/stats`, bearer(TOKEN))).status, 200);
  } finally {
    await env.stop();
  }
  const file = join(tempDir(), 'token');
  writeFileSync(file, `${TOKEN}\n`, { mode: 0o600 });
  const fromFile = await startServe({ extraArgs: ['--auth-token-file', file] });
  try {
    assert401(await call(`${fromFile.http}/api/hosts`), /needs a token/);
    assert.equal((await call(`${fromFile.http}/api/hosts`, bearer(TOKEN))).status, 200, 'the trailing newline is not part of the token');
    assert.equal((await openWs(fromFile)).status, 401);
  } finally {
    await fromFile.stop();
  }
});

test('token settings: flags over environment over config file; one source per level; empty refused', () => {
  const dir = tempDir();
  const file = join(dir, 'token');
  writeFileSync(file, 'from-file-token\n');
  const cfg = join(dir, 'c.json');
  writeFileSync(cfg, JSON.stringify({ authTokenFile: file }));
  const saved = process.env.NCH_AUTH_TOKEN;
  try {
    delete process.env.NCH_AUTH_TOKEN;
    assert.equal(settingsFromArgv([]).authToken, undefined);
    assert.equal(settingsFromArgv(['--config', cfg]).authToken, 'from-file-token');
    process.env.NCH_AUTH_TOKEN = 'from-env-token';
    assert.equal(settingsFromArgv(['--config', cfg]).authToken, 'from-env-token', 'env over config file');
    assert.equal(settingsFromArgv(['--config', cfg, '--auth-token-file', file]).authToken, 'from-file-token', 'a flag over env');
    assert.equal(settingsFromArgv(['--auth-token', 'from-flag-token']).authToken, 'from-flag-token');
    delete process.env.NCH_AUTH_TOKEN;
    assert.throws(() => settingsFromArgv(['--auth-token', 'x', '--auth-token-file', file]), /either/);
    assert.throws(() => settingsFromArgv(['--auth-token', '  ']), /empty/);
    writeFileSync(join(dir, 'empty'), '\n');
    assert.throws(() => settingsFromArgv(['--auth-token-file', join(dir, 'empty')]), /empty/);
    assert.throws(() => settingsFromArgv(['--auth-token-file', join(dir, 'missing')]), /cannot read --auth-token-file .*ENOENT/);
  } finally {
    if (saved === undefined) delete process.env.NCH_AUTH_TOKEN; else process.env.NCH_AUTH_TOKEN = saved;
  }
});

test('constant-time helpers: equal-length digests, sessions expire', () => {
  assert.equal(safeEqual('abc', 'abc'), true);
  assert.equal(safeEqual('abc', 'abcd'), false, 'different lengths compare without throwing');
  let now = 1_000_000;
  const auth = new TokenAuth(TOKEN, () => now);
  const s = auth.newSession();
  assert.equal(auth.checkSession(s.value), true);
  assert.equal(new TokenAuth(TOKEN + 'other', () => now).checkSession(s.value), false, 'a new token ends old sessions');
  now += s.maxAgeSec * 1000 + 1;
  assert.equal(auth.checkSession(s.value), false, 'expired');
  assert.deepEqual(exposureWarnings('127.0.0.1', 8080, undefined), []);
  assert.deepEqual(exposureWarnings('::1', 8080, undefined), []);
  assert.deepEqual(exposureWarnings('0.0.0.0', 8080, undefined), ['HTTP on 0.0.0.0:8080 without --auth-token: anyone who can reach it can read every log']);
  assert.deepEqual(exposureWarnings('::', 8080, undefined), ['HTTP on [::]:8080 without --auth-token: anyone who can reach it can read every log']);
  assert.deepEqual(exposureWarnings('0.0.0.0', 8080, TOKEN), []);
  assert.match(exposureWarnings('127.0.0.1', 8080, 'short')[0] ?? '', /only 5 characters/);
});

test('HTTP on 0.0.0.0 without a token prints the warning at start (traffic only to 127.0.0.1)', async () => {
  const open = await startServe({ extraArgs: ['--http', '0.0.0.0:0'] });
  try {
    const port = Number(/:(\d+)$/.exec(open.http)![1]);
    const lines = open.log().split('\n').filter((l) => l.includes('without --auth-token'));
    assert.equal(lines.length, 1, 'one warning line');
    const warning = JSON.parse(lines[0]!);
    assert.equal(warning.level, 40, 'logged at warn');
    assert.equal(warning.msg, `HTTP on 0.0.0.0:${port} without --auth-token: anyone who can reach it can read every log`);
    assert.equal((await call(`http://127.0.0.1:${port}/api/hosts`)).status, 200, 'no token: open, as warned');
  } finally {
    await open.stop();
  }
  const guarded = await startServe({ extraArgs: ['--http', '0.0.0.0:0', '--auth-token', TOKEN] });
  try {
    const port = Number(/:(\d+)$/.exec(guarded.http)![1]);
    assert.doesNotMatch(guarded.log(), /without --auth-token/);
    assert.equal((await call(`http://127.0.0.1:${port}/api/hosts`)).status, 401);
  } finally {
    await guarded.stop();
  }
  const local = await startServe();
  try {
    assert.doesNotMatch(local.log(), /without --auth-token/, 'loopback: no warning');
  } finally {
    await local.stop();
  }
});
