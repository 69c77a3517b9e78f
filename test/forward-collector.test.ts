// Forwarding needs every stored row, live client or not: the collector asks the storage worker for
// rows while either wants them, so a live client leaving does not stop forwarding (and vice versa).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { Collector } from '../src/receiver/collector.js';
import type { StoredMessage } from '../src/receiver/store/types.js';
import { loadJsonl } from './helpers/fixtures.js';
import { tempDir } from './helpers/serve.js';

test('with onRows, every committed row arrives, before, while and after a live client watches', { timeout: 60_000 }, async () => {
  const forwarded: StoredMessage[] = [];
  const live: StoredMessage[] = [];
  const c = await Collector.start({ dbPath: join(tempDir(), 'n.db'), udp: [], logger: pino({ level: 'silent' }), onRows: (rows) => forwarded.push(...rows) });
  const payloads = loadJsonl('extended.jsonl').map((d) => d.payload);
  const part = (from: number, to: number) => { for (const p of payloads.slice(from, to)) c.onDatagram(p, '127.0.0.1', 6665); };
  try {
    part(0, 800);
    await c.writer.flush();
    const unsubscribe = c.live.subscribe({ onRows: (rows) => live.push(...rows), onIncident: () => {}, tick: () => {} });
    part(800, 1600);
    await c.writer.flush();
    unsubscribe();
    part(1600, payloads.length);
  } finally {
    await c.stop();
  }
  assert.equal(c.stats().stored, 2479);
  assert.deepEqual(forwarded.map((r) => r.seq), Array.from({ length: 2479 }, (_, i) => i));
  assert.ok(live.length > 0 && live.every((r) => forwarded.some((f) => f.id === r.id)));
});

test('without onRows, rows come back only while a live client watches (the cost is paid only when needed)', { timeout: 60_000 }, async () => {
  const c = await Collector.start({ dbPath: join(tempDir(), 'n.db'), udp: [], logger: pino({ level: 'silent' }) });
  let emitted = 0;
  c.writer.on('stored', (rows) => { emitted += rows.length; });
  try {
    for (const p of loadJsonl('extended.jsonl').slice(0, 300).map((d) => d.payload)) c.onDatagram(p, '127.0.0.1', 6665);
    await c.writer.flush();
  } finally {
    await c.stop();
  }
  assert.equal(c.stats().stored, 300);
  assert.equal(emitted, 0);
});
