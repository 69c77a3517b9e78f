// Storage alone: how many records/s the StorageWriter (worker thread, one transaction per batch,
// batched FTS) commits when nothing else runs, for a few batch settings, and the storage worker's CPU
// per record (the figure that decides whether it keeps up on a shared core). No UDP, no core.
//
//   node dist/bench/writer-micro.js [--records 200000] [--sources 256] [--variants N] [--runs 3]
import { join } from 'node:path';
import { StorageWriter } from '../src/receiver/store/writer.js';
import type { LogRecord } from '../src/netconsole/types.js';
import { removeDir, tempDir, threadCpuDelta, threadCpuOf } from './common.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};

function record(i: number, sources: number): LogRecord {
  const text = `bench s${i % sources} n${i} e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control`;
  return {
    source: `127.0.0.1:${10000 + (i % sources)}`, format: 'extended', seq: Math.floor(i / sources) + 1, pri: 6, level: 6, facility: 0,
    tsUsec: 5_000_000 + i, flags: '-', text, fields: {}, release: null, complete: true, receivedAt: Date.now(),
  };
}

async function one(records: number, sources: number, opts: { batchSize: number; flushIntervalMs: number; emitRows: boolean }): Promise<{ rate: number; workerUs: number }> {
  const dir = tempDir('nch-writer-');
  const w = await StorageWriter.open({ dbPath: join(dir, 'w.db'), ...opts, maxQueue: records + 10 });
  const cpu0 = threadCpuOf(process.pid);
  const t0 = performance.now();
  // Enqueued at a steady 10k per tick so batching behaves as under load, not as one giant backlog.
  for (let i = 0; i < records; ) {
    const end = Math.min(records, i + 10_000);
    for (; i < end; i++) w.record(record(i, sources));
    await new Promise((r) => setImmediate(r));
  }
  await w.flush();
  const s = (performance.now() - t0) / 1000;
  const workerUs = (threadCpuDelta(process.pid, cpu0, threadCpuOf(process.pid)).busiestOther / records) * 1e6;
  const written = w.stats().written;
  await w.close();
  removeDir(dir);
  if (written !== records) throw new Error(`stored ${written}/${records}`);
  return { rate: records / s, workerUs };
}

const records = arg('records', 200_000);
const sources = arg('sources', 256);
const runs = arg('runs', 3);
const all = [
  { batchSize: 5000, flushIntervalMs: 10, emitRows: true },
  { batchSize: 5000, flushIntervalMs: 10, emitRows: false },
  { batchSize: 20000, flushIntervalMs: 10, emitRows: true },
  { batchSize: 1000, flushIntervalMs: 10, emitRows: true },
];
const variants = all.slice(0, arg('variants', all.length));
const out = [];
const fig = (xs: number[], digits: number): { median: number; min: number; max: number } => {
  xs.sort((a, b) => a - b);
  const r = (x: number): number => Number(x.toFixed(digits));
  return { median: r(xs[Math.floor(xs.length / 2)]!), min: r(xs[0]!), max: r(xs[xs.length - 1]!) };
};
for (const v of variants) {
  const res = [];
  for (let run = 0; run < runs; run++) res.push(await one(records, sources, v));
  out.push({ ...v, recordsPerSec: fig(res.map((r) => r.rate), 0), workerCpuUsPerRecord: fig(res.map((r) => r.workerUs), 2) });
  process.stderr.write(`${JSON.stringify(out[out.length - 1])}\n`);
}
process.stdout.write(JSON.stringify({ records, sources, variants: out }) + '\n');
