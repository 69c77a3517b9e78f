// The incidents table (migrations/002_incidents.sql): upsert what the detector reports, query it
// for the API with filters and with how many times each signature was seen.
import { hostAddressOf } from './store/batch-writer.js';
import type BetterSqlite3 from 'better-sqlite3';
import type { DetectorRecord, Incident, IncidentChange, IncidentDetector, IncidentEndedBy, RecordRef } from '../netconsole/incidents.js';
import type { IncidentSeverity } from '../netconsole/incident-rules.js';
import type { StoredMessage } from './store/types.js';

type Db = BetterSqlite3.Database;

import { MAX_INCIDENT_LIMIT, type IncidentDetail, type IncidentFilter, type IncidentSummary } from './store/port.js';

export { MAX_INCIDENT_LIMIT, type IncidentDetail, type IncidentFilter, type IncidentSummary };

interface Row {
  id: number; key: string; host: string; address: string; boot: number | null; kind: string; severity: IncidentSeverity;
  headline: string; started_at: number; ended_at: number | null; ended_by: IncidentEndedBy | null; ts_usec: number | null;
  release: string | null; signature: string; seen: number; silent_after: number | null; next_boot: number | null;
  first_message_id?: number | null; last_message_id?: number | null; lines?: string; modules?: string;
  context_before?: string; signature_frames?: string;
}

/** Re-exported for callers that used it from here; the one definition is the writer's. */
export { hostAddressOf };

/** How a stored row is fed to the IncidentDetector: one stream per sender, incidents by host address. */
export function detectorInput(row: StoredMessage): { stream: string; record: DetectorRecord; ref: RecordRef } {
  return {
    stream: row.source,
    record: { text: row.text, facility: row.facility, tsUsec: row.ts_usec, receivedAt: row.received_at },
    ref: { id: row.id, boot: row.boot, host: hostAddressOf(row.source) },
  };
}

/** What the detector makes of stored rows, in order: each store's write side runs it on what it committed. */
export function detectIncidents(detector: IncidentDetector, rows: readonly StoredMessage[], now: number): IncidentChange[] {
  const changes: IncidentChange[] = [];
  for (const row of rows) {
    const x = detectorInput(row);
    const c = detector.push(x.stream, x.record, now, x.ref);
    if (c.length) changes.push(...c);
  }
  return changes;
}

function hasTable(db: Db, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

function jsonArray(text: string | undefined): string[] {
  if (!text) return [];
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v.map(String) : [];
  } catch {
    return [];
  }
}

function toSummary(r: Row): IncidentSummary {
  return {
    id: r.id, key: r.key, host: r.host, address: r.address, boot: r.boot, kind: r.kind, severity: r.severity,
    headline: r.headline, started_at: r.started_at, ended_at: r.ended_at, ended_by: r.ended_by, ts_usec: r.ts_usec,
    release: r.release, signature: r.signature, seen: r.seen,
    silent_after: r.silent_after === null ? null : r.silent_after === 1, next_boot: r.next_boot,
  };
}

export class IncidentsStore {
  private upsertStmt: BetterSqlite3.Statement | null = null;
  private readonly idByKey: BetterSqlite3.Statement;
  private readonly hasHosts: boolean;
  /** SELECT columns + joins; the display name comes from hosts when that table exists. */
  private readonly select: string;

  constructor(private readonly db: Db) {
    if (!hasTable(db, 'incidents')) throw new Error('the database has no incidents table (migration 002_incidents.sql not applied)');
    const names = hasTable(db, 'hosts');
    this.hasHosts = names;
    const seen = '(SELECT COUNT(*) FROM incidents s WHERE s.signature = i.signature) AS seen';
    this.select = names
      ? `SELECT i.*, COALESCE((SELECT h.name FROM hosts h WHERE h.address = i.host), i.host) AS host, i.host AS address, ${seen} FROM incidents i`
      : `SELECT i.*, i.host AS address, ${seen} FROM incidents i`;
    this.idByKey = db.prepare('SELECT id FROM incidents WHERE key = ?');
  }

