// Which store adapter serve uses: the one place that knows every adapter.
import { SqliteQueries } from './sqlite-queries.js';
import type { StoreQueries } from './port.js';

/** Where records are stored: the embedded SQLite file (the default) or a ClickHouse server. */
export type StoreSpec = { kind: 'sqlite'; path: string };

/** The read port on the store; throws a one-line StoreError when it cannot be opened. */
export async function openStoreQueries(spec: StoreSpec): Promise<StoreQueries> {
  return SqliteQueries.open(spec.path);
}
