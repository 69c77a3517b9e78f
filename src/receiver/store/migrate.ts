// Schema migrations: numbered `migrations/NNN_name.sql` files applied in order, each in its own
// transaction and recorded in schema_migrations. A database that has a migration this code does not
// know was written by a newer netconsole-hub and is refused rather than misread.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type BetterSqlite3 from 'better-sqlite3';
import { StoreError, errorCode, errorMessage } from './errors.js';

export interface Migration {
  version: number;
  name: string;
  file: string;
}

export interface MigrationResult {
  /** Versions applied by this call, in order. */
  applied: number[];
  /** Highest version now recorded. */
  current: number;
}

/** `migrations/` at the package root; this file is compiled to dist/src/receiver/store/. */
export function defaultMigrationsDir(): string {
  return fileURLToPath(new URL('../../../../migrations/', import.meta.url));
}

const FILE_NAME = /^(\d+)_([\w.-]+)\.sql$/;

export function listMigrations(dir: string = defaultMigrationsDir()): Migration[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new StoreError(`cannot read migrations directory ${dir} (${errorMessage(err)}); the installation is incomplete`);
  }
  const out: Migration[] = [];
  const seen = new Map<number, string>();
  for (const name of names) {
    const m = FILE_NAME.exec(name);
    if (!m) continue;
    const version = Number(m[1]);
    const other = seen.get(version);
    if (other) throw new StoreError(`two migrations share number ${version}: ${other} and ${name}`);
    seen.set(version, name);
    out.push({ version, name, file: join(dir, name) });
  }
  if (out.length === 0) throw new StoreError(`no migrations found in ${dir}; the installation is incomplete`);
  return out.sort((a, b) => a.version - b.version);
}

function appliedVersions(db: BetterSqlite3.Database): number[] {
  return (db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map((r) => r.version);
}

/** Refuses a database that records a migration this code does not have. */
export function checkNotNewer(db: BetterSqlite3.Database, migrations: Migration[], path: string): void {
  const known = new Set(migrations.map((m) => m.version));
  const unknown = appliedVersions(db).filter((v) => !known.has(v));
  if (unknown.length > 0) {
    const newest = Math.max(...migrations.map((m) => m.version));
    throw new StoreError(
      `database ${path} has schema version ${Math.max(...unknown)} but this netconsole-hub only knows up to ${newest}; ` +
        'upgrade netconsole-hub or choose another --db',
    );
  }
}

export function migrate(db: BetterSqlite3.Database, path: string, dir: string = defaultMigrationsDir(), now: number = Date.now()): MigrationResult {
  const migrations = listMigrations(dir);
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  checkNotNewer(db, migrations, path);
  const applied: number[] = [];
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?');
  for (const m of migrations) {
    const sql = readFileSync(m.file, 'utf8');
    // IMMEDIATE: two processes starting at once cannot both apply the same migration.
    const apply = db.transaction(() => {
      if (isApplied.get(m.version)) return false;
      db.exec(sql);
      record.run(m.version, m.name, now);
      return true;
    });
    try {
      if (apply.immediate()) applied.push(m.version);
    } catch (err) {
      if (err instanceof StoreError) throw err;
      // A file-level problem (corrupt, read-only, disk full) is reported as such by the caller.
      if (/^SQLITE_(NOTADB|CORRUPT|READONLY|CANTOPEN|FULL|BUSY|PERM|IOERR)/.test(errorCode(err))) throw err;
      throw new StoreError(`migration ${m.name} failed on ${path}: ${errorMessage(err)}`);
    }
  }
  const versions = appliedVersions(db);
  return { applied, current: versions.length ? versions[versions.length - 1] : 0 };
}
