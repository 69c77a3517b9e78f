// The dashboard in a real browser (Debian's Chromium through playwright-core): live tail, pause,
// search with context, hosts, and kernel text holding HTML that must stay text and run nothing.
// Skipped with a reason when /usr/bin/chromium is missing, unless NCH_REQUIRE_BROWSER=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { browserMissing, collectPageProblems, launchChromium } from './helpers/requirements.js';
import { startWorld, record, T0, type World } from './web-world.js';
import { sendDatagrams, startServe, waitFor } from './helpers/serve.js';

const OUT = resolve('test-output');
const XSS = '<img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> usb 1-1: evil name';

async function withDashboard(t: { skip(msg: string): void }, body: (page: Page, w: World) => Promise<void>): Promise<void> {
  if (browserMissing(t)) return;
  const w = await startWorld();
  try {
    await inBrowser((page) => body(page, w));
  } finally {
    await w.close();
  }
}

/** Runs body on a fresh page; fails on any script error, dialog or CSP violation. */
async function inBrowser(body: (page: Page) => Promise<void>): Promise<void> {
  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
    page.setDefaultTimeout(10_000);
    const problems: string[] = [];
    collectPageProblems(page, problems);
    await body(page);
    assert.deepEqual(problems, [], 'no script errors, no dialogs, no CSP violations');
  } finally {
    await browser?.close();
  }
}

test('dashboard: live tail, pause, hostile text, search with context, hosts', async (t) => {
  await withDashboard(t, async (page, w) => {
    mkdirSync(OUT, { recursive: true });
    const host = '10.2.0.1:6665';
    const other = '10.2.0.2:6665';
    // History: an older record only search will find, and some ordinary lines.
    await w.add([
      record(host, { seq: 0, level: 6, tsUsec: 1_000, receivedAt: T0, text: 'Linux version 6.1.0 (builder@example) #1 SMP' }),
      record(host, { seq: 1, level: 3, tsUsec: 52_103, receivedAt: T0 + 1, text: 'ancientword: EXT4-fs error (device sda1): ext4_find_entry:1455' }),
      ...[...Array(40).keys()].map((i) => record(host, { seq: 2 + i, level: i % 8, tsUsec: 100_000 + i * 7919, receivedAt: T0 + 2 + i, text: `filler line ${i} eth0: link up` })),
      record(other, { seq: 7, level: 4, tsUsec: 3_400_000, receivedAt: T0 + 50, text: 'WARNING: CPU: 1 PID: 42 at drivers/net/foo.c:12' }),
    ]);
    await page.goto(w.base + '/');
    await page.locator('#status[data-state="live"]').waitFor();

    // A record published after the page opened shows up in the live tail.
    await w.add([record(host, { seq: 100, level: 2, tsUsec: 12_345_678, receivedAt: Date.now(), text: 'hello from the live test' })]);
    const liveLine = page.locator('#panes .line', { hasText: 'hello from the live test' });
    await liveLine.waitFor();
    assert.equal(await liveLine.locator('.c-ts').textContent(), '[12.345678]');
    assert.equal(await liveLine.locator('.c-host').textContent(), '10.2.0.1');
    assert.match((await liveLine.getAttribute('class')) ?? '', /lvl-2/);

    // Kernel text with markup is text: no element created, nothing run.
    await w.add([record(host, { seq: 101, level: 4, receivedAt: Date.now(), text: XSS })]);
    const xssLine = page.locator('#panes .line', { hasText: 'usb 1-1: evil name' });
    await xssLine.waitFor();
    assert.equal(await xssLine.locator('.c-text').textContent(), XSS);
    assert.equal(await page.locator('#panes img, #panes script').count(), 0);

    // Pause keeps new lines aside; resume shows them.
    await page.locator('body').click({ position: { x: 5, y: 300 } });
    await page.keyboard.press('Space');
    await page.locator('#live-pause[aria-pressed="true"]').waitFor();
    await w.add([record(host, { seq: 102, receivedAt: Date.now(), text: 'arrived while paused' })]);
    await page.locator('#live-count', { hasText: '1 new lines waiting' }).waitFor();
    assert.equal(await page.locator('#panes .line', { hasText: 'arrived while paused' }).count(), 0);
    await page.keyboard.press('Space');
    await page.locator('#panes .line', { hasText: 'arrived while paused' }).waitFor();

    // Regex filter on the tail (`/…/`; a bare text is a substring): history and live refiltered.
    await page.keyboard.press('/');
    await page.keyboard.type('/hello|evil/');
    await page.keyboard.press('Enter');
    await waitFor('exactly the two matching lines', async () => (await page.locator('#panes .line').count()) === 2);
    await page.fill('#live-regex', '');
    await page.press('#live-regex', 'Enter');
    await page.locator('#panes .line', { hasText: 'filler line 39 ' }).waitFor();

    // Two hosts side by side.
    await page.check('#live-split');
    await page.selectOption('#panes .pane-host', other.replace(/:\d+$/, ''));
    await page.locator('#panes .pane').nth(1).locator('.line', { hasText: 'WARNING: CPU: 1' }).waitFor();
    await page.screenshot({ path: resolve(OUT, 'dashboard-live.png') });
    await page.uncheck('#live-split');

    // Search over history, highlighted, and a click opens the context.
    await page.click('nav a[data-view="search"]');
    await page.fill('#search-q', 'ancientword');
    await page.press('#search-q', 'Enter');
    const hit = page.locator('#search-results .line', { hasText: 'ext4_find_entry' });
    await hit.waitFor();
    assert.equal(await hit.locator('mark').first().textContent(), 'ancientword');
    await hit.click();
    await page.locator('#context .line.target', { hasText: 'ancientword' }).waitFor();
    await page.locator('#context .line', { hasText: 'Linux version 6.1.0' }).waitFor();
    await page.screenshot({ path: resolve(OUT, 'dashboard-search.png') });
    await page.keyboard.press('Escape');

    // The hostile record found by search is text too.
    await page.fill('#search-q', 'evil');
    await page.press('#search-q', 'Enter');
    await page.locator('#search-results .line', { hasText: 'usb 1-1' }).waitFor();
    assert.equal(await page.locator('#search-results img, #search-results script').count(), 0);

    // Hosts view.
    await page.click('nav a[data-view="hosts"]');
    await page.locator('#hosts-body tr', { hasText: '10.2.0.2' }).waitFor();
    assert.equal(await page.locator('#hosts-body tr').count(), 2);
    await page.screenshot({ path: resolve(OUT, 'dashboard-hosts.png') });

    // The dark theme follows the system setting.
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.click('nav a[data-view="live"]');
    await page.locator('#panes .line', { hasText: 'hello from the live test' }).waitFor();
    const background = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    assert.equal(background, 'rgb(15, 17, 23)');
    await page.screenshot({ path: resolve(OUT, 'dashboard-live-dark.png') });

    assert.equal(await page.evaluate('window.__pwned'), undefined, 'the injected markup never ran');
  });
});

