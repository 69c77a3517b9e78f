// Search on ClickHouse reads without FINAL (queries.ts, windowed): a row is shown only when no row of
// its key in its day partition has a larger id, and a row inserted twice shows once. Checked on a
// real clickhouse-server against what FINAL means, computed here in JavaScript over every inserted
// row: unmerged (one part per insert, duplicates side by side) and again after OPTIMIZE … FINAL.
import assert from 'node:assert/strict';
import test, { type TestContext } from 'node:test';
import { createClient } from '@clickhouse/client';
import { clickhouseMissing, startClickHouse, type ClickHouse } from './helpers/clickhouse.js';
import { migrateClickHouse } from '../src/receiver/store/clickhouse/schema.js';
import { ClickHouseQueries, nextStepRows } from '../src/receiver/store/clickhouse/queries.js';

test('nextStepRows: the newest partition first, then enough rows to fill the page by the rate seen so far, doubling while nothing matched', () => {
  assert.equal(nextStepRows(0, 201, 0, 0), 0);
  assert.equal(nextStepRows(0, 201, 17, 17), 34);
  assert.equal(nextStepRows(0, 201, 51, 34), 68);
  // 17 matches in today's first 3400 rows, 184 missing: 184 * 1.25 * 3400 / 17 = 46 000 rows, not
  // 14 more days as a count of partitions would have it.
  assert.equal(nextStepRows(17, 201, 3400, 3400), 46_000);
  assert.equal(nextStepRows(200, 201, 1_000_000, 10), 6250);
});

interface Gen {
  id: number; host: string; boot: number; source: string; seq: number; at: number; text: string;
}

/** A deterministic stream of rows over three days: keys repeated with larger ids, rows repeated as they are. */
function generate(seed: number): Gen[][] {
  let x = seed;
  const rnd = (n: number): number => { x = (x * 1103515245 + 12345) % 2147483648; return (x >>> 8) % n; };
  const day = 86_400_000;
  const t0 = Date.UTC(2026, 10, 1, 12);
  const inserts: Gen[][] = [];
  const all: Gen[] = [];
  let id = 1000;
  for (let i = 0; i < 8; i++) {
    const batch: Gen[] = [];
    for (let j = 0; j < 30; j++) {
      id += 1 + rnd(5);
      const r = rnd(10);
      const prev = all.length > 0 ? all[rnd(all.length)]! : undefined;
      if (r === 0 && prev) {
        batch.push({ ...prev }); // the same row again (a retried insert)
      } else if (r === 1 && prev) {
        // Its key again with a larger id, as a second collector would store it; text may differ.
        batch.push({ ...prev, id, text: rnd(2) === 0 ? prev.text : `replaced ${id} ${rnd(3) === 0 ? 'needle' : 'hay'}` });
      } else {
        const host = `10.9.0.${rnd(4)}`;
        batch.push({ id, host, boot: 1 + rnd(2), source: `${host}:6665`, seq: id, at: t0 + rnd(3) * day + rnd(3_600_000), text: `line ${id} ${rnd(4) === 0 ? 'Needle' : 'hay'}` });
      }
    }
    all.push(...batch);
    inserts.push(batch);
  }
  return inserts;
}

/** A real clickhouse-server (stopped after the test) with `db` created and migrated. */
async function freshDatabase(t: TestContext, db: string): Promise<ClickHouse> {
  const ch = await startClickHouse();
  t.after(() => ch.close());
  await ch.query(`CREATE DATABASE ${db}`);
  const client = createClient({ url: ch.http, database: db });
  t.after(() => client.close());
  await migrateClickHouse(client, db, Date.now());
  return ch;
}

/** Rows straight into messages (one insert, so one part), the other columns at fixed values. */
async function insertMessages(ch: ClickHouse, db: string, rows: Gen[]): Promise<void> {
  await ch.query(`INSERT INTO ${db}.messages (id, collector, host, source, boot, seq, lkey, level, facility, ts_usec, received_at, text, fields, complete, flags, truncated, fragmented) FORMAT JSONEachRow
${rows.map((r) => JSON.stringify({ id: r.id, collector: 0, host: r.host, source: r.source, boot: r.boot, seq: r.seq, lkey: 0, level: 6, facility: 0, ts_usec: -1, received_at: r.at, text: r.text, fields: '{}', complete: 1, flags: '-', truncated: 0, fragmented: 0 })).join('\n')}`);
}

