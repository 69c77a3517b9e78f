// How long the dashboard's pages take to load on a big database, in Debian's Chromium against a
// real `serve` (issue 19: under 1 s with 10 million stored records). Each page is a fresh tab
// (the bundle loaded again), timed from navigation until its data is on screen (by the page's own
// clock, and until playwright sees it), REPS times; the
// API calls behind each page are timed alone too, to say where the time goes.
//
//   node dist/bench/gen-db.js --out /tmp/big.db --rows 10000000 --hosts 1000
//   node dist/bench/dashboard-load.js --db /tmp/big.db [--reps 5]
import { chromium } from 'playwright-core';
import { getJson, startServe } from './common.js';

const CHROMIUM = '/usr/bin/chromium';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const db = arg('db');
  if (!db) throw new Error('usage: dashboard-load --db PATH [--reps N]');
  const reps = Number(arg('reps') ?? 5);
  const srv = await startServe({ db });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  try {
    const stats = await getJson(`${srv.http}/api/stats`);
    const host = (await getJson(`${srv.http}/api/messages?limit=1`)).messages[0].host as string;
    const someId = (await getJson(`${srv.http}/api/messages?limit=1&q=segfault`)).messages[0]?.id ?? 1;
    console.log(`database: ${stats.messages.toLocaleString('en-US')} records, ${stats.hosts} hosts`);
    const pages: { name: string; hash: string; ready: string; api: string[] }[] = [
      { name: 'live (all hosts)', hash: '#live', ready: '#panes .line', api: ['/api/messages?limit=200'] },
      { name: 'live (one host, /regex/)', hash: `#live?hosts=${host}&text=${encodeURIComponent('/eth\\d: NIC Link is Up \\d+/')}`, ready: '#panes .line',
        api: [`/api/messages?limit=200&hosts=${host}&regex=${encodeURIComponent('/eth\\d: NIC Link is Up \\d+/')}`] },
      { name: 'search q=segfault + histogram', hash: '#search?q=segfault', ready: '.hist-col', api: ['/api/messages?q=segfault', '/api/histogram?q=segfault'] },
      { name: 'search host + level<=3', hash: `#search?hosts=${host}&level=3`, ready: '#search-results .line',
        api: [`/api/messages?hosts=${host}&level=3`, `/api/histogram?hosts=${host}&level=3`] },
      { name: 'context of a record', hash: `#record/${someId}`, ready: '#context .line.target', api: [`/api/messages/${someId}/context?before=30&after=30`] },
      { name: 'hosts', hash: '#hosts', ready: '#hosts-body tr', api: ['/api/hosts'] },
    ];
    for (const p of pages) {
      const times: number[] = [];
      const painted: number[] = [];
      for (let i = 0; i < reps; i++) {
        const page = await browser.newPage({ viewport: { width: 1400, height: 820 } });
        // The page's own clock: from navigation start to the first frame painted with the data on
        // screen (the observer notes when the selector first matches; the frame after it is painted
        // before the timer after the next animation frame runs). Playwright's wait can see it later,
        // when the page goes on building what is below the fold.
        await page.addInitScript({ content: `(() => {
          const mo = new MutationObserver(() => {
            if (!document.querySelector(${JSON.stringify(p.ready)})) return;
            mo.disconnect();
            requestAnimationFrame(() => setTimeout(() => { window.__painted = performance.now(); }, 0));
          });
          mo.observe(document, { subtree: true, childList: true });
        })();` });
        const t0 = performance.now();
        await page.goto(`${srv.http}/${p.hash}`);
        await page.locator(p.ready).first().waitFor({ timeout: 60_000 });
        times.push(performance.now() - t0);
        await page.waitForFunction('window.__painted !== undefined', undefined, { timeout: 60_000 });
        painted.push(Number(await page.evaluate('window.__painted')));
        await page.close();
      }
      const apiTimes = [];
      for (const path of p.api) {
        const ts: number[] = [];
        for (let i = 0; i < reps; i++) {
          const t0 = performance.now();
          await getJson(`${srv.http}${path}`, 60_000);
          ts.push(performance.now() - t0);
        }
        apiTimes.push(`${path.split('?')[0]} ${median(ts).toFixed(0)} ms`);
      }
      console.log(`${p.name.padEnd(32)} on screen ${median(painted).toFixed(0).padStart(5)} ms (page clock; max ${Math.max(...painted).toFixed(0)}), seen by playwright ${median(times).toFixed(0).padStart(5)} ms (max ${Math.max(...times).toFixed(0)}), median of ${reps}  ${apiTimes.join(', ')}`);
    }
  } finally {
    await browser.close();
    await srv.stop();
  }
}

await main();
