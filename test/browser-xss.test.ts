// Hostile input in the dashboard, in a real browser (Debian's Chromium through playwright-core)
// against a real `serve` with --auth-token, filled over UDP: kernel text, a host name, dictionary
// and userdata fields and an incident's text all hold HTML and script. Across the login form, the
// live tail, search (and its context panel with the fields), the hosts view (with its "panicked"
// marker) and the incidents list and page, nothing runs: no dialog, no page error, no element the
// payloads would create, no CSP violation. Screenshots go to test-output/.
// Skipped with a reason when /usr/bin/chromium is missing, unless NCH_REQUIRE_BROWSER=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { browserMissing, launchChromium } from './helpers/requirements.js';
import { sendDatagrams, startServe, waitFor } from './helpers/serve.js';

const OUT = resolve('test-output');
const TOKEN = '9d2c4e6f8a0b1c3d5e7f9a1b3c5d7e9f';
const HOST_NAME = '<img src=x onerror=alert(1)>';
const BACKLOG = 'xss-backlog <img src=x onerror="alert(2)"> <svg onload=alert(2)></svg>';
const LIVE = 'usb 1-1: xss-live <script>alert(3)</script><b>bold</b><iframe src="javascript:alert(3)"></iframe>';
const SUBSYSTEM = '<img src=x onerror=alert(4)>';
const DEVICE = '+usb:<svg onload=alert(5)>';
const USERDATA = '"><script>alert(6)</script>';
const PANIC = 'Kernel panic - not syncing: xss-panic <script>alert(7)</script><img src=x onerror=alert(7)>';

/** Runs in the page before its own script (CDP, not subject to the CSP): records what would betray an injection. */
const WATCH = `
  window.__csp = [];
  window.__injected = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
  const HOSTILE = new Set(['IMG', 'SCRIPT', 'SVG', 'IFRAME', 'OBJECT', 'EMBED', 'B', 'svg']);
  const check = (el) => {
    if (!(el instanceof Element)) return;
    for (const e of [el, ...el.querySelectorAll('*')]) {
      const onAttr = [...e.attributes].some((a) => a.name.toLowerCase().startsWith('on'));
      const ownScript = e.tagName === 'SCRIPT' && /^(.*\\/)?app\\.js$/.test(e.getAttribute('src') || '');
      if ((HOSTILE.has(e.tagName) && !ownScript) || onAttr) window.__injected.push(e.outerHTML.slice(0, 120));
    }
  };
  new MutationObserver((list) => { for (const m of list) for (const n of m.addedNodes) check(n); })
    .observe(document, { childList: true, subtree: true });
`;

function extended(level: number, seq: number, tsUsec: number, text: string, fields: [string, string][] = []): Buffer {
  return Buffer.from(`${level},${seq},${tsUsec},-;${text}\n${fields.map(([k, v]) => ` ${k}=${v}\n`).join('')}`);
}