/** FINAL's answer: per key the row with the largest id; then the filter; newest first. */
function expected(rows: Gen[], keep: (r: Gen) => boolean): number[] {
  const best = new Map<string, Gen>();
  for (const r of rows) {
    const k = `${r.host}|${r.boot}|${r.source}|${r.seq}`;
    const b = best.get(k);
    if (b === undefined || r.id > b.id) best.set(k, r);
  }
  return [...best.values()].filter(keep).map((r) => r.id).sort((a, b) => b - a);
}

test('ClickHouse search without FINAL: the latest row of each key, once, page after page, before and after merges', async (t) => {
  if (clickhouseMissing(t)) return;
  const db = 'search_final';
  const ch = await freshDatabase(t, db);
  const inserts = generate(7);
  for (const batch of inserts) {
    await insertMessages(ch, db, batch);
  }
  const all = inserts.flat();
  // A host filter resolves names through hosts, as the collector fills it.
  await ch.query(`INSERT INTO ${db}.hosts SELECT concat('10.9.0.', toString(number)), '', 0, 0, 0, 1 FROM numbers(4)`);
  const ids = new Set(all.map((r) => r.id));
  assert.ok(all.length - ids.size > 10, `the stream repeats rows (${all.length - ids.size} repeats)`);
  const q = ClickHouseQueries.open(`${ch.storeUrl(db)}`);

  const cases: { name: string; f: { text?: string; host?: string }; keep: (r: Gen) => boolean }[] = [
    { name: 'everything', f: {}, keep: () => true },
    { name: 'text=needle', f: { text: 'needle' }, keep: (r) => r.text.toLowerCase().includes('needle') },
    { name: 'host', f: { host: '10.9.0.2' }, keep: (r) => r.host === '10.9.0.2' },
  ];
  const check = async (when: string): Promise<void> => {
    for (const c of cases) {
      const want = expected(all, c.keep);
      assert.ok(want.length > 5, `${c.name}: the case matches rows`);
      for (const limit of [3, 20, 1000]) {
        // Page back through everything with the `older` cursor, as the dashboard does.
        const got: number[] = [];
        let before: number | undefined;
        for (let page = 0; page < 2000; page++) {
          const p = await q.listMessages({ ...c.f, limit, order: 'desc', ...(before !== undefined ? { before } : {}) });
          got.push(...p.messages.map((m) => m.id));
          if (p.older === null) break;
          before = p.older;
        }
        assert.deepEqual(got, want, `${when}, ${c.name}, limit ${limit}: newest first, each key once at its latest row`);
        // And forward from the start with `after`.
        const fwd: number[] = [];
        let after = 0;
        for (let page = 0; page < 2000; page++) {
          const p = await q.listMessages({ ...c.f, limit, order: 'desc', after });
          if (p.messages.length === 0) break;
          fwd.push(...p.messages.map((m) => m.id).reverse());
          after = p.newer!;
        }
        assert.deepEqual(fwd, [...want].reverse(), `${when}, ${c.name}, limit ${limit}: oldest first through after=`);
      }
    }
  };
  const parts = async (): Promise<number> => Number((await ch.rows<{ n: string }>(`SELECT count() AS n FROM system.parts WHERE database = '${db}' AND table = 'messages' AND active`))[0]!.n);
  assert.ok((await parts()) > 3, 'unmerged: several parts per partition');
  await check('unmerged');
  await ch.query(`OPTIMIZE TABLE ${db}.messages FINAL`);
  assert.equal(await parts(), 3, 'merged: one part per day');
  await check('merged');
});

