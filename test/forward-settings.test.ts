// `--forward` as a serve setting: flags (repeatable), NCH_FORWARD, the config file; a bad URL stops
// serve at start with one line and exit status 2, before anything listens.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { settingsFromArgv } from '../src/commands/serve.js';
import { ROOT } from './helpers/fixtures.js';
import { tempDir } from './helpers/serve.js';

function withForwardEnv<T>(value: string | undefined, fn: () => T): T {
  const saved = process.env.NCH_FORWARD;
  if (value === undefined) delete process.env.NCH_FORWARD; else process.env.NCH_FORWARD = value;
  try { return fn(); } finally { if (saved === undefined) delete process.env.NCH_FORWARD; else process.env.NCH_FORWARD = saved; }
}

test('--forward comes from flags (repeatable), NCH_FORWARD (comma-separated) or the config file, in that order', () => {
  const urls = (args: string[], env?: string) => withForwardEnv(env, () => settingsFromArgv(args).forward.map((f) => f.url));
  assert.deepEqual(urls([]), []);
  const cfg = join(tempDir(), 'c.json');
  writeFileSync(cfg, JSON.stringify({ forward: ['syslog+tcp://10.0.0.9:514'] }));
  assert.deepEqual(urls(['--config', cfg]), ['syslog+tcp://10.0.0.9:514']);
  assert.deepEqual(urls(['--config', cfg], 'syslog+udp://10.0.0.8:514,syslog+tcp://[fd00::8]:601'), ['syslog+udp://10.0.0.8:514', 'syslog+tcp://[fd00::8]:601']);
  assert.deepEqual(urls(['--config', cfg, '--forward', 'syslog+tcp://a:1', '--forward', 'syslog+udp://b:2?max=1180'], 'syslog+udp://c:3'), ['syslog+tcp://a:1', 'syslog+udp://b:2?max=1180']);
  assert.throws(() => urls(['--forward', 'tcp://a:1']), /--forward tcp:\/\/a:1: unknown scheme 'tcp'/);
});

test('a bad --forward URL is one line on stderr and exit status 2', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/netconsole-hub'), 'serve', '--udp', '127.0.0.1:0', '--http', '127.0.0.1:0', '--db', join(tempDir(), 'x.db'), '--forward', 'syslog+tcp://logs.example'],
    { encoding: 'utf8', timeout: 20_000, env: { ...process.env, NCH_FORWARD: '' } });
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim(), 'netconsole-hub: --forward syslog+tcp://logs.example: no port (expected syslog+tcp://HOST:PORT or syslog+udp://HOST:PORT)');
  assert.doesNotMatch(r.stdout, /listening/);
});
