// `netconsole-hub query` (and the client's errors and auth, `tail` included) as real processes
// against a real `serve` holding the real 6.1 captures of two hosts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadJsonl, ROOT } from './helpers/fixtures.js';
import { startServe, type ServeProcess } from './helpers/serve.js';
import { apiMessages, freeTcpPort, runCli, sendFrom, settled, startTail, type CliResult } from './helpers/cli.js';
import type { MessageJson } from '../src/web/types.js';

const EXTENDED = loadJsonl('extended.jsonl').map((d) => d.payload);
const T2 = loadJsonl('legacy.t2-extended.jsonl').map((d) => d.payload);

const hasScript = () => spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

const parse = (r: CliResult) => r.stdout.trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l) as MessageJson);

/** A user-facing failure: non-zero, one line on stderr, no stack trace, nothing on stdout. */
function assertOneLineError(r: CliResult, re: RegExp): void {
  assert.notEqual(r.code, 0, `exit status: ${JSON.stringify(r)}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, re);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at |Error:/);
}

describe('query against a serve holding two hosts', () => {
  let srv: ServeProcess;
  let all: MessageJson[];
  before(async () => {
    srv = await startServe({ extraArgs: ['--host-name', '127.0.0.2=box2'] });
    await sendFrom('127.0.0.1', srv.udpPort, EXTENDED);
    await sendFrom('127.0.0.2', srv.udpPort, T2);
    await settled(srv.http, EXTENDED.length + T2.length);
    all = await apiMessages(srv.http);
  });
  after(() => srv.stop());

  it('--json prints the API objects as they are, oldest first, across many pages', async () => {
    const r = await runCli(['query', '--server', srv.http, '--json', '--page-size', '333']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.ok(all.length > 333 * 10);
    assert.deepEqual(parse(r), all);
    // Byte for byte, too: the same JSON text the API sends for each object.
    const page = await (await fetch(`${srv.http}/api/messages?limit=3&order=asc&after=0`)).text();
    const raw = JSON.parse(page).messages.map((m: unknown) => JSON.stringify(m));
    assert.deepEqual(r.stdout.split('\n').slice(0, 3), raw);
  });

  it('--host, --level, --boot, --q, --since/--until select exactly what the API does', async () => {
    const mid = all[Math.floor(all.length / 2)]!.received_at;
    const cases: [string[], Record<string, string | number>][] = [
      [['--host', 'box2'], { host: 'box2' }],
      [['--host', '127.0.0.2', '--level', 'warn'], { host: 'box2', level: 4 }],
      [['--level', '0'], { level: 0 }],
      [['--host', '127.0.0.1', '--boot', '1'], { host: '127.0.0.1', boot: 1 }],
      [['--q', '"Kernel panic"'], { q: '"Kernel panic"' }],
      [['--host', 'box2', '--q', 'sysrq'], { host: 'box2', q: 'sysrq' }],
      [['--since', String(mid), '--until', String(mid + 50)], { since: mid, until: mid + 50 }],
    ];
    for (const [flags, params] of cases) {
      const expected = await apiMessages(srv.http, params);
      assert.ok(expected.length > 0 && expected.length < all.length, `${flags.join(' ')} selects some`);
      const r = await runCli(['query', '--server', srv.http, '--json', '--page-size', '100', ...flags]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(parse(r), expected, flags.join(' '));
    }
  });

  it('prints dmesg-like text: [host] [ kernel-time] text, control characters escaped, no colour in a pipe', async () => {
    const r = await runCli(['query', '--server', srv.http, '--host', '127.0.0.1']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    const records = all.filter((m) => m.host === '127.0.0.1');
    assert.equal(lines.filter((l) => l.startsWith('[127.0.0.1] [')).length, records.length, 'one prefixed line per record');
    assert.ok(lines.every((l) => /^\[127\.0\.0\.1\] \[\s*\d+\.\d{6}\] /.test(l) || /^ {27,}/.test(l)), 'continuation lines are indented');
    assert.match(lines[0]!, /^\[127\.0\.0\.1\] \[    0\.000000\] Linux version 6\.1\.0-56-amd64 /);
    assert.ok(!r.stdout.includes('\x1b'), 'no raw escape: not from colour, not from the record');
    assert.ok(lines.some((l) => l.includes('ctrl:\\x01\\x07\\x1b[31mred\\x1b[0m')));
    const panic = lines.filter((l) => l.includes('Kernel panic - not syncing: sysrq triggered crash'));
    assert.ok(panic.length >= 1);
  });

  it('--color auto colours on a terminal (a pty from script(1)) and not with NO_COLOR or --color never', { skip: hasScript() ? false : 'script(1) from util-linux is not installed: no pty to test on' }, async () => {
    const onPty = async (args: string, env: Record<string, string> = {}) => {
      const cmd = `"${process.execPath}" "${join(ROOT, 'bin/netconsole-hub')}" query --server ${srv.http} --level 0 ${args}`;
      const e: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm', ...env };
      if (!('NO_COLOR' in env)) delete e.NO_COLOR;
      const child = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'], env: e });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const code = await new Promise<number | null>((res) => child.on('close', res));
      assert.equal(code, 0, out);
      return out;
    };
    const auto = await onPty('');
    assert.match(auto, /\x1b\[7;31mkn-basic level=0 short line\x1b\[0m/, 'emerg in reverse red, as dmesg --color');
    assert.match(auto, /\x1b\[32m\[\s+\d+\.\d{6}\]\x1b\[0m/, 'the time in green');
    assert.ok(!(await onPty('--color never')).includes('\x1b['));
    assert.ok(!(await onPty('', { NO_COLOR: '1' })).includes('\x1b['));
  });

  it('| head: exits 0 quietly when the reader goes away', async () => {
    const bin = join(ROOT, 'bin/netconsole-hub');
    const child = spawn('bash', ['-c', `set -o pipefail; "${process.execPath}" "${bin}" query --server ${srv.http} --page-size 50 | head -n 2`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((res) => child.on('close', res));
    assert.equal(err, '');
    assert.equal(code, 0, 'pipefail: query itself exited 0');
    assert.equal(out.trimEnd().split('\n').length, 2);
  });

  it('refuses bad flags and requests in one line, exit 2', async () => {
    assertOneLineError(await runCli(['query', '--server', srv.http, '--level', 'loud']), /--level must be 0\.\.7 or one of emerg, .*not 'loud'/);
    assertOneLineError(await runCli(['tail', '--server', srv.http, '--level', '9']), /--level must be/);
    assertOneLineError(await runCli(['query', '--server', srv.http, '--since', 'tuesday']), /--since must be/);
    assertOneLineError(await runCli(['tail', '--server', srv.http, '--grep', '(']), /--grep is not a valid regular expression/);
    assertOneLineError(await runCli(['query', '--server', 'localhost:8080']), /--server must be an http/);
    assertOneLineError(await runCli(['query', '--server', srv.http, '--color', 'sometimes']), /--color must be auto, always or never/);
    assertOneLineError(await runCli(['tail', '--server', srv.http, '--boot', '2']), /--boot needs --host/);
    const fts = await runCli(['query', '--server', srv.http, '--q', '"unbalanced']);
    assertOneLineError(fts, /refused the request \(400\): invalid full-text query/);
    assert.equal(fts.code, 2);
  });

  it('NETCONSOLE_HUB_URL names the server; --server wins over it', async () => {
    const r = await runCli(['query', '--json', '--level', '0'], { NETCONSOLE_HUB_URL: srv.http });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(parse(r), await apiMessages(srv.http, { level: 0 }));
    const port = await freeTcpPort();
    const both = await runCli(['query', '--json', '--level', '0', '--server', srv.http], { NETCONSOLE_HUB_URL: `http://127.0.0.1:${port}` });
    assert.equal(both.code, 0, both.stderr);
    assert.equal(parse(both).length, parse(r).length);
  });
});