test('dashboard over UDP: a record sent to a real serve appears in the live tail, its markup inert', async (t) => {
  if (browserMissing(t)) return;
  const srv = await startServe();
  try {
    await sendDatagrams(srv.udpPort, [Buffer.from('6,0,1000,-;an older record: findme-oldword\n')]);
    await inBrowser(async (page) => {
      await page.goto(srv.http + '/');
      await page.locator('#status[data-state="live"]').waitFor();
      await page.locator('#panes .line', { hasText: 'findme-oldword' }).waitFor();
      // Extended netconsole: level 2, seq 1, 12.345678 s; the text holds markup.
      await sendDatagrams(srv.udpPort, [Buffer.from(`2,1,12345678,-;over udp ${XSS}\n`)]);
      const line = page.locator('#panes .line', { hasText: 'over udp' });
      await line.waitFor();
      assert.equal(await line.locator('.c-text').textContent(), `over udp ${XSS}`);
      assert.equal(await line.locator('.c-ts').textContent(), '[12.345678]');
      assert.equal(await page.locator('#panes img, #panes script').count(), 0);
      await page.click('nav a[data-view="search"]');
      await page.fill('#search-q', 'oldword');
      await page.press('#search-q', 'Enter');
      await page.locator('#search-results .line mark', { hasText: 'oldword' }).waitFor();
      await page.screenshot({ path: resolve(OUT, 'dashboard-udp-search.png') });
      assert.equal(await page.evaluate('window.__pwned'), undefined, 'the injected markup never ran');
    });
  } finally {
    await srv.stop();
  }
});
