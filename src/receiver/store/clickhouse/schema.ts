// The ClickHouse schema: migrations/clickhouse/NNN_name.sql applied in order on first start (and on
// upgrades), each recorded in schema_versions. A database with a version this code does not know
// was written by a newer netconsole-hub and is refused rather than misread.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';

export function clickhouseMigrationsDir(): string {
  // dist/src/receiver/store/clickhouse/ -> migrations/clickhouse/
  return fileURLToPath(new URL('../../../../../migrations/clickhouse/', import.meta.url));
}

const FILE = /^(\d+)_([\w.-]+)\.sql$/;

interface Migration { version: number; name: string; statements: string[] }

function listMigrations(dir: string, db: string): Migration[] {
  return readdirSync(dir)
    .map((f) => ({ f, m: FILE.exec(f) }))
    .filter((x): x is { f: string; m: RegExpExecArray } => x.m !== null)
    .map(({ f, m }) => ({
      version: Number(m[1]),
      name: m[2]!,
      // Statements are separated by lines holding only `;`; comment lines are dropped.
      statements: readFileSync(join(dir, f), 'utf8')
        .split(/^;\s*$/m)
        .map((s) => s.split('\n').filter((l) => !/^\s*--/.test(l)).join('\n').trim())
        .filter((s) => s !== '')
        .map((s) => s.replaceAll('{db}', db)),
    }))
    .sort((a, b) => a.version - b.version);
}

/** Creates the database and applies what is missing; returns the versions applied and the current one. */
export async function migrateClickHouse(client: ClickHouseClient, db: string, now: number, dir = clickhouseMigrationsDir()): Promise<{ applied: number[]; current: number }> {
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  const migrations = listMigrations(dir, db);
  const known = migrations.length ? migrations[migrations.length - 1]!.version : 0;
  const exists = await client.query({ query: `SELECT count() AS n FROM system.tables WHERE database = '${db}' AND name = 'schema_versions'`, format: 'JSONEachRow' });
  let current = 0;
  if (Number(((await exists.json()) as { n: string }[])[0]?.n ?? 0) > 0) {
    const rs = await client.query({ query: `SELECT max(version) AS v FROM ${db}.schema_versions`, format: 'JSONEachRow' });
    current = Number(((await rs.json()) as { v: number }[])[0]?.v ?? 0);
  }
  if (current > known) {
    throw new Error(`ClickHouse database ${db} has schema version ${current}, newer than this netconsole-hub knows (${known}): upgrade netconsole-hub`);
  }
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version <= current) continue;
    // CREATE … IF NOT EXISTS throughout: a start that died half-way through a migration redoes it.
    for (const statement of m.statements) await client.command({ query: statement });
    await client.insert({ table: `${db}.schema_versions`, values: [{ version: m.version, name: m.name, applied_at: now }], format: 'JSONEachRow' });
    applied.push(m.version);
    current = m.version;
  }
  return { applied, current };
}
