// The shape the project promises: the protocol core (src/netconsole) is pure and imports nothing
// of the adapters and none of node's I/O; the receiver never imports from the web side (the web depends on
// the receiver's ports: the store, the live hub, the stats); the sender and receiver share only the core.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers/fixtures.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : n.endsWith('.ts') ? [p] : [];
  });
}

function imports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1]);
}

function offenders(dir: string, bad: (spec: string, file: string) => boolean): string[] {
  return sources(join(ROOT, dir)).flatMap((f) => imports(f).filter((s) => bad(s, f)).map((s) => `${relative(ROOT, f)} imports ${s}`));
}

test('architecture: the core is pure, the receiver does not import the web, the sender does not import the receiver', () => {
  assert.ok(sources(join(ROOT, 'src/receiver')).length > 10, 'the scan sees the sources');
  // (node:buffer and node:crypto compute; nothing else of node's, no I/O.)
  const pure = (s: string) => (s.startsWith('node:') ? s === 'node:buffer' || s === 'node:crypto' : s.startsWith('./') && !s.includes('..'));
  assert.deepEqual(offenders('src/netconsole', (s) => !pure(s)), [], 'src/netconsole imports only itself');
  assert.deepEqual(offenders('src/receiver', (s) => s.includes('/web/')), [], 'no arrow from src/receiver into src/web');
  // The web reads through the storage ports only; which adapter (SQLite, ClickHouse) is serve's choice.
  const port = /\/receiver\/store\/(port|filters|text-filter|types)\.js$/;
  assert.deepEqual(offenders('src/web', (s) => s.includes('/store/') && !port.test(s)), [], 'src/web imports the storage ports, never an adapter');
  assert.deepEqual(offenders('src/web', (s) => /better-sqlite3|@clickhouse/.test(s)), [], 'src/web imports no database driver');
  assert.deepEqual(offenders('src/sender', (s) => s.includes('/receiver/') || s.includes('/web/')), [], 'the sender shares only the core');
});
