// The generated part of bench/RESULTS.md, from bench/out/latest.json.
import type { Figure } from './common.js';

const n0 = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
const n1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '–');
const n2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '–');
/** median (min–max) */
const fig = (f: Figure | undefined, fmt: (x: number) => string = n1): string =>
  !f || !Number.isFinite(f.median) ? '–' : f.min === f.max ? fmt(f.median) : `${fmt(f.median)} (${fmt(f.min)}–${fmt(f.max)})`;
const k = (r: number): string => (r >= 1000 ? `${r / 1000}k` : String(r));

/** Median over runs of a thread's CPU per stored record, in µs ('–' for runs measured before threads were). */
function threadUs(runs: any[], thread: 'main' | 'busiestOther'): string {
  const v = runs.filter((r) => r.threadCpuSec && r.stored > 0).map((r) => (r.threadCpuSec[thread] / r.stored) * 1e6).sort((a, b) => a - b);
  return v.length ? n1(v[Math.floor(v.length / 2)]!) : '–';
}

/** Which sending loop drove the runs (results from before --generator existed were node's). */
function generatorOf(runs: any[]): string {
  const kinds = new Set(runs.map((r) => r.generator ?? 'node'));
  const name = (g: string): string => (g === 'c' ? '`bench/blast.c` (a send(2) per datagram)' : "node's `dgram` (`bench/load.ts`)");
  return [...kinds].map(name).join(' and ');
}

function header(part: string, s: any): string {
  const probe = (s.coreProbe ? `; machine speed probe at the start: core ${n0(s.coreProbe)} records/s` : '') +
    (s.pinned ? '; pinned: receiving thread on CPU 0, load generator on the last CPU' : '') +
    (s.udpReader ? `; collector's UDP reader: ${s.udpReader}` : '');
  return `_${part}: measured ${s.at?.slice(0, 19).replace('T', ' ')} UTC by \`${s.command}\`${s.quick ? ' (quick)' : ''}, ${s.runs ?? '?'} runs per figure, ${Math.round(s.seconds ?? 0)} s${probe}._\n`;
}

