// `netconsole-hub tail` as a real process against a real `serve` fed the real 6.1 captures over
// loopback UDP: the seam between history and live, following across a restart of `serve`, and the
// filters, each compared with what the API holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadJsonl } from './helpers/fixtures.js';
import { freeUdpPort, startServe, tempDir, waitFor } from './helpers/serve.js';
import { Follower } from '../src/client/follow.js';
import { hubFromOptions } from '../src/client/options.js';
import { apiMessages, freeTcpPort, runCli, sendFrom, settled, startTail } from './helpers/cli.js';
import type { MessageJson } from '../src/web/types.js';

const EXTENDED = loadJsonl('extended.jsonl').map((d) => d.payload);
const EXTENDED_RECORDS = 2479;

const parseHub = (server: string) => hubFromOptions({ server });
const ids = (lines: string[]) => lines.map((l) => (JSON.parse(l) as MessageJson).id);

test('tail --since: history then live while records keep arriving, every id exactly once, in order', async () => {
  const srv = await startServe();
  const first = 600;
  await sendFrom('127.0.0.1', srv.udpPort, EXTENDED.slice(0, first));
  await settled(srv.http, first);
  // One record per history request, so history takes a while and records arrive during it.
  const tail = startTail(['--server', srv.http, '--since', '0', '--json', '--page-size', '1']);
  try {
    // The rest arrives while tail starts, reads history and goes live (bounded: 1884 datagrams).
    await sendFrom('127.0.0.1', srv.udpPort, EXTENDED.slice(first), { burst: 5, pauseMs: 10 });
    await settled(srv.http, EXTENDED.length);
    const expected = (await apiMessages(srv.http)).map((m) => m.id);
    assert.equal(expected.length, EXTENDED_RECORDS);
    await tail.waitLines(expected.length);
    assert.deepEqual(ids(tail.lines), expected, 'every stored id once, in id order');
    const seam = /history: (\d+) records up to id (\d+); following live \((\d+) records arrived meanwhile\)/.exec(tail.stderr());
    assert.ok(seam, `the seam is reported: ${tail.stderr()}`);
    const [history, buffered] = [Number(seam[1]), Number(seam[3])];
    assert.ok(history > 0 && history < expected.length, `history (${history}) ended before the last record arrived`);
    assert.ok(buffered > 0, 'records arrived while history was read, and were neither lost nor repeated');
  } finally {
    await tail.stop();
    await srv.stop();
  }
});

test('tail follows across a restart of serve on the same ports and database, says so, and misses nothing', async () => {
  const dir = tempDir();
  const db = join(dir, 'netconsole.db');
  const udpPort = await freeUdpPort();
  const httpPort = await freeTcpPort();
  const opts = { db, udp: [`127.0.0.1:${udpPort}`], extraArgs: ['--http', `127.0.0.1:${httpPort}`] };
  let srv = await startServe(opts);
  await sendFrom('127.0.0.1', udpPort, EXTENDED.slice(0, 300));
  await settled(srv.http, 300);
  const before = (await apiMessages(srv.http)).length;
  const tail = startTail(['--server', srv.http, '--json']);
  try {
    await tail.waitStderr(/following live after id (\d+)/);
    await sendFrom('127.0.0.1', udpPort, EXTENDED.slice(300, 1200));
    await settled(srv.http, 1200);
    const partB = (await apiMessages(srv.http)).slice(before).map((m) => m.id);
    await tail.waitLines(partB.length);
    assert.deepEqual(ids(tail.lines), partB, 'the records sent while following');

    await srv.stop();
    await tail.waitStderr(/lost the live stream/);
    srv = await startServe(opts);
    assert.equal(srv.http, `http://127.0.0.1:${httpPort}`);
    // Sent at once: tail may still be waiting out its backoff, so these come from its resume.
    await sendFrom('127.0.0.1', udpPort, EXTENDED.slice(1200));
    await settled(srv.http, EXTENDED.length - 1200);
    await tail.waitStderr(/reconnected to http:\/\/127\.0\.0\.1:\d+\/; resuming after id (\d+)/);
    const all = (await apiMessages(srv.http)).slice(before).map((m) => m.id);
    assert.ok(all.length > partB.length);
    await tail.waitLines(all.length);
    assert.deepEqual(ids(tail.lines), all, 'every record after the start once, in order, across the restart');
    const err = tail.stderr();
    assert.ok(err.indexOf('lost the live stream') < err.indexOf('reconnected'), err);
    assert.equal(tail.child.exitCode, null, 'tail is still following');
  } finally {
    await tail.stop();
    await srv.stop();
  }
});

