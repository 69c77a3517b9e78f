// One error type for everything the store refuses: the message is a single line that says what is
// wrong and what to do, so the CLI can print it as is (`netconsole-hub: <message>`).

export class StoreError extends Error {
  override name = 'StoreError';
}

/** SQLite / filesystem error code of an unknown thrown value, if any. */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

export function errorMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}

/** Maps a failure touching the database file to a one-line StoreError saying what to do. */
export function describeDbError(path: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const code = errorCode(err);
  const msg = errorMessage(err);
  if (code === 'SQLITE_NOTADB') {
    return new StoreError(`${path} is not a SQLite database (${msg}); move it aside or choose another --db`);
  }
  if (code.startsWith('SQLITE_CORRUPT')) {
    return new StoreError(`database ${path} is corrupt (${msg}); restore it from a backup or move it aside and start a new one`);
  }
  if (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_PERM' || code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new StoreError(`database ${path} is not writable (${msg}); fix the permissions of the file and its directory or choose another --db`);
  }
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') {
    return new StoreError(`database ${path}: disk full (${msg}); free space or lower --max-db-mb`);
  }
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY')) {
    return new StoreError(`database ${path} is locked by another process (${msg}); stop the other writer or choose another --db`);
  }
  return new StoreError(`database ${path}: ${msg}${code ? ` (${code})` : ''}`);
}
