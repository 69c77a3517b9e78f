// Where the memory per idle source goes, measured in-process (no sockets, no timing):
//   node --expose-gc dist/bench/memory-breakdown.js [--sources N] [--idle SEC] [--part core|collector|inline|both]
// core: a bare NetconsoleReceiver fed one extended record from each of N sources (the datagram
// thread's share without storage). collector: a real Collector (storage worker, SQLite, incident
// detection) fed the same through onDatagram; RSS covers both threads, the V8 figures only this one.
// inline: the same Collector writing on this thread, so the V8 figures include the write side.
// Prints one JSON line per part.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { NetconsoleReceiver } from '../src/netconsole/pipeline.js';
import { Collector } from '../src/receiver/collector.js';
import type { Sink } from '../src/netconsole/types.js';

interface Mem { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number }

const gc = (globalThis as { gc?: () => void }).gc;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

async function measure(): Promise<Mem> {
  for (let i = 0; i < 3; i++) { gc?.(); await sleep(50); }
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
}

/** Bytes per source between two measurements, per field. */
function perSource(a: Mem, b: Mem, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(a) as (keyof Mem)[]) out[k] = Math.round((b[k] - a[k]) / n);
  return out;
}

/** Source i as the memory bench numbers them: 256 ports per address, so every address is a host. */
function sourceOf(i: number): { address: string; port: number } {
  const a = Math.floor(i / 256);
  return { address: `127.3.${(a >> 8) & 255}.${(a & 255) + 1}`, port: 30000 + (i % 256) * 100 };
}

function datagram(i: number): Buffer {
  return Buffer.from(`6,1,1000,-;bench memory idle source ${i} ${'x'.repeat(60)}\n`);
}

async function core(n: number): Promise<void> {
  const sink: Sink = { record: () => {}, event: () => {} };
  const rx = new NetconsoleReceiver();
  const before = await measure();
  let now = 1_000_000;
  for (let i = 0; i < n; i++) {
    const s = sourceOf(i);
    rx.push(`${s.address}:${s.port}`, datagram(i), now, sink);
    if (i % 1024 === 0) rx.poll(++now, sink);
  }
  rx.poll(now + 60_000, sink);
  const after = await measure();
  console.log(JSON.stringify({ part: 'core', sources: rx.sourceCount, perSource: perSource(before, after, n) }));
}

async function collector(n: number, idleSec: number, inline: boolean): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nch-mem-'));
  const c = await Collector.start({ dbPath: join(dir, 'mem.db'), udp: [], logger: pino({ level: 'silent' }), inlineStorage: inline });
  try {
    await sleep(1500);
    const before = await measure();
    for (let i = 0; i < n; i++) {
      const s = sourceOf(i);
      c.onDatagram(datagram(i), s.address, s.port);
      // Like the bench's paced senders: let the poll timer and the worker keep up.
      if (i % 2048 === 2047) await sleep(20);
    }
    const t0 = Date.now();
    while (c.writer.stats().written < n && Date.now() - t0 < 120_000) await sleep(100);
    const active = await measure();
    // RSS through the idle period (without forcing a GC: what V8 returns by itself), to stderr.
    for (let t = 0; t < idleSec; t += 5) {
      await sleep(Math.min(5, idleSec - t) * 1000);
      console.error(`idle ${Math.min(t + 5, idleSec)} s: RSS ${(process.memoryUsage().rss / 1e6).toFixed(1)} MB`);
    }
    const idle = await measure();
    console.log(JSON.stringify({
      part: inline ? 'inline' : 'collector', sources: n, stored: c.writer.stats().written, idleSec,
      rssMb: { before: +(before.rss / 1e6).toFixed(1), active: +(active.rss / 1e6).toFixed(1), idle: +(idle.rss / 1e6).toFixed(1) },
      perSourceActive: perSource(before, active, n), perSourceIdle: perSource(before, idle, n),
    }));
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const n = Number(arg('sources', '65536'));
const part = arg('part', 'both');
if (!gc) console.error('memory-breakdown: run node with --expose-gc for stable figures');
if (part === 'core' || part === 'both') await core(n);
if (part === 'collector' || part === 'both') await collector(n, Number(arg('idle', '15')), false);
if (part === 'inline') await collector(n, Number(arg('idle', '15')), true);
