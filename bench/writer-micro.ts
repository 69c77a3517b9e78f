// Storage alone: how many records/s the StorageWriter (worker thread, one transaction per batch,
// batched FTS) commits when nothing else runs, for a few batch settings. No UDP, no core.
//
//   node dist/bench/writer-micro.js [--records 200000] [--sources 256]
import { join } from 'node:path';
import { StorageWriter } from '../src/receiver/store/writer.js';
import type { LogRecord } from '../src/netconsole/types.js';
import { removeDir, tempDir } from './common.js';

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

async function one(records: number, sources: number, opts: { batchSize: number; flushIntervalMs: number; emitRows: boolean }): Promise<number> {
  const dir = tempDir('nch-writer-');
  const w = await StorageWriter.open({ dbPath: join(dir, 'w.db'), ...opts, maxQueue: records + 10 });
  const t0 = performance.now();
  // Enqueued at a steady 10k per tick so batching behaves as under load, not as one giant backlog.
  for (let i = 0; i < records; ) {
    const end = Math.min(records, i + 10_000);
    for (; i < end; i++) w.record(record(i, sources));
    await new Promise((r) => setImmediate(r));
  }
  await w.flush();
  const s = (performance.now() - t0) / 1000;
  const written = w.stats().written;
  await w.close();
  removeDir(dir);
  if (written !== records) throw new Error(`stored ${written}/${records}`);
  return records / s;
}

const records = arg('records', 200_000);
const sources = arg('sources', 256);
const variants = [
  { batchSize: 5000, flushIntervalMs: 10, emitRows: true },
  { batchSize: 5000, flushIntervalMs: 10, emitRows: false },
  { batchSize: 20000, flushIntervalMs: 10, emitRows: true },
  { batchSize: 1000, flushIntervalMs: 10, emitRows: true },
];
const out = [];
for (const v of variants) {
  const rates = [];
  for (let run = 0; run < 3; run++) rates.push(await one(records, sources, v));
  rates.sort((a, b) => a - b);
  out.push({ ...v, recordsPerSec: { median: Math.round(rates[1]!), min: Math.round(rates[0]!), max: Math.round(rates[2]!) } });
  process.stderr.write(`${JSON.stringify(out[out.length - 1])}\n`);
}
process.stdout.write(JSON.stringify({ records, sources, variants: out }) + '\n');
