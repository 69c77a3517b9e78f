// A record the kernel cut at 2048 bytes, and one put back together from ncfrag pieces, carry a small
// visible marker in the dashboard, in the live tail; an ordinary record has none. Skipped with a reason without /usr/bin/chromium.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { browserMissing, launchChromium } from './helpers/requirements.js';
import { record, startWorld } from './web-world.js';

test('dashboard: a truncated record and a reassembled one are marked, an ordinary one is not', async (t) => {
  if (browserMissing(t)) return;
  const w = await startWorld();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(10_000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(w.base + '/');
    await page.locator('#status[data-state="live"]').waitFor();
    await w.add([
      record('10.9.0.1:6665', { seq: 1, level: 6, receivedAt: Date.now(), text: 'kn-frag utf8-long éé', truncated: true }),
      record('10.9.0.1:6665', { seq: 2, level: 6, receivedAt: Date.now(), text: 'a line sent in pieces', fragmented: true }),
      record('10.9.0.1:6665', { seq: 3, level: 6, receivedAt: Date.now(), text: 'an ordinary line' }),
    ]);
    const cut = page.locator('#panes .line', { hasText: 'kn-frag utf8-long' });
    const plain = page.locator('#panes .line', { hasText: 'an ordinary line' });
    await plain.waitFor();
    assert.equal(await cut.locator('.c-text .mark-trunc').textContent(), 'truncated');
    assert.ok(await cut.locator('.c-text .mark-trunc').isVisible());
    assert.equal(await plain.locator('.mark-trunc').count(), 0);
    const pieces = page.locator('#panes .line', { hasText: 'a line sent in pieces' });
    assert.equal(await pieces.locator('.c-text .mark-frag').textContent(), 'fragments');
    assert.equal(await plain.locator('.mark-frag').count(), 0);
    assert.equal(await cut.locator('.mark-frag').count(), 0);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await w.close();
  }
});
