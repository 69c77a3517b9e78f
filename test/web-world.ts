// A web server on loopback over a real temp database filled through the storage engineer's
// StorageWriter, the way `serve` will do it: the writer's 'stored' rows go to the live hub.
// The store is a SQLite file, or, when NCH_WORLD_CLICKHOUSE holds a ClickHouse server's HTTP base
// (test/clickhouse-contract.test.ts sets it), a fresh database on that server: the same API tests
// then run unchanged against the ClickHouse adapters.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StorageWriter } from '../src/receiver/store/writer.js';
import type { LogRecord, SeqEvent } from '../src/netconsole/types.js';
import { LiveHub, type LiveLimits } from '../src/web/live.js';
import { startWebServer, type WebServer } from '../src/web/server.js';
import { SqliteQueries } from '../src/receiver/store/sqlite-queries.js';
import { ClickHouseQueries } from '../src/receiver/store/clickhouse/queries.js';
import type { StoreQueries } from '../src/receiver/store/port.js';
import { emptyReceiverStats, type HealthReport, type MessageJson, type ReceiverStats } from '../src/web/types.js';

export const T0 = Date.UTC(2024, 0, 1, 12, 0, 0);

export function record(source: string, p: Partial<LogRecord> & { text: string }): LogRecord {
  const level = p.level === undefined ? 6 : p.level;
  const facility = p.facility === undefined ? 0 : p.facility;
  return {
    source, format: 'extended', seq: null, pri: level === null ? null : (facility ?? 0) * 8 + level,
    level, facility, tsUsec: null, flags: '-', fields: {}, release: null, complete: true, receivedAt: T0, ...p,
  };
}

export interface World {
  dir: string;
  dbPath: string;
  writer: StorageWriter;
  hub: LiveHub;
  server: WebServer;
  base: string;
  stats: ReceiverStats;
  health: HealthReport;
  /** Every row stored so far, in id order, as the writer reported it. */
  stored: MessageJson[];
  /** Stores records and events, publishes the stored rows to the hub, returns them. */
  add(items: (LogRecord | SeqEvent)[], publish?: boolean): Promise<MessageJson[]>;
  close(): Promise<void>;
}

let worlds = 0;

/** The store the world writes into and reads from: a SQLite file, or a new ClickHouse database. */
function worldStore(dir: string): { dbPath: string; url?: string } {
  const dbPath = join(dir, 'test.db');
  const base = process.env.NCH_WORLD_CLICKHOUSE;
  if (!base) return { dbPath };
  return { dbPath, url: `clickhouse://${base.replace(/^http:\/\//, '')}/nch_world_${process.pid}_${++worlds}` };
}

/**
 * wrapStore: the web server reads through it (a test slows one query down with it, to hold open a
 * window that is otherwise only hit under load).
 */
export async function startWorld(limits: Partial<LiveLimits> = {}, wrapStore?: (s: StoreQueries) => StoreQueries): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'nch-web-'));
  const { dbPath, url } = worldStore(dir);
  const writer = await StorageWriter.open({ dbPath, flushIntervalMs: 1, ...(url ? { store: url } : {}) });
  const opened: StoreQueries = url ? ClickHouseQueries.open(url, { liveCollector: writer.collectorId ?? undefined }) : SqliteQueries.open(dbPath);
  const store = wrapStore ? wrapStore(opened) : opened;
  const hub = new LiveHub(limits);
  const stats = emptyReceiverStats();
  const health: HealthReport = { ok: true, problems: [] };
  const stored: MessageJson[] = [];
  let publishNext = true;
  writer.on('stored', (rows, after) => {
    stored.push(...rows);
    if (publishNext) hub.publish(rows, after);
  });
  const server = await startWebServer({
    host: '127.0.0.1', port: 0, store, live: hub,
    stats: () => stats,
    health: () => health,
  });
  return {
    dir, dbPath, writer, hub, server, base: server.address, stats, health, stored,
    async add(items, publish = true) {
      const before = stored.length;
      publishNext = publish;
      for (const it of items) if ('type' in it) writer.event(it); else writer.record(it);
      await writer.flush();
      publishNext = true;
      return stored.slice(before);
    },
    async close() {
      await server.close();
      await writer.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function getJson(url: string): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url);
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body, headers: res.headers };
}
