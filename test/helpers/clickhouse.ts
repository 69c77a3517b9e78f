// A real ClickHouse server (Debian's clickhouse-server, 18.16.1 on Debian 12) for the fleet tests,
// run as a plain process with a minimal config of our own in a temporary directory: HTTP and native
// ports on 127.0.0.1, data under the directory, one `default` user without a password. Ready when
// `SELECT 1` answers over HTTP. stop() and start() again on the same directory and ports model an
// outage (the data survive).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeTcpPort } from './cli.js';

export const CLICKHOUSE_SERVER = '/usr/sbin/clickhouse-server';

type Skippable = { skip(message: string): void };

/** True (and the test skipped, or failed under NCH_REQUIRE_CLICKHOUSE=1) when clickhouse-server is missing. */
export function clickhouseMissing(t: Skippable): boolean {
  if (existsSync(CLICKHOUSE_SERVER)) return false;
  if (process.env.NCH_REQUIRE_CLICKHOUSE === '1') assert.fail(`NCH_REQUIRE_CLICKHOUSE=1 but ${CLICKHOUSE_SERVER} is missing (apt-get install -y clickhouse-server clickhouse-client)`);
  t.skip(`${CLICKHOUSE_SERVER} is missing; install clickhouse-server (NCH_REQUIRE_CLICKHOUSE=1 makes this mandatory)`);
  return true;
}

export interface ClickHouse {
  dir: string;
  httpPort: number;
  /** http://127.0.0.1:PORT */
  http: string;
  /** The --store URL for a database of this server (created by the collector on first start). */
  storeUrl(database: string): string;
  /** Runs one statement over HTTP and returns the body (throws with ClickHouse's message on an error). */
  query(sql: string): Promise<string>;
  /** Rows of a SELECT, as objects (FORMAT JSONEachRow is appended). */
  rows<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** The running server's process id (null while stopped): the bench reads its CPU time. */
  pid(): number | null;
  /** Stops the server (SIGTERM, then SIGKILL after 10 s); the directory stays. */
  stop(): Promise<void>;
  /** Starts it again on the same directory and ports. */
  start(): Promise<void>;
  /** Stops it and removes the directory. */
  close(): Promise<void>;
}

function config(dir: string, httpPort: number, tcpPort: number): string {
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/server.err.log</errorlog><console>0</console></logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
`;
}

const USERS = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`;

export async function startClickHouse(): Promise<ClickHouse> {
  const dir = mkdtempSync(join(tmpdir(), 'nch-ch-'));
  const httpPort = await freeTcpPort();
  let tcpPort = await freeTcpPort();
  while (tcpPort === httpPort) tcpPort = await freeTcpPort();
  for (const d of ['data', 'tmp', 'user_files', 'format_schemas']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'config.xml'), config(dir, httpPort, tcpPort));
  writeFileSync(join(dir, 'users.xml'), USERS);
  const http = `http://127.0.0.1:${httpPort}`;
  let child: ChildProcess | null = null;

  const query = async (sql: string): Promise<string> => {
    const res = await fetch(`${http}/`, { method: 'POST', body: sql });
    const body = await res.text();
    if (!res.ok) throw new Error(`ClickHouse: ${body.trim().split('\n')[0]}`);
    return body;
  };

  const start = async (): Promise<void> => {
    const out: string[] = [];
    const proc = spawn(CLICKHOUSE_SERVER, [`--config-file=${join(dir, 'config.xml')}`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', (d: Buffer) => out.push(d.toString()));
    proc.stderr?.on('data', (d: Buffer) => out.push(d.toString()));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (proc.exitCode !== null) {
        const err = existsSync(join(dir, 'server.err.log')) ? readFileSync(join(dir, 'server.err.log'), 'utf8').slice(-2000) : '';
        throw new Error(`clickhouse-server exited with ${proc.exitCode}: ${out.join('').slice(-2000)} ${err}`);
      }
      try {
        if ((await query('SELECT 1')).trim() === '1') return;
      } catch {
        /* not up yet */
      }
      if (Date.now() > deadline) throw new Error(`clickhouse-server did not answer SELECT 1 within 60 s: ${out.join('').slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    dir, httpPort, http,
    storeUrl: (database) => `clickhouse://127.0.0.1:${httpPort}/${database}`,
    query,
    async rows<T>(sql: string): Promise<T[]> {
      const body = await query(`${sql} FORMAT JSONEachRow`);
      return body.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as T);
    },
    pid: () => (child !== null && child.exitCode === null ? child.pid ?? null : null),
    stop,
    start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
