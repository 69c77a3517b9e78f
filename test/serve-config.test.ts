// Configuration precedence: flags > environment > config file > defaults; unknown keys refused.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { settingsFromArgv } from '../src/commands/serve.js';
import { loadJsonl } from './helpers/fixtures.js';
import { getJson, sendDatagrams, startServe, tempDir, waitFor } from './helpers/serve.js';

function withEnv<T>(env: Record<string, string>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try { return fn(); } finally {
    for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
  }
}

test('defaults, config file, environment and flags, in that order of strength', () => {
  const d = settingsFromArgv([]);
  assert.deepEqual(d.udp, [{ host: '0.0.0.0', port: 6666 }, { host: '::', port: 6666 }]);
  assert.deepEqual(d.http, { host: '127.0.0.1', port: 8080 });
  assert.equal(d.db, './data/netconsole.db');
  assert.equal(d.udpReader, 'auto');
  assert.equal(withEnv({ NCH_UDP_READER: 'dgram' }, () => settingsFromArgv([])).udpReader, 'dgram');
  assert.equal(settingsFromArgv(['--udp-reader', 'recvmmsg']).udpReader, 'recvmmsg');
  const cfg = join(tempDir(), 'c.json');
  writeFileSync(cfg, JSON.stringify({ db: '/from/config.db', http: '127.0.0.1:9000', udp: ['127.0.0.1:7000'], hostNames: { '10.0.0.1': 'web1' } }));
  const c = settingsFromArgv(['--config', cfg]);
  assert.equal(c.db, '/from/config.db');
  assert.deepEqual(c.udp, [{ host: '127.0.0.1', port: 7000 }]);
  assert.equal(c.hostNames.get('10.0.0.1'), 'web1');
  const e = withEnv({ NCH_DB: '/from/env.db', NCH_HTTP: '127.0.0.1:9100' }, () => settingsFromArgv(['--config', cfg]));
  assert.equal(e.db, '/from/env.db');
  assert.deepEqual(e.http, { host: '127.0.0.1', port: 9100 });
  assert.deepEqual(e.udp, [{ host: '127.0.0.1', port: 7000 }], 'not in env: the config file still counts');
  const f = withEnv({ NCH_DB: '/from/env.db' }, () => settingsFromArgv(['--config', cfg, '--db', '/from/flag.db', '--udp', '[::1]:7001', '--udp', '127.0.0.2:7002']));
  assert.equal(f.db, '/from/flag.db');
  assert.deepEqual(f.udp, [{ host: '::1', port: 7001 }, { host: '127.0.0.2', port: 7002 }]);
});

test('bad settings are one-line errors naming what is wrong', () => {
  const cfg = join(tempDir(), 'bad.json');
  writeFileSync(cfg, JSON.stringify({ db: 'x.db', colour: 'blue' }));
  assert.throws(() => settingsFromArgv(['--config', cfg]), /unknown key 'colour'/);
  writeFileSync(cfg, '{ not json');
  assert.throws(() => settingsFromArgv(['--config', cfg]), /not valid JSON/);
  assert.throws(() => settingsFromArgv(['--udp', 'nonsense']), /not HOST:PORT/);
  assert.throws(() => settingsFromArgv(['--http', '127.0.0.1:99999']), /port must be/);
  assert.throws(() => settingsFromArgv(['--capture', 'tap']), /udp or raw/);
  assert.throws(() => settingsFromArgv(['--udp-reader', 'epoll']), /--udp-reader must be auto, recvmmsg or dgram, not 'epoll'/);
});

test('a host-name map names the host in the API', async () => {
  const srv = await startServe({ extraArgs: ['--host-name', '127.0.0.1=testbox'] });
  try {
    await sendDatagrams(srv.udpPort, loadJsonl('extended.jsonl').slice(0, 20).map((d) => d.payload));
    const hosts = await waitFor('named host', async () => {
      const h = await getJson(`${srv.http}/api/hosts`);
      const list = Array.isArray(h) ? h : h.hosts;
      return list?.length ? list : undefined;
    });
    assert.equal(JSON.stringify(hosts).includes('testbox'), true, JSON.stringify(hosts));
  } finally {
    await srv.stop('SIGKILL');
  }
});

test('a port in use is a one-line error with exit status 2', async () => {
  const a = await startServe();
  try {
    const { spawnSync } = await import('node:child_process');
    const { ROOT } = await import('./helpers/fixtures.js');
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/netconsole-hub'), 'serve', '--udp', `127.0.0.1:${a.udpPort}`, '--http', '127.0.0.1:0', '--db', join(tempDir(), 'x.db')], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /already in use/);
    assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('netconsole-hub:')).length, 1);
  } finally {
    await a.stop('SIGKILL');
  }
});

test('repeatable settings from the environment take several values separated by commas', () => {
  const s = withEnv({ NCH_UDP: '127.0.0.1:7100, [::1]:7101', NCH_ALLOW: '10.0.0.0/8,fd00::/8' }, () => settingsFromArgv([]));
  assert.deepEqual(s.udp, [{ host: '127.0.0.1', port: 7100 }, { host: '::1', port: 7101 }]);
  assert.deepEqual(s.allow, ['10.0.0.0/8', 'fd00::/8']);
  assert.throws(() => withEnv({ NCH_ALLOW: '10.0.0.0/8,nonsense' }, () => settingsFromArgv([])), /nonsense/);
});