  /** Prepared on first use: the web server's read-only connection never writes. */
  private upsert(): BetterSqlite3.Statement {
    this.upsertStmt ??= this.db.prepare(`INSERT INTO incidents
      (key, host, boot, kind, severity, headline, started_at, ended_at, ended_by, ts_usec, first_message_id, last_message_id,
       release, signature, signature_frames, lines, modules, context_before, silent_after, next_boot, updated_at)
      VALUES (@key, @host, @boot, @kind, @severity, @headline, @started_at, @ended_at, @ended_by, @ts_usec, @first_message_id,
       @last_message_id, @release, @signature, @signature_frames, @lines, @modules, @context_before, @silent_after, @next_boot, @updated_at)
      ON CONFLICT(key) DO UPDATE SET
        boot = excluded.boot, kind = excluded.kind, severity = excluded.severity, headline = excluded.headline,
        ended_at = excluded.ended_at, ended_by = excluded.ended_by, first_message_id = excluded.first_message_id,
        last_message_id = excluded.last_message_id, release = excluded.release, signature = excluded.signature,
        signature_frames = excluded.signature_frames, lines = excluded.lines, modules = excluded.modules,
        context_before = excluded.context_before, silent_after = COALESCE(excluded.silent_after, silent_after),
        next_boot = COALESCE(excluded.next_boot, next_boot), updated_at = excluded.updated_at`);
    return this.upsertStmt;
  }

  /** Inserts or updates (by key) one incident as the detector reported it; returns its id. */
  save(inc: Incident, now: number): number {
    this.upsert().run({
      key: inc.key, host: inc.host, boot: inc.boot ?? null, kind: inc.kind, severity: inc.severity, headline: inc.headline,
      started_at: inc.started_at, ended_at: inc.ended_at, ended_by: inc.ended_by, ts_usec: inc.ts_usec,
      first_message_id: inc.first_message_id, last_message_id: inc.last_message_id, release: inc.release,
      signature: inc.signature, signature_frames: JSON.stringify(inc.signature_frames), lines: JSON.stringify(inc.lines),
      modules: JSON.stringify(inc.modules), context_before: JSON.stringify(inc.context_before),
      silent_after: inc.silent_after === undefined ? null : inc.silent_after ? 1 : 0, next_boot: inc.next_boot ?? null,
      updated_at: now,
    });
    return (this.idByKey.get(inc.key) as { id: number }).id;
  }

  /** Newest first (by id: the order incidents were found in, which `before` pages through). */
  list(f: IncidentFilter = {}): IncidentSummary[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (f.host !== undefined) {
      if (this.hasHosts) {
        where.push('(i.host = ? OR i.host IN (SELECT address FROM hosts WHERE name = ?))');
        params.push(f.host, f.host);
      } else {
        where.push('i.host = ?');
        params.push(f.host);
      }
    }
    if (f.kind !== undefined) { where.push('i.kind = ?'); params.push(f.kind); }
    if (f.since !== undefined) { where.push('i.started_at >= ?'); params.push(f.since); }
    if (f.signature !== undefined) { where.push('i.signature = ?'); params.push(f.signature); }
    if (f.before !== undefined) { where.push('i.id < ?'); params.push(f.before); }
    const limit = Math.min(Math.max(1, f.limit ?? 100), MAX_INCIDENT_LIMIT);
    const sql = `${this.select} ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY i.id DESC LIMIT ${limit}`;
    return (this.db.prepare(sql).all(...params) as Row[]).map(toSummary);
  }

  get(id: number): IncidentDetail | undefined {
    const r = this.db.prepare(`${this.select} WHERE i.id = ?`).get(id) as Row | undefined;
    if (r === undefined) return undefined;
    return {
      ...toSummary(r),
      first_message_id: r.first_message_id ?? null,
      last_message_id: r.last_message_id ?? null,
      lines: jsonArray(r.lines),
      modules: jsonArray(r.modules),
      context_before: jsonArray(r.context_before),
      signature_frames: jsonArray(r.signature_frames),
    };
  }

  /** Times each signature was seen, for the given signatures. */
  counts(signatures: readonly string[]): Map<string, number> {
    const out = new Map<string, number>();
    const stmt = this.db.prepare('SELECT COUNT(*) AS n FROM incidents WHERE signature = ?');
    for (const s of new Set(signatures)) out.set(s, (stmt.get(s) as { n: number }).n);
    return out;
  }
}