async function api(base: string, path: string): Promise<any> {
  const res = await fetch(base + path, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return res.json();
}

test('hostile text in every view runs nothing: kernel text, host name, fields, incident text (with token login)', async (t) => {
  if (browserMissing(t)) return;
  mkdirSync(OUT, { recursive: true });
  const srv = await startServe({ extraArgs: ['--auth-token', TOKEN, '--host-name', `127.0.0.1=${HOST_NAME}`] });
  let browser: Browser | undefined;
  try {
    const base = srv.http;
    // History before the page opens: a hostile line and the panic.
    await sendDatagrams(srv.udpPort, [extended(6, 0, 1_000, BACKLOG), extended(0, 1, 2_000, PANIC)]);
    await waitFor('the history stored', async () => (await api(base, '/api/messages')).messages.length === 2 || undefined);
    const hosts = (await api(base, '/api/hosts')).hosts;
    assert.equal(hosts[0].host, HOST_NAME, 'the host-name map gives the hostile name');

    // The panic as an incident, found by serve itself (detection runs after each stored batch).
    const incidents = await waitFor('the panic incident', async () => {
      const list = (await api(base, '/api/incidents?kind=panic')).incidents;
      return list.length ? list : undefined;
    });
    assert.equal(incidents.length, 1);
    assert.equal(incidents[0].host, HOST_NAME);
    const incidentId: number = incidents[0].id;

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
    page.setDefaultTimeout(10_000);
    await page.addInitScript(WATCH);
    const problems: string[] = [];
    let expect401 = false;
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('dialog', (d) => {
      problems.push(`dialog opened: ${d.type()} ${d.message()}`);
      void d.dismiss();
    });
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      // The deliberate wrong login is a 401 the browser reports as a failed resource load.
      if (expect401 && /status of 401/.test(m.text())) return;
      problems.push(`console error: ${m.text()}`);
    });

    // Login form: nothing loads before it; a wrong token is refused, the right one lets the dashboard in.
    await page.goto(base + '/');
    await page.locator('#login:not([hidden])').waitFor();
    assert.equal(await page.locator('#summary').textContent(), '', 'no data before login');
    expect401 = true;
    await page.fill('#login-token', 'not-the-token');
    await page.press('#login-token', 'Enter');
    await page.locator('#login-error', { hasText: 'wrong token' }).waitFor();
    expect401 = false;
    await page.screenshot({ path: resolve(OUT, 'xss-login.png') });
    await page.fill('#login-token', TOKEN);
    await page.click('#login-form button[type="submit"]');
    await page.locator('#login').waitFor({ state: 'hidden' });
    await page.locator('#status[data-state="live"]').waitFor();
    await page.locator('#logout:not([hidden])').waitFor();
    assert.equal(await page.evaluate('document.cookie'), '', 'the session cookie is HttpOnly');

    // Live tail: the backlog line, then a live one with fields.
    const backlog = page.locator('#panes .line', { hasText: 'xss-backlog' });
    await backlog.waitFor();
    assert.equal(await backlog.locator('.c-text').textContent(), BACKLOG);
    assert.equal(await backlog.locator('.c-host').textContent(), HOST_NAME);
    await sendDatagrams(srv.udpPort, [extended(4, 2, 3_000, LIVE, [['SUBSYSTEM', SUBSYSTEM], ['DEVICE', DEVICE], ['note', USERDATA]])]);
    const live = page.locator('#panes .line', { hasText: 'xss-live' });
    await live.waitFor();
    assert.equal(await live.locator('.c-text').textContent(), LIVE);
    assert.equal(await live.locator('.c-host').textContent(), HOST_NAME);
    // The hosts filter's suggestions hold the hostile name as an attribute value, not markup.
    await waitFor('the host name among the suggestions', async () =>
      (await page.locator('#known-hosts option').evaluateAll((os: any[]) => os.map((o) => o.getAttribute('value')))).includes(HOST_NAME));
    await page.screenshot({ path: resolve(OUT, 'xss-live.png') });

    // Search: every hostile line found and shown as text; the context panel shows the fields as text.
    await page.click('nav a[data-view="search"]');
    await page.fill('#search-q', 'xss*');
    await page.press('#search-q', 'Enter');
    await page.locator('#search-results .line', { hasText: 'xss-live' }).waitFor();
    assert.equal(await page.locator('#search-results .line').count(), 3);
    for (const text of [BACKLOG, LIVE, PANIC]) {
      const line = page.locator('#search-results .line', { hasText: text.split(' ').find((w) => w.startsWith('xss-'))! });
      assert.equal(await line.locator('.c-text').textContent(), text);
    }
    await page.locator('#search-results .line', { hasText: 'xss-live' }).click();
    const fields = page.locator('#context .fields');
    await fields.waitFor();
    assert.deepEqual(await fields.locator('dd').allTextContents(), [SUBSYSTEM, DEVICE, USERDATA]);
    assert.equal(await page.locator('#context-title').textContent(), `${HOST_NAME} · boot 1 · seq 2`);
    await page.screenshot({ path: resolve(OUT, 'xss-search-context.png') });
    await page.keyboard.press('Escape');

    // Hosts: the name as text, the "panicked" marker leading to the incident.
    await page.click('nav a[data-view="hosts"]');
    const row = page.locator('#hosts-body tr').first();
    await row.locator('strong').waitFor();
    assert.equal(await row.locator('strong').textContent(), HOST_NAME);
    const marker = row.locator('a.badge.panicked');
    await marker.waitFor();
    assert.equal(await marker.getAttribute('href'), `#incidents/${incidentId}`);
    assert.match((await marker.getAttribute('title')) ?? '', /xss-panic <script>alert\(7\)<\/script>/);
    await page.screenshot({ path: resolve(OUT, 'xss-hosts.png') });

    // Incidents: the page the marker opens, then the list.
    await marker.click();
    const report = page.locator('.incident-console');
    await report.waitFor();
    assert.ok((await report.locator('.inc-line').allTextContents()).includes(PANIC));
    assert.match((await page.locator('.incident-page h2').textContent()) ?? '', /xss-panic <script>alert\(7\)<\/script>/);
    await page.screenshot({ path: resolve(OUT, 'xss-incident.png') });
    await page.evaluate("location.hash = '#incidents'");
    const incidentRow = page.locator('#view-incidents tr[data-id]', { hasText: 'xss-panic' });
    await incidentRow.waitFor();
    assert.equal(await incidentRow.locator('td').nth(2).textContent(), HOST_NAME);
    assert.equal(await incidentRow.locator('td').nth(3).textContent(), PANIC);
    await page.screenshot({ path: resolve(OUT, 'xss-incidents.png') });

    // Nothing ran, nothing was injected, the CSP had nothing to block.
    assert.deepEqual(await page.evaluate('window.__injected'), [], 'no element from the payloads');
    assert.deepEqual(await page.evaluate('window.__csp'), [], 'no CSP violation');
    assert.equal(await page.locator('img, svg, iframe, object, embed, b, script:not([src$="app.js"])').count(), 0);
    assert.deepEqual(problems, [], 'no dialog, no page error, no console error');
  } finally {
    await browser?.close();
    await srv.stop();
  }
});
