// Opening and migrating real database files in a temp dir: applied once and recorded, newer or
// garbage or unwritable databases refused with one clear line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, copyFileSync, readdirSync, rmSync, readFileSync, openSync, writeSync, closeSync, chmodSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openDatabase, openReadOnly } from '../src/receiver/store/database.js';
import { defaultMigrationsDir, listMigrations } from '../src/receiver/store/migrate.js';
import { StoreError } from '../src/receiver/store/errors.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'nch-store-migrate-'));
}

function assertOneLineStoreError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected StoreError, got ${String(err)}`);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'message is one line');
    return true;
  });
}

test('a new database is created (with its directory), in WAL mode, every migration applied and recorded once', () => {
  const dir = tempDir();
  const path = join(dir, 'nested', 'deeper', 'hub.db');
  const known = listMigrations().map((m) => m.version);
  const first = openDatabase(path);
  assert.deepEqual(first.migration.applied, known);
  assert.equal(first.db.pragma('journal_mode', { simple: true }), 'wal');
  const tables = (first.db.prepare("SELECT name FROM sqlite_schema WHERE type IN ('table')").all() as { name: string }[]).map((r) => r.name);
  for (const t of ['hosts', 'sources', 'boots', 'messages', 'messages_fts', 'seq_events', 'source_counters', 'schema_migrations']) {
    assert.ok(tables.includes(t), `table ${t} exists`);
  }
  first.db.close();
  const second = openDatabase(path);
  assert.deepEqual(second.migration.applied, [], 'nothing applied twice');
  assert.equal(second.migration.current, Math.max(...known));
  const rows = second.db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[];
  assert.deepEqual(rows.map((r) => r.version), known);
  second.db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a later migration file is applied on the next start, in order, each recorded', () => {
  const dir = tempDir();
  const migrations = join(dir, 'migrations');
  mkdirSync(migrations);
  for (const name of readdirSync(defaultMigrationsDir()).filter((n) => n.endsWith('.sql'))) copyFileSync(join(defaultMigrationsDir(), name), join(migrations, name));
  const path = join(dir, 'hub.db');
  openDatabase(path, { migrationsDir: migrations }).db.close();
  writeFileSync(join(migrations, '900_extra.sql'), 'CREATE TABLE extra_a (x INTEGER);');
  writeFileSync(join(migrations, '901_more.sql'), 'CREATE TABLE extra_b (y INTEGER REFERENCES extra_a(x));');
  const { db, migration } = openDatabase(path, { migrationsDir: migrations });
  assert.deepEqual(migration.applied, [900, 901]);
  assert.equal(migration.current, 901);
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a failing migration is rolled back and reported in one line', () => {
  const dir = tempDir();
  const migrations = join(dir, 'migrations');
  mkdirSync(migrations);
  for (const name of readdirSync(defaultMigrationsDir()).filter((n) => n.endsWith('.sql'))) copyFileSync(join(defaultMigrationsDir(), name), join(migrations, name));
  writeFileSync(join(migrations, '900_bad.sql'), 'CREATE TABLE half_done (x INTEGER); THIS IS NOT SQL;');
  const path = join(dir, 'hub.db');
  assertOneLineStoreError(() => openDatabase(path, { migrationsDir: migrations }), /migration 900_bad\.sql failed/);
  const db = new Database(path);
  assert.deepEqual(db.prepare("SELECT name FROM sqlite_schema WHERE name = 'half_done'").all(), [], 'transaction rolled back');
  const shipped = Math.max(...listMigrations().map((m) => m.version));
  assert.equal((db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number }).v, shipped, 'the shipped ones stay applied');
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a database written by a newer version is refused, for writing and for reading', () => {
  const dir = tempDir();
  const path = join(dir, 'hub.db');
  const { db } = openDatabase(path);
  db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(999, '999_future.sql', 0);
  db.close();
  assertOneLineStoreError(() => openDatabase(path), /schema version 999 .*only knows up to \d+; upgrade netconsole-hub/);
  assertOneLineStoreError(() => openReadOnly(path), /schema version 999/);
  rmSync(dir, { recursive: true, force: true });
});

test('a file that is not a database is refused with what to do, and left untouched', () => {
  const dir = tempDir();
  const path = join(dir, 'garbage.db');
  const garbage = Buffer.alloc(8192, 0x5a);
  writeFileSync(path, garbage);
  assertOneLineStoreError(() => openDatabase(path), /is not a SQLite database .*move it aside or choose another --db/);
  assertOneLineStoreError(() => openReadOnly(path), /is not a SQLite database/);
  assert.deepEqual(readFileSync(path), garbage, 'the file is not modified');
  rmSync(dir, { recursive: true, force: true });
});

test('a database with a damaged page is reported as corrupt', () => {
  const dir = tempDir();
  const path = join(dir, 'hub.db');
  const { db } = openDatabase(path);
  db.pragma('journal_mode = DELETE');
  db.close();
  // Keep the valid 100-byte header, overwrite the schema page's content: SQLite sees a malformed schema.
  const junk = Buffer.alloc(4096 - 100, 0xff);
  const h = openSync(path, 'r+');
  writeSync(h, junk, 0, junk.length, 100);
  closeSync(h);
  assertOneLineStoreError(() => openDatabase(path), /(is corrupt|is not a SQLite database)/);
  rmSync(dir, { recursive: true, force: true });
});

test('an unusable location is refused in one line', () => {
  const dir = tempDir();
  const file = join(dir, 'plain-file');
  writeFileSync(file, 'x');
  assertOneLineStoreError(() => openDatabase(join(file, 'hub.db')), /cannot create the database directory/);
  assertOneLineStoreError(() => openDatabase(dir), /is a directory/);
  assertOneLineStoreError(() => openReadOnly(join(dir, 'missing.db')), /does not exist/);
  rmSync(dir, { recursive: true, force: true });
});

test('an unwritable database file is refused in one line', () => {
  const dir = tempDir();
  const path = join(dir, 'hub.db');
  openDatabase(path).db.close();
  if (process.getuid?.() === 0) {
    // Root ignores file modes: try as an unprivileged user in a child process instead.
    chmodSync(dir, 0o755);
    chmodSync(path, 0o644);
    const databaseJs = fileURLToPath(new URL('../src/receiver/store/database.js', import.meta.url));
    const script = `import(${JSON.stringify(databaseJs)}).then((m) => { try { m.openDatabase(${JSON.stringify(path)}); console.log('OPENED'); } catch (e) { console.log(e.message); } })`;
    const r = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.trim(), /^database .* is not writable .*fix the permissions/);
    assert.equal(r.stdout.trim().split('\n').length, 1);
  } else {
    chmodSync(path, 0o444);
    assertOneLineStoreError(() => openDatabase(path), /is not writable/);
    chmodSync(path, 0o644);
  }
  rmSync(dir, { recursive: true, force: true });
});
