// `netconsole-hub query`: stored records from a collector's HTTP API, oldest first, as dmesg-like
// text or as the API's JSON objects (one per line), for reading and for pipes.
import type { Command } from 'commander';
import { formatLine } from '../client/format.js';
import type { HistoryFilters } from '../client/http.js';
import { addConnectionOptions, colorOption, hubFromOptions, parseLevel, parsePositiveInt, parseTime, useColor } from '../client/options.js';
import { LineWriter } from '../client/output.js';

export interface QueryOptions {
  host?: string; boot?: string; level?: string; q?: string; since?: string; until?: string;
  json?: boolean; color?: string | boolean; pageSize: string; server?: string; token?: string;
}

/** The API filters the flags ask for (each flag checked first, so a typo costs no request). */
export function historyFilters(o: { host?: string; boot?: string; level?: string; q?: string; since?: string; until?: string }): HistoryFilters {
  return {
    host: o.host,
    boot: o.boot === undefined ? undefined : parsePositiveInt('--boot', o.boot),
    level: o.level === undefined ? undefined : parseLevel(o.level),
    q: o.q,
    since: o.since === undefined ? undefined : parseTime('--since', o.since),
    until: o.until === undefined ? undefined : parseTime('--until', o.until),
  };
}

export async function runQuery(o: QueryOptions): Promise<void> {
  const filters = historyFilters(o);
  const pageSize = parsePositiveInt('--page-size', o.pageSize, 5000);
  const color = !o.json && useColor(o.color, process.stdout.isTTY === true);
  const http = hubFromOptions(o);
  const out = new LineWriter();
  for await (const page of http.history(filters, pageSize)) {
    for (const m of page) await out.line(o.json ? JSON.stringify(m) : formatLine(m, color));
  }
  await out.flush();
}

export function registerQuery(program: Command): void {
  const cmd = program
    .command('query')
    .description("print stored records from a collector's API, oldest first: dmesg-like text, or --json (one API object per line)")
    .option('--host <host>', 'only this host (its address or display name)')
    .option('--boot <n>', "only this boot of the host (boot numbers are per host; see /api/hosts)")
    .option('--level <level>', 'this severity and worse: 0..7 or emerg, alert, crit, err, warn, notice, info, debug')
    .option('--q <text>', 'full-text search (an FTS5 query, e.g. \'panic OR oops\', \'"Call Trace"\')')
    .option('--since <time>', 'received at or after: ISO 8601, epoch ms, or a time ago (10m, 2h, 7d)')
    .option('--until <time>', 'received at or before (same forms as --since)')
    .option('--json', "one JSON object per line: the API's message objects as they are")
    .addOption(colorOption())
    .option('--page-size <n>', 'records per API request (1..5000)', '1000');
  addConnectionOptions(cmd).action((o: QueryOptions) => runQuery(o));
}