export function renderMarkdown(latest: Record<string, any>): string {
  const m = latest.machine ?? {};
  const S = latest.sections ?? {};
  const out: string[] = [];
  out.push(`Machine: ${m.cpus} cores (${m.cpuModel}), ${m.memoryGb} GB memory, Node ${m.node}, Linux ${m.kernel}, net.core.rmem_max ${m.rmemMax} (the collector's 8 MiB receive buffer is granted as ${m.rmemMax * 2} bytes). Load generator, collector and (for the ceiling) the do-nothing receiver all share these cores, as does anything else running on the machine at the time.`);
  out.push('');
  out.push('Figures are "median (min–max)" over the runs.');
  out.push('');
  if (S.ingest?.result) {
    const r = S.ingest.result;
    out.push(`### Ingest: 100-byte extended records from ${r.sources} sources (${r.durationSec} s per run)`);
    out.push(header('ingest', S.ingest));
    out.push(`Load generator: ${generatorOf(r.rates.flatMap((x: any) => x.runs))}.`);
    out.push('');
    out.push(`**Lossless stored-and-searchable rate: ${r.losslessRate === null ? 'none of the steps' : `${n0(r.losslessRate)} records/s`}** (highest step where every run stored every record and found each source's last record with \`/api/messages?q=\` within 1 s of the last send).`);
    out.push('');
    out.push('| target/s | load achieved/s | collector loss % | lossless | stored+searchable after (ms) | collector CPU s per 1M records | CPU µs per stored record: datagram thread / storage worker | do-nothing receiver loss % | receiver achieved/s |');
    out.push('|---:|---:|---:|:---:|---:|---:|---:|---:|---:|');
    for (const x of r.rates) {
      out.push(`| ${k(x.rate)} | ${fig(x.achieved, n0)} | ${fig(x.lossPct, n2)} | ${x.lossless ? 'yes' : `no (${x.runs.filter((y: any) => y.lossless).length}/${x.runs.length})`} | ${fig(x.searchableMs, n0)} | ${fig(x.cpuPerMillion, n1)} | ${threadUs(x.runs, 'main')} / ${threadUs(x.runs, 'busiestOther')} | ${fig(x.ceiling?.lossPct, n2)} | ${fig(x.ceiling?.achieved, n0)} |`);
    }
    out.push('');
  } else if (S.ingest?.error) out.push(`### Ingest\nfailed: ${S.ingest.error}\n`);
  if (S.frag?.result) {
    const r = S.frag.result;
    out.push(`### Fragment-heavy: ${r.recordBytes}-byte records, ${n1(r.datagramsPerRecord)} ncfrag datagrams each, ${n0(r.rate)} records/s`);
    out.push(header('frag', S.frag));
    out.push(`Load generator: ${generatorOf(r.runs)}.`);
    out.push('');
    out.push('| records/s | achieved/s | loss % | lossless | stored+searchable after (ms) |');
    out.push('|---:|---:|---:|:---:|---:|');
    out.push(`| ${k(r.rate)} | ${fig(r.achieved, n0)} | ${fig(r.lossPct, n2)} | ${r.lossless ? 'yes' : 'no'} | ${fig(r.searchableMs, n0)} |`);
    out.push('');
  }
  if (S.latency?.result) {
    const r = S.latency.result;
    out.push(`### Live latency: send → WebSocket arrival (${r.sources} sources, every record timed)`);
    out.push(header('latency', S.latency));
    out.push('| records/s | p50 ms | p99 ms | records missed |');
    out.push('|---:|---:|---:|---:|');
    for (const x of r.rates) out.push(`| ${k(x.rate)} | ${fig(x.p50)} | ${fig(x.p99)} | ${x.runs.map((y: any) => y.missed).join(', ')} |`);
    out.push('');
  }
  if (S.query?.result) {
    const r = S.query.result;
    out.push(`### Query latency: ${n0(r.rows)} records across ${r.hosts} hosts (${(r.dbBytes / 1e9).toFixed(2)} GB; generated at ${n0(r.gen?.rowsPerSec)} rows/s)`);
    out.push(header('query', S.query));
    out.push('| query | p50 ms | p95 ms | rows returned |');
    out.push('|---|---:|---:|---:|');
    for (const q of r.queries) out.push(`| ${q.what} | ${fig(q.p50)} | ${fig(q.p95)} | ${q.results} |`);
    out.push('');
  }
  if (S.memory?.result) {
    const r = S.memory.result;
    out.push(`### Memory: collector RSS with N sources (one record each), then after ${r.idleSec} s idle`);
    out.push(header('memory', S.memory));
    out.push('| sources | RSS active MB | RSS idle MB | bytes per source (active) | bytes per source (idle) |');
    out.push('|---:|---:|---:|---:|---:|');
    for (const x of r.results) out.push(`| ${n0(x.sources)} | ${fig(x.rssActiveMb)} | ${fig(x.rssIdleMb)} | ${fig(x.perSourceActiveBytes, n0)} | ${fig(x.perSourceIdleBytes, n0)} |`);
    out.push('');
  }
  if (S.sender?.result) {
    const r = S.sender.result;
    out.push(`### Sender: \`send --simulate ${r.hosts} --count ${r.count}\` to a do-nothing receiver`);
    out.push(header('sender', S.sender));
    out.push('| transport | records/s | datagrams sent / received (last run) |');
    out.push('|---|---:|---:|');
    for (const t of r.transports) {
      const last = t.runs[t.runs.length - 1] ?? {};
      out.push(`| ${t.transport} | ${fig(t.recordsPerSec, n0)} | ${last.error ? `failed: ${last.error}` : `${n0(last.datagrams)} / ${n0(last.received)}`} |`);
    }
    out.push('');
  }
  if (S.burst?.result) {
    const r = S.burst.result;
    out.push(`### Burst: ${n0(r.rate)} records/s for ${r.seconds} s (${n0(r.rate * r.seconds)} records) from ${r.sources} sources, a fresh \`serve\` per run`);
    out.push(header('burst', S.burst));
    out.push(`Load generator: ${generatorOf(r.runs)}. **${r.lossless ? 'Every record stored and the last ones searchable in every run' : 'Not lossless in every run'}.** Times are from the last send.`);
    out.push('');
    out.push('| run | load achieved/s | received / sent | kernel drops | stored | collector drops (reason) | all received stored after (s) | all sent stored after (s) | searchable after (s) | spool peak (records, MB) | CPU µs per stored record: datagram thread / storage worker |');
    out.push('|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|');
    r.runs.forEach((x: any, i: number) => {
      const drops = Object.entries(x.dropped ?? {}).map(([k2, v]) => `${n0(v as number)} ${k2}`).join(', ') || '0';
      const sec = (ms: number | null): string => (ms === null ? '–' : (ms / 1000).toFixed(1));
      const us = (t: number): string => (x.stored > 0 ? n1((t / x.stored) * 1e6) : '–');
      out.push(`| ${i + 1} | ${n0(x.achieved)} | ${n0(x.received)} / ${n0(x.sent)} | ${n0(x.kernelDrops)} | ${n0(x.stored)} | ${drops} | ${sec(x.receivedStoredMs ?? null)} | ${sec(x.allStoredMs)} | ${sec(x.searchableMs)} | ${n0(x.peakSpoolRecords)}, ${n1(x.peakSpoolBytes / 1e6)} | ${us(x.threadCpuSec.main)} / ${us(x.threadCpuSec.busiestOther)} |`);
    });
    out.push('');
  }
  if (S.fleet?.result) {
    const r = S.fleet.result;
    out.push(`### Fleet: stored rate into one ClickHouse, ${k(r.rate)} records/s sent to each collector for ${r.seconds} s (${r.sources} sources each)`);
    out.push(header('fleet', S.fleet));
    out.push('ClickHouse (Debian\'s 18.16.1), the collectors and their load generators share the machine\'s cores. Stored rate: records counted in ClickHouse over the time from the first send until the last was stored.');
    out.push('');
    out.push('| collectors | stored/s | every record stored | all stored after the last send (ms) | CPU µs per stored record: ClickHouse / collectors / load (per run) |');
    out.push('|---:|---:|:---:|---:|---|');
    for (const [key, n] of [['one', 1], ['two', 2]] as const) {
      const x = r[key];
      // (cpuUsPerRecord is absent from results written before it was measured)
      const cpu = x?.runs.map((y: any) => (y.cpuUsPerRecord ? `${n1(y.cpuUsPerRecord.clickhouse)} / ${n1(y.cpuUsPerRecord.collectors)} / ${n1(y.cpuUsPerRecord.load)}` : '–')).join('; ');
      if (x) out.push(`| ${n} | ${fig(x.storedPerSec, n0)} | ${x.lossless ? 'yes' : `no (${x.runs.map((y: any) => `${n0(y.stored)}/${n0(y.sent)}`).join(', ')})`} | ${x.runs.map((y: any) => (y.allStoredMs === null ? '–' : n0(y.allStoredMs))).join(', ')} | ${cpu} |`);
    }
    out.push('');
    out.push(`Two collectors / one: **${n2(r.ratio)}×** (medians).`);
    out.push('');
  }
  if (S['fleet-query']?.result) {
    const r = S['fleet-query'].result;
    out.push(`### Fleet search latency: ${n0(r.rows)} records in ClickHouse across ${r.hosts} hosts, through a collector's API`);
    out.push(header('fleet-query', S['fleet-query']));
    out.push(`Rows generated in ClickHouse (INSERT … SELECT FROM numbers, 30 daily partitions, then OPTIMIZE … FINAL) in ${n1(r.genSeconds)} s.`);
    out.push('');
    out.push('| query | p50 ms | p95 ms | rows returned |');
    out.push('|---|---:|---:|---:|');
    for (const q of r.queries) out.push(`| ${q.what} | ${fig(q.p50)} | ${fig(q.p95)} | ${q.results} |`);
    out.push('');
  }
  if (S.profile?.result) {
    const r = S.profile.result;
    out.push(`### Profile: \`node --cpu-prof\` of the collector at ${k(r.rate)} records/s for ${r.seconds} s`);
    out.push(header('profile', S.profile));
    out.push(`Run: ${n0(r.run.stored)}/${n0(r.run.sent)} stored, load achieved ${n0(r.run.achieved)}/s, collector CPU ${n2(r.run.collectorCpuSec)} s.`);
    out.push('');
    for (const t of r.threads) {
      out.push(`**${t.file.split('/').pop()}**: busy ${(t.busyShare * 100).toFixed(0)}% of ${(t.totalMs / 1000).toFixed(1)} s. By area (self time, share of busy): ${t.byArea.slice(0, 8).map((a: any) => `${a.area} ${(a.share * 100).toFixed(1)}%`).join('; ')}.`);
      out.push('');
      out.push('| function | where | self ms | share |');
      out.push('|---|---|---:|---:|');
      for (const f of t.top.slice(0, 10)) out.push(`| \`${f.fn}\` | ${f.where} | ${n0(f.ms)} | ${(f.share * 100).toFixed(1)}% |`);
      out.push('');
    }
  }
  return out.join('\n');
}
