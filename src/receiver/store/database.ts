// Opening the database file: create its directory, open it, switch to WAL, migrate. Every failure
// becomes one StoreError line saying what to do (corrupt, not a database, not writable, too new).
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import { StoreError, describeDbError, errorMessage } from './errors.js';
import { migrate, defaultMigrationsDir, listMigrations, checkNotNewer, type MigrationResult } from './migrate.js';

export type Db = BetterSqlite3.Database;

export interface OpenOptions {
  /** Where the NNN_*.sql files are; defaults to the package's migrations/. */
  migrationsDir?: string;
}

function ensureWritableLocation(path: string): void {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new StoreError(`cannot create the database directory ${dir} (${errorMessage(err)}); choose another --db`);
  }
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new StoreError(`database path ${path} is a directory; give a file path to --db`);
  }
  try {
    // WAL needs to create PATH-wal and PATH-shm next to the file.
    accessSync(dir, constants.W_OK);
    if (existsSync(path)) accessSync(path, constants.R_OK | constants.W_OK);
  } catch (err) {
    throw new StoreError(`database ${path} is not writable (${errorMessage(err)}); fix the permissions of the file and its directory or choose another --db`);
  }
}

/** Pragmas of the one write connection. */
function configureWriter(db: Db): void {
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (String(mode).toLowerCase() !== 'wal') throw new StoreError(`could not switch the database to WAL mode (got ${String(mode)})`);
  // In WAL mode NORMAL keeps every committed transaction across a process crash (kill -9); only an
  // OS crash or power loss may lose the last commits, and never corrupts.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('temp_store = MEMORY');
  // WAL checkpoints normally run in their own thread (checkpointer.ts); this larger automatic one
  // (40 MB instead of 4 MB) is the backstop, and fewer, larger checkpoints also cost less per row.
  db.pragma('wal_autocheckpoint = 10000');
  // 16 MB of page cache (the readers keep SQLite's default 2 MB each): enough for the indexes a batch
  // touches; it was 32 MB, which a collector with many sources fills and keeps (issue 7: memory).
  db.pragma('cache_size = -16000');
}

/**
 * Opens (creating if needed) the database for writing, in WAL mode, with every migration applied.
 * Throws StoreError with a one-line, actionable message on any problem.
 */
export function openDatabase(path: string, options: OpenOptions = {}): { db: Db; migration: MigrationResult } {
  const file = resolve(path);
  ensureWritableLocation(file);
  let db: Db | undefined;
  try {
    db = new Database(file);
    // Reading the schema is what makes SQLite notice a file that is not a database.
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    configureWriter(db);
    const migration = migrate(db, path, options.migrationsDir ?? defaultMigrationsDir());
    return { db, migration };
  } catch (err) {
    try {
      db?.close();
    } catch {
      /* already failing; the first error is the one to report */
    }
    throw describeDbError(path, err);
  }
}

/**
 * Opens an existing database read-only (for queries). Refuses a missing file, a non-database, and a
 * database newer than this code; does not migrate (the writer does).
 */
export function openReadOnly(path: string, options: OpenOptions = {}): Db {
  const file = resolve(path);
  if (!existsSync(file)) throw new StoreError(`database ${path} does not exist; start \`serve\` once or check --db`);
  let db: Db | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    const hasTable = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'").get();
    if (!hasTable) throw new StoreError(`database ${path} has no netconsole-hub schema; start \`serve\` on it first or check --db`);
    checkNotNewer(db, listMigrations(options.migrationsDir ?? defaultMigrationsDir()), path);
    return db;
  } catch (err) {
    try {
      db?.close();
    } catch {
      /* report the first error */
    }
    throw describeDbError(path, err);
  }
}
