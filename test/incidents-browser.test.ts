// The incidents view in a real browser (Debian's Chromium through playwright-core), served with the
// dashboard's real security headers (CSP) and the real incident routes over a real SQLite file
// holding the 6.1 fixture's incidents: the list, the panic's console page, hostile text as text.
// Skipped with a reason when /usr/bin/chromium is missing, unless NCH_REQUIRE_BROWSER=1.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import Fastify from 'fastify';
import type { Browser } from 'playwright-core';
import { browserMissing, launchChromium } from './helpers/requirements.js';
import { NetconsoleReceiver } from '../src/netconsole/pipeline.js';
import { IncidentDetector, type IncidentChange } from '../src/netconsole/incidents.js';
import type { LogRecord } from '../src/netconsole/types.js';
import { openDatabase } from '../src/receiver/store/database.js';
import { IncidentsStore } from '../src/receiver/incidents-store.js';
import { registerIncidentRoutes } from '../src/web/incidents-routes.js';
import { SqliteQueries } from '../src/receiver/store/sqlite-queries.js';
import { installErrorHandlers } from '../src/web/http-errors.js';
import { installSecurityHeaders } from '../src/web/security.js';
import { ROOT, loadJsonl } from './helpers/fixtures.js';

const XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
const dir = mkdtempSync(join(tmpdir(), 'nch-incidents-ui-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function fixtureChanges(host: string): IncidentChange[] {
  const receiver = new NetconsoleReceiver();
  const detector = new IncidentDetector();
  const changes: IncidentChange[] = [];
  let id = 0;
  let now = 0;
  const sink = { record: (r: LogRecord) => { changes.push(...detector.push(host, r, now, { id: ++id, boot: 1 })); }, event: () => {} };
  for (const d of loadJsonl('extended.jsonl')) {
    now = Math.round(d.t * 1000);
    receiver.push(d.src, d.payload, now, sink);
  }
  receiver.flushAll(now, sink);
  changes.push(...detector.flushAll(now));
  return changes;
}

/** The view alone, bundled like the dashboard bundles it, mounted into an empty page. */
async function bundle(): Promise<string> {
  const out = await build({
    stdin: { contents: "import { mountIncidents } from './incidents.ts'; mountIncidents(document.getElementById('view-incidents'));", resolveDir: join(ROOT, 'src/web/ui'), loader: 'ts' },
    bundle: true, format: 'esm', write: false, target: ['chrome110'], logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

test('incidents view: list newest first, the fixture panic\'s console page, hostile text stays text', async (t) => {
  if (browserMissing(t)) return;
  const { db } = openDatabase(join(dir, 'ui.db'));
  const store = new IncidentsStore(db);
  for (const c of fixtureChanges('10.0.2.15')) store.save(c.incident, 1);
  const panicId = store.list({ kind: 'panic' })[0].id;
  // a later, hostile warning: its text must appear as text and run nothing
  store.save({
    key: 'evil', host: '10.9.9.9', kind: 'warning', severity: 'warning', headline: `WARNING: CPU: 0 PID: 1 at ${XSS}`,
    started_at: Date.now(), ended_at: Date.now(), ended_by: 'end-marker', ts_usec: null, first_message_id: null, last_message_id: null,
    lines: [`WARNING: CPU: 0 PID: 1 at ${XSS}`], modules: [XSS], release: null, signature: '00000000000000aa', signature_frames: [], context_before: [XSS],
  }, 2);

  const js = await bundle();
  const app = Fastify({ logger: false });
  installSecurityHeaders(app);
  installErrorHandlers(app);
  registerIncidentRoutes(app, new SqliteQueries(db));
  app.get('/', async (_q, reply) => reply.type('text/html; charset=utf-8').send(
    '<!doctype html><html><head><meta charset="utf-8"><title>t</title><script type="module" src="/app.js"></script></head>' +
    '<body><section id="view-incidents" class="view"></section></body></html>'));
  app.get('/app.js', async (_q, reply) => reply.type('text/javascript; charset=utf-8').send(js));
  const base = await app.listen({ host: '127.0.0.1', port: 0 });

  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    page.setDefaultTimeout(10_000);
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
    page.on('dialog', (d) => { problems.push(`dialog: ${d.message()}`); void d.dismiss(); });

    await page.goto(base + '/#incidents');
    const rows = page.locator('table.incidents tbody tr');
    await rows.nth(2).waitFor();
    assert.equal(await rows.count(), 3);
    const kinds = await rows.locator('td:nth-child(2)').allTextContents();
    assert.deepEqual(kinds, ['warning', 'panic', 'nmi-backtrace'], 'newest first');
    assert.match((await rows.nth(0).locator('td:nth-child(4)').textContent()) ?? '', /<img src=x onerror=/);
    assert.equal(await rows.nth(1).locator('td:nth-child(5)').textContent(), '×1');

    // the panic's page, at its own address
    await rows.nth(1).click();
    await page.waitForURL(`${base}/#incidents/${panicId}`);
    const screen = page.locator('.incident-console');
    await screen.waitFor();
    const lines = await screen.locator('.inc-line').allTextContents();
    assert.ok(lines.includes('Kernel panic - not syncing: sysrq triggered crash'));
    assert.ok(lines.includes('Call Trace:'));
    assert.ok(lines.some((l) => l.includes('sysrq_handle_crash+0x16/0x20')));
    assert.equal(lines[lines.length - 1], '---[ end Kernel panic - not syncing: sysrq triggered crash ]---');
    assert.ok(lines.includes('sysrq: Trigger a crash'), 'context before it');
    const style = (prop: string): Promise<unknown> => page.evaluate(`getComputedStyle(document.querySelector('.incident-console')).${prop}`);
    const bg = await style('backgroundColor');
    assert.equal(bg, 'rgb(11, 13, 18)', 'a dark console');
    assert.match(String(await style('fontFamily')), /monospace/);
    const facts = (await page.locator('.incident-facts').textContent()) ?? '';
    assert.match(facts, /6\.1\.0-56-amd64/);
    assert.match(facts, /sysrq_handle_crash ← __handle_sysrq/);

    // back, then straight to the hostile incident by its address
    await page.getByRole('button', { name: '← All incidents' }).click();
    await page.waitForURL(`${base}/#incidents`);
    await rows.nth(2).waitFor();
    const evilId = store.list({ kind: 'warning' })[0].id;
    await page.goto(`${base}/#incidents/${evilId}`);
    await page.locator('.incident-console').waitFor();
    assert.equal(await page.locator('.incident-page img, .incident-page script').count(), 0, 'no markup from data');
    assert.ok((await page.locator('.incident-console').textContent())?.includes(XSS));
    assert.equal(await page.evaluate('window.__pwned'), undefined);

    // a missing incident is a clear message
    await page.goto(`${base}/#incidents/999999`);
    await page.getByText('could not load incident 999999: no incident 999999').waitFor();
    assert.ok(panicId > 0);
    assert.deepEqual(problems.filter((p) => !p.includes('404')), [], 'no script errors, dialogs or CSP violations');
  } finally {
    await browser?.close();
    await app.close();
    db.close();
  }
});
