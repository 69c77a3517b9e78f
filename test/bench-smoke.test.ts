// Smoke test of the benchmark harness itself (bench/): a tiny bounded ingest run against a real
// `serve`, and the query part on a tiny generated database. No timing assertions.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { parseArgs, runBench } from '../bench/run.js';
import { renderMarkdown } from '../bench/report.js';
import { clickhouseMissing } from './helpers/clickhouse.js';

// The C sending loop (bench/blast.c) is built with `cc`; without one the bench falls back to node.
const hasCc = spawnSync('cc', ['--version']).status === 0;

test('bench: --only ingest,frag,query with a tiny bounded run produces results and a table', { timeout: 120_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'nch-bench-smoke-'));
  try {
    // --pin: the collector's datagram thread on CPU 0, the load generator on the last CPU (taskset).
    const argv = ['--only', 'ingest,frag,query', '--quick', '--runs', '1', '--rates', '2000', '--duration', '0.5', '--sources', '8', '--frag-rate', '1000', '--db-rows', '3000', '--query-reps', '2', '--out', out, '--no-report', '--pin'];
    const o = parseArgs(argv);
    assert.deepEqual(o.only, ['ingest', 'frag', 'query']);
    assert.equal(o.pin, true);
    const res = await runBench(o, argv);
    assert.equal(res.sections.ingest.pinned, true);
    assert.equal(res.sections.query.pinned, false, 'only the load parts are pinned');
    const ingest = res.sections.ingest.result;
    assert.ok(ingest, `ingest failed: ${res.sections.ingest.error}`);
    assert.equal(ingest.rates.length, 1);
    const run = ingest.rates[0].runs[0];
    assert.equal(run.sent, 1000);
    assert.ok(run.stored > 0, 'some records stored');
    assert.equal(run.generator, hasCc ? 'c' : 'node');
    assert.ok(ingest.rates[0].ceiling.runs[0].received > 0, 'the do-nothing receiver counted datagrams');
    // Fragmented records: 4 datagrams each, every one sent by the same sending loop.
    const frag = res.sections.frag.result;
    assert.ok(frag, `frag failed: ${res.sections.frag.error}`);
    assert.equal(frag.runs[0].sent, 500);
    assert.equal(frag.runs[0].generator, hasCc ? 'c' : 'node');
    assert.ok(frag.runs[0].stored > 0, 'some fragmented records stored');
    const query = res.sections.query.result;
    assert.ok(query, `query failed: ${res.sections.query.error}`);
    assert.equal(query.rows, 3000);
    assert.ok(query.queries.length >= 5);
    const md = renderMarkdown({ machine: res.machine, sections: res.sections });
    assert.match(md, /Lossless stored-and-searchable rate/);
    assert.match(md, /Query latency/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('bench: unknown --only part and unknown --generator are refused', () => {
  assert.throws(() => parseArgs(['--only', 'ingest,nope']), /unknown part 'nope'/);
  assert.throws(() => parseArgs(['--generator', 'rust']), /--generator: 'rust'/);
  assert.equal(parseArgs(['--generator', 'node']).generator, 'node');
});

test('bench: unknown flags, missing values and bad numbers are refused before anything runs', () => {
  assert.throws(() => parseArgs(['--fleet-rat', '1000']), /unknown flag --fleet-rat/);
  assert.throws(() => parseArgs(['--runs']), /--runs needs a value/);
  assert.throws(() => parseArgs(['--runs', '--quick']), /--runs needs a value/);
  assert.throws(() => parseArgs(['--runs', 'three']), /--runs 'three' is not a number/);
  assert.throws(() => parseArgs(['--rates', '1000,x']), /--rates: 'x'/);
  assert.throws(() => parseArgs(['fleet']), /unexpected argument 'fleet'/);
  assert.equal(parseArgs(['--fleet-rate', '200k', '--runs', '2']).fleetRate, 200_000);
});

test('bench: --help prints the usage and runs nothing; a bad flag exits 2 with one line', () => {
  const cli = fileURLToPath(new URL('../bench/run.js', import.meta.url));
  const help = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^usage: npm run bench/);
  assert.match(help.stdout, /fleet-query/);
  const bad = spawnSync(process.execPath, [cli, '--only', 'fleet', '--bogus'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr.trim(), 'bench: unknown flag --bogus (see --help)');
});

test('bench: --only burst with a tiny bounded burst produces a run and a table', { timeout: 120_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'nch-bench-burst-'));
  try {
    const argv = ['--only', 'burst', '--runs', '1', '--burst-rate', '4000', '--burst-seconds', '0.5', '--sources', '8', '--warmup', '0', '--out', out, '--no-report'];
    const o = parseArgs(argv);
    assert.equal(o.burstRate, 4000);
    const res = await runBench(o, argv);
    const burst = res.sections.burst.result;
    assert.ok(burst, `burst failed: ${res.sections.burst.error}`);
    assert.equal(burst.runs.length, 1);
    assert.equal(burst.runs[0].sent, 2000);
    assert.ok(burst.runs[0].stored > 0, 'some records stored');
    assert.match(renderMarkdown({ machine: res.machine, sections: res.sections }), /### Burst: 4,000 records\/s for 0.5 s/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('bench: --only fleet,fleet-query against a real ClickHouse, tiny and bounded, produce figures and tables', { timeout: 300_000 }, async (t) => {
  if (clickhouseMissing(t)) return;
  const out = mkdtempSync(join(tmpdir(), 'nch-bench-fleet-'));
  try {
    const argv = ['--only', 'fleet,fleet-query', '--quick', '--runs', '1', '--fleet-rate', '4000', '--duration', '0.5', '--sources', '8', '--db-rows', '20000', '--query-reps', '2', '--out', out, '--no-report'];
    const o = parseArgs(argv);
    assert.equal(o.fleetRate, 4000);
    const res = await runBench(o, argv);
    const fleet = res.sections.fleet.result;
    assert.ok(fleet, `fleet failed: ${res.sections.fleet.error}`);
    assert.equal(fleet.one.runs[0].sent, 2000);
    assert.equal(fleet.two.runs[0].sent, 4000, 'two collectors, 2000 each');
    assert.equal(fleet.two.runs[0].stored, 4000, 'a tiny load is stored whole');
    // Each process's CPU per stored record. ClickHouse and the collectors certainly worked for these
    // records; the load generator's share of so small a load may round to no 10 ms tick at all.
    for (const run of [fleet.one.runs[0], fleet.two.runs[0]]) {
      for (const who of ['clickhouse', 'collectors', 'load'] as const) {
        const us = run.cpuUsPerRecord[who];
        assert.ok(Number.isFinite(us) && us >= 0 && us < 1e6, `${who}: ${us} µs per stored record`);
      }
      assert.ok(run.cpuUsPerRecord.clickhouse > 0 && run.cpuUsPerRecord.collectors > 0, JSON.stringify(run.cpuUsPerRecord));
    }
    const q = res.sections['fleet-query'].result;
    assert.ok(q, `fleet-query failed: ${res.sections['fleet-query'].error}`);
    assert.equal(q.rows, 20000);
    const common = q.queries.find((x: { name: string }) => x.name === 'substring_common');
    assert.equal(common.results, 200, 'a common word fills a page');
    const got = (name: string): number => q.queries.find((x: { name: string }) => x.name === name).results;
    assert.equal(got('hosts'), 1000, 'every generated host is listed');
    assert.ok(got('histogram_30d') > 10, 'the histogram has buckets');
    // A host's newest record, with up to ten lines of its boot before it (about seven here) and none after.
    assert.ok(got('context') >= 2 && got('context') <= 11, `context: ${got('context')} lines`);
    const md = renderMarkdown({ machine: res.machine, sections: res.sections });
    assert.match(md, /### Fleet: stored rate into one ClickHouse/);
    assert.match(md, /\| 1 \| [^\n]* \| \d+\.\d \/ \d+\.\d \/ \d+\.\d \|/, 'the fleet table gives the CPU split of the one-collector run');
    assert.match(md, /### Fleet search latency: 20,000 records/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