test('tail --host --level --grep select exactly what the API holds for them, in history and live', async () => {
  const t2 = loadJsonl('legacy.t2-extended.jsonl').map((d) => d.payload);
  const srv = await startServe({ extraArgs: ['--host-name', '127.0.0.2=box2'] });
  const half = (a: Uint8Array[]) => Math.floor(a.length / 2);
  await sendFrom('127.0.0.1', srv.udpPort, EXTENDED.slice(0, half(EXTENDED)));
  await sendFrom('127.0.0.2', srv.udpPort, t2.slice(0, half(t2)));
  await settled(srv.http, half(EXTENDED) + half(t2));
  const grep = 'kn-basic|\\+0x[0-9a-f]+/';
  const tail = startTail(['--server', srv.http, '--since', '0', '--host', 'box2', '--level', 'warn', '--grep', grep, '--json']);
  try {
    await tail.waitStderr(/following live/);
    await sendFrom('127.0.0.1', srv.udpPort, EXTENDED.slice(half(EXTENDED)));
    await sendFrom('127.0.0.2', srv.udpPort, t2.slice(half(t2)));
    await settled(srv.http, EXTENDED.length + t2.length);

    const all = await apiMessages(srv.http);
    const host = await apiMessages(srv.http, { host: 'box2' });
    const level = await apiMessages(srv.http, { host: 'box2', level: 4 });
    const re = new RegExp(grep);
    const expected = level.filter((m) => re.test(m.text));
    // Each filter takes something away, so each is tested.
    assert.ok(host.length < all.length && level.length < host.length && expected.length < level.length && expected.length > 0);
    const split = Number(/up to id (\d+)/.exec(tail.stderr())![1]);
    assert.ok(expected.some((m) => m.id <= split) && expected.some((m) => m.id > split), 'matches in history and in live');
    await tail.waitLines(expected.length);
    assert.deepEqual(tail.lines.map((l) => JSON.parse(l)), expected, "tail's --json lines are the API's objects");
  } finally {
    await tail.stop();
    await srv.stop();
  }
});