describe('the client and an unreachable or token-protected collector', () => {
  it('a collector that is not there: one line, non-zero, for query and tail', async () => {
    const port = await freeTcpPort();
    const url = `http://127.0.0.1:${port}`;
    assertOneLineError(await runCli(['query', '--server', url]), /cannot reach the collector at http:\/\/127\.0\.0\.1:\d+\/ \(connection refused\)/);
    assertOneLineError(await runCli(['tail'], { NETCONSOLE_HUB_URL: url }), /cannot reach the collector's live stream .*connection refused/);
  });

  it('with --auth-token: no token and a wrong one are refused in one line; the right one works over HTTP and the WebSocket', async () => {
    const token = 'tail-query-test-token-0123456789';
    const srv = await startServe({ extraArgs: ['--auth-token', token] });
    try {
      const auth = { authorization: `Bearer ${token}` };
      await sendFrom('127.0.0.1', srv.udpPort, EXTENDED.slice(0, 200));
      await settled(srv.http, 200, auth);
      for (const cmd of ['query', 'tail']) {
        assertOneLineError(await runCli([cmd, '--server', srv.http]), /needs a token: pass --token or set NETCONSOLE_HUB_TOKEN/);
        assertOneLineError(await runCli([cmd, '--server', srv.http, '--token', 'wrong-token']), /refused the token \(401: wrong token\)/);
        assertOneLineError(await runCli([cmd, '--server', srv.http], { NETCONSOLE_HUB_TOKEN: 'wrong-token' }), /refused the token/);
      }
      const q = await runCli(['query', '--server', srv.http, '--json'], { NETCONSOLE_HUB_TOKEN: token });
      assert.equal(q.code, 0, q.stderr);
      assert.deepEqual(parse(q), await apiMessages(srv.http, {}, auth));
      // The flag wins over a wrong token in the environment.
      const tail = startTail(['--server', srv.http, '--since', '0', '--json', '--token', token], { NETCONSOLE_HUB_TOKEN: 'wrong-token' });
      try {
        await tail.waitStderr(/following live/);
        await sendFrom('127.0.0.1', srv.udpPort, EXTENDED.slice(200, 400));
        await settled(srv.http, 400, auth);
        const expected = await apiMessages(srv.http, {}, auth);
        await tail.waitLines(expected.length);
        assert.deepEqual(tail.lines.map((l) => JSON.parse(l)), expected);
      } finally {
        await tail.stop();
      }
    } finally {
      await srv.stop();
    }
  });
});
