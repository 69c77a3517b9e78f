// What some tests need that a machine may lack (raw sockets, Chromium): skipped with the reason,
// unless CI's NCH_REQUIRE_* variable makes the missing piece a failure.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { openRawUdpSender } from '../../src/net/raw-socket.js';

type Skippable = { skip(message: string): void };

/** Why raw sockets cannot be used here, or null when they can (checked once). */
let rawUnavailable: string | null | undefined;
function rawUnavailableReason(): string | null {
  if (rawUnavailable !== undefined) return rawUnavailable;
  try {
    openRawUdpSender({ family: 4 }).close();
    rawUnavailable = null;
  } catch (err) {
    rawUnavailable = err instanceof Error ? err.message : String(err);
  }
  return rawUnavailable;
}

/** True (and the test skipped, or failed under NCH_REQUIRE_ROOT=1) when raw sockets are unavailable. */
export function skipUnlessRaw(t: Skippable): boolean {
  const why = rawUnavailableReason();
  if (why === null) return false;
  if (process.env.NCH_REQUIRE_ROOT === '1') assert.fail(`NCH_REQUIRE_ROOT=1 but raw sockets are unavailable: ${why}`);
  t.skip(`raw sockets unavailable (${why})`);
  return true;
}

export const CHROMIUM = '/usr/bin/chromium';

/** True (and the test skipped, or failed under NCH_REQUIRE_BROWSER=1) when Chromium is missing. */
export function browserMissing(t: Skippable): boolean {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.NCH_REQUIRE_BROWSER === '1') assert.fail(`NCH_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing (apt-get install -y chromium)`);
  t.skip(`${CHROMIUM} is missing; install chromium (NCH_REQUIRE_BROWSER=1 makes this mandatory)`);
  return true;
}

/** Debian's Chromium, headless, without the background traffic a test machine does not want. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Collects what should never happen on a dashboard page: script errors, dialogs (dismissed), console errors. */
export function collectPageProblems(page: Page, problems: string[]): void {
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('dialog', (d) => {
    problems.push(`dialog opened: ${d.message()}`);
    void d.dismiss();
  });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
}