test('ClickHouse substring search folds ASCII case only, as SQLite lower() does, with the PREWHERE prefilter in front', async (t) => {
  if (clickhouseMissing(t)) return;
  const db = 'search_fold';
  const ch = await freshDatabase(t, db);
  // Texts that mix ASCII with characters whose case mapping is odd (a Kelvin sign folds to k, a
  // long s to s, ß and İ change length): the prefilter must miss no ASCII-folded match, and what
  // it finds beyond them must not show.
  const odd = ['ß', 'ẞ', 'ı', 'İ', '\u212A', 'ſ', 'Ⱥ', 'ⱥ', 'ɐ', 'Ɐ', 'Σ', 'ς', 'Ж', '😀', '\uFFFD', 'é', 'É', 'ǅ', 'ﬀ', '\u2126', 'ᾼ', 'Ɫ', '\u00a0'];
  const ascii = 'abcKLMxyz panicPANIC0123 -:[]';
  let x = 4242;
  const rnd = (n: number): number => { x = (x * 1103515245 + 12345) % 2147483648; return (x >>> 8) % n; };
  const texts = ['Kernel panic - not syncing: VFS', 'KERNEL PANIC', '\u212Aernel panic (a Kelvin sign)', 'Ünïcödé first, then kernel Panic', 'ÉCHEC kernel', 'échec total'];
  while (texts.length < 3000) {
    let s = '';
    for (let j = 5 + rnd(30); j > 0; j--) s += rnd(3) === 0 ? odd[rnd(odd.length)]! : ascii[rnd(ascii.length)]!;
    texts.push(s);
  }
  const t0 = Date.UTC(2026, 10, 1, 12);
  await insertMessages(ch, db, texts.map((text, i) => ({ id: 100 + i, host: '10.9.1.1', boot: 1, source: '10.9.1.1:6665', seq: i, at: t0 + i * 1000, text })));
  const lowerAscii = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const q = ClickHouseQueries.open(ch.storeUrl(db));
  t.after(() => q.close());
  const search = async (f: { text?: string; q?: string }): Promise<number[]> => {
    const got: number[] = [];
    let before: number | undefined;
    for (let page = 0; page < 100; page++) {
      const p = await q.listMessages({ ...f, limit: 500, order: 'desc', ...(before !== undefined ? { before } : {}) });
      got.push(...p.messages.map((m) => m.id));
      if (p.older === null) break;
      before = p.older;
    }
    return got;
  };
  const needles = ['kernel panic', 'Kernel PANIC', 'k', 'K', 'ss', 's', 'i', 'pan', 'ic p', 'z -', 'ab', 'échec', 'ÉCHEC', 'ſ'];
  for (let k = 0; k < 12; k++) needles.push(ascii[rnd(ascii.length)]! + ascii[rnd(ascii.length)]!);
  for (const needle of needles) {
    const want = texts.map((s, i) => ({ s, id: 100 + i })).filter((r) => lowerAscii(r.s).includes(lowerAscii(needle))).map((r) => r.id).reverse();
    assert.deepEqual(await search({ text: needle }), want, `text=${JSON.stringify(needle)}`);
  }
  assert.deepEqual(await search({ text: 'kernel panic' }).then((ids) => ids.includes(102)), false, 'a Kelvin sign is not a k');
  const both = await search({ q: 'PANIC kernel' });
  assert.deepEqual(both, texts.map((s, i) => ({ s: lowerAscii(s), id: 100 + i })).filter((r) => r.s.includes('panic') && r.s.includes('kernel')).map((r) => r.id).reverse(), 'q= needs every term');
});

