// Which store adapter serve uses: the one place that knows every adapter.
import { SqliteQueries } from './sqlite-queries.js';
import { ClickHouseQueries } from './clickhouse/queries.js';
import type { StoreQueries } from './port.js';

/** Where records are stored: the embedded SQLite file (the default) or a ClickHouse server. */
export type StoreSpec = { kind: 'sqlite'; path: string } | { kind: 'clickhouse'; url: string; liveCollector?: number };

/** The read port on the store; throws a one-line error when it cannot be opened. */
export async function openStoreQueries(spec: StoreSpec): Promise<StoreQueries> {
  return spec.kind === 'clickhouse' ? ClickHouseQueries.open(spec.url, { liveCollector: spec.liveCollector }) : SqliteQueries.open(spec.path);
}