test('tail colours like dmesg only when asked (or on a terminal), and never passes control characters through', async () => {
  const srv = await startServe();
  try {
    await sendFrom('127.0.0.1', srv.udpPort, EXTENDED);
    await settled(srv.http, EXTENDED.length);
    const hostile = (await apiMessages(srv.http)).find((m) => m.text.startsWith('kn-frag utf8'))!;
    assert.match(hostile.text, /\x1b\[31mred/, 'the capture holds a record with an escape sequence');
    for (const color of ['never', 'always']) {
      const tail = startTail(['--server', srv.http, '--since', '0', '--grep', 'kn-frag utf8|kn-basic level=[0-4] ', '--color', color]);
      try {
        const lines = await tail.waitLines(6);
        const frag = lines.find((l) => l.includes('kn-frag utf8'))!;
        assert.ok(frag.includes('ctrl:\\x01\\x07\\x1b[31mred\\x1b[0m'), `escaped: ${frag}`);
        if (color === 'never') {
          assert.ok(!lines.join('\n').includes('\x1b'), 'no escape sequence at all');
          assert.match(lines[0]!, /^\[127\.0\.0\.1\] \[\s+\d+\.\d{6}\] kn-basic level=0 short line$/);
        } else {
          assert.ok(lines[0]!.includes('\x1b[32m[') && lines[0]!.includes('\x1b[7;31mkn-basic level=0'), 'time green, emerg reverse red');
          assert.ok(lines[3]!.includes('\x1b[31mkn-basic level=3'), 'err red');
          assert.ok(!frag.replace(/\x1b\[[\d;]*m/g, '').includes('\x1b'), "no escape but the colours' own");
        }
      } finally {
        await tail.stop();
      }
    }
  } finally {
    await srv.stop();
  }
});

test('tail --boot N prints that boot and the later ones, then follows; query --boot N only that boot', async () => {
  const t2 = loadJsonl('legacy.t2-extended.jsonl').map((d) => d.payload);
  const srv = await startServe();
  // One source whose sequence numbers fall back (2478 -> 369 -> 0 -> 369) starts boots 2, 3 and 4.
  const fromPort = await freeUdpPort();
  try {
    let sent = 0;
    for (const capture of [EXTENDED, t2, EXTENDED]) {
      await sendFrom('127.0.0.1', srv.udpPort, capture, { fromPort });
      await settled(srv.http, (sent += capture.length));
    }
    const tail = startTail(['--server', srv.http, '--host', '127.0.0.1', '--boot', '2', '--json']);
    try {
      await tail.waitStderr(/following live/);
      await sendFrom('127.0.0.1', srv.udpPort, t2.slice(0, 400), { fromPort });
      await settled(srv.http, sent + 400);
      const boots = await Promise.all([1, 2, 3, 4].map((boot) => apiMessages(srv.http, { host: '127.0.0.1', boot })));
      assert.ok(boots.every((b) => b.length > 0), 'four boots');
      const fromTwo = await apiMessages(srv.http, { host: '127.0.0.1', boot_from: 2 });
      assert.deepEqual(fromTwo, boots.slice(1).flat(), 'the API: boot_from=2 is boots 2, 3 and 4');
      const split = Number(/up to id (\d+)/.exec(tail.stderr())![1]);
      assert.equal(split, boots[2]!.at(-1)!.id, 'history ran through boot 3');
      await tail.waitLines(fromTwo.length);
      assert.deepEqual(tail.lines.map((l) => JSON.parse(l)), fromTwo, 'boots 2 and 3 from history, then boot 4 live');
      const q = await runCli(['query', '--server', srv.http, '--host', '127.0.0.1', '--boot', '2', '--json']);
      assert.equal(q.code, 0, q.stderr);
      assert.deepEqual(q.stdout.trimEnd().split('\n').map((l) => JSON.parse(l)), boots[1]);
    } finally {
      await tail.stop();
    }
  } finally {
    await srv.stop();
  }
});

test('more arriving during history than tail holds: the collector replays it from the cursor, still every id once', async () => {
  const srv = await startServe();
  try {
    await sendFrom('127.0.0.1', srv.udpPort, EXTENDED.slice(0, 600));
    await settled(srv.http, 600);
    const got: number[] = [];
    const notices: string[] = [];
    // The engine itself (in this process) with a 5-row buffer, against the real collector.
    const follower = new Follower({
      http: parseHub(srv.http), live: {}, history: {}, pageSize: 1, maxBuffered: 5,
      deliver: (m) => { got.push(m.id); }, notice: (n) => notices.push(n),
    });
    const running = follower.run();
    try {
      await sendFrom('127.0.0.1', srv.udpPort, EXTENDED.slice(600), { burst: 5, pauseMs: 10 });
      await settled(srv.http, EXTENDED.length);
      const expected = (await apiMessages(srv.http)).map((m) => m.id);
      await waitFor(`${expected.length} records (have ${got.length})`, () => got.length >= expected.length);
      assert.deepEqual(got, expected);
    } finally {
      follower.stop();
      await running;
    }
    assert.ok(notices.some((n) => /following live \(over 5 records arrived meanwhile\)/.test(n)), notices.join('\n'));
  } finally {
    await srv.stop();
  }
});