test('ClickHouse /api/stats, /api/hosts and the histogram count messages as FINAL does, with FINAL only over partitions that are not one merged part', async (t) => {
  if (clickhouseMissing(t)) return;
  const db = 'stats_count';
  const ch = await freshDatabase(t, db);
  const inserts = generate(11);
  for (const batch of inserts) await insertMessages(ch, db, batch);
  // A fourth day written by one insert that holds one key twice: a single part, never merged, and
  // not collapsed (18.16 does not collapse within an insert).
  const day4 = Date.UTC(2026, 10, 4, 12);
  const twice = { id: 900_001, host: '10.9.0.1', boot: 1, source: '10.9.0.1:6665', seq: 900_001, at: day4, text: 'twice' };
  await insertMessages(ch, db, [twice, { ...twice, id: 900_002 }, { ...twice, id: 900_003, seq: 900_003, text: 'once' }]);
  // Hosts and boots as a collector fills them, so /api/hosts lists each boot with its count.
  await ch.query(`INSERT INTO ${db}.hosts SELECT concat('10.9.0.', toString(number)), '', 0, 0, 0, 1 FROM numbers(4)`);
  await ch.query(`INSERT INTO ${db}.boots SELECT concat('10.9.0.', toString(intDiv(number, 2))), toUInt32(1 + number % 2), 0, -1, 'first', '', 0, 1 FROM numbers(8)`);
  const q = ClickHouseQueries.open(ch.storeUrl(db));
  const count = async (sql: string): Promise<number> => Number((await ch.rows<{ n: string }>(sql))[0]!.n);
  const perBoot = async (): Promise<string[]> =>
    (await ch.rows<{ host: string; boot: number; n: string }>(`SELECT host, boot, count() AS n FROM ${db}.messages FINAL GROUP BY host, boot ORDER BY host, boot`))
      .map((r) => `${r.host}#${r.boot}=${r.n}`);
  const final = () => count(`SELECT count() AS n FROM ${db}.messages FINAL`);
  const unique = new Set([...inserts.flat(), twice].map((r) => `${r.host}/${r.boot}/${r.source}/${r.seq}`)).size + 1;
  const check = async (when: string): Promise<void> => {
    assert.equal(await final(), unique, `${when}: FINAL collapses every repeated key`);
    assert.equal((await q.storedTotals()).messages, unique, `${when}: the stats count is FINAL's`);
    const listed = (await q.hosts()).flatMap((h) => h.boots.map((b) => `${h.address}#${b.boot}=${b.messages}`)).sort();
    assert.deepEqual(listed, await perBoot(), `${when}: each boot's count in /api/hosts is FINAL's`);
    // The histogram with a substring: a key replaced by a row with other text counts as its latest row.
    for (const text of [undefined, 'needle']) {
      const cond = text === undefined ? '' : ` AND positionCaseInsensitive(text, '${text}') > 0`;
      const want = (await ch.rows<{ t: string; level: number; n: string }>(
        `SELECT intDiv(received_at, 60000) * 60000 AS t, level, count() AS n FROM ${db}.messages FINAL WHERE received_at >= 0${cond} GROUP BY t, level ORDER BY t, level`))
        .map((r) => ({ t: Number(r.t), level: Number(r.level), n: Number(r.n) }));
      const got = await q.histogram({ since: 0, until: Date.UTC(2027, 0, 1), bucketMs: 60_000, hosts: [], ...(text ? { text } : {}) });
      assert.ok(want.length > 3, 'the histogram has buckets');
      assert.deepEqual(got, want, `${when}: histogram ${text ?? 'of everything'} as FINAL counts`);
    }
  };
  assert.ok((await count(`SELECT count() AS n FROM ${db}.messages`)) > unique + 10, 'the raw rows repeat keys, so counting them is wrong');
  await check('unmerged');
  // One day merged: its rows come from system.parts, the other days still need FINAL.
  const [first] = await ch.rows<{ p: string }>(`SELECT min(partition) AS p FROM system.parts WHERE database = '${db}' AND table = 'messages' AND active`);
  await ch.query(`OPTIMIZE TABLE ${db}.messages PARTITION ${first!.p} FINAL`);
  await check('one day merged');
  // Repeats land in the merged day again: it is several parts once more.
  await insertMessages(ch, db, inserts.flat().filter((r) => String(new Date(r.at).toISOString().slice(0, 10).replace(/-/g, '')) === first!.p).slice(0, 5));
  await check('repeats after the merge');
  await ch.query(`OPTIMIZE TABLE ${db}.messages FINAL`);
  await check('all merged');
});

test('ClickHouse record context: found for the row FINAL keeps, not for a row another one replaced, before and after merges', async (t) => {
  if (clickhouseMissing(t)) return;
  const db = 'context_final';
  const ch = await freshDatabase(t, db);
  const inserts = generate(5);
  for (const batch of inserts) await insertMessages(ch, db, batch);
  const q = ClickHouseQueries.open(ch.storeUrl(db));
  const ids = [...new Set(inserts.flat().map((r) => r.id))];
  const check = async (when: string): Promise<void> => {
    const kept = new Set((await ch.rows<{ id: string }>(`SELECT toString(id) AS id FROM ${db}.messages FINAL`)).map((r) => Number(r.id)));
    assert.ok(kept.size < ids.length, 'some rows were replaced by a row of their key with a larger id');
    for (const id of ids) {
      const c = await q.context(id, 2, 2);
      assert.equal(c?.message.id, kept.has(id) ? id : undefined, `${when}: context of ${id}`);
    }
  };
  await check('unmerged');
  await ch.query(`OPTIMIZE TABLE ${db}.messages FINAL`);
  await check('merged');
});
