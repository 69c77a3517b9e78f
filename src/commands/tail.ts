// `netconsole-hub tail`: follows a collector's live stream like `dmesg --follow`, optionally after
// its history (--since/--boot), and keeps following across collector restarts.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { Follower } from '../client/follow.js';
import { formatLine } from '../client/format.js';
import type { HistoryFilters } from '../client/http.js';
import { addConnectionOptions, colorOption, hubFromOptions, parseGrep, parseLevel, parsePositiveInt, parseTime, useColor } from '../client/options.js';
import { LineWriter } from '../client/output.js';

export interface TailOptions {
  host?: string; level?: string; grep?: string; since?: string; boot?: string;
  json?: boolean; color?: string | boolean; pageSize: string; server?: string; token?: string;
}

export async function runTail(o: TailOptions): Promise<void> {
  const level = o.level === undefined ? undefined : parseLevel(o.level);
  const grep = o.grep === undefined ? undefined : parseGrep(o.grep);
  const since = o.since === undefined ? undefined : parseTime('--since', o.since);
  const bootFrom = o.boot === undefined ? undefined : parsePositiveInt('--boot', o.boot);
  if (bootFrom !== undefined && o.host === undefined) throw new UsageError('--boot needs --host: boot numbers are per host');
  const pageSize = parsePositiveInt('--page-size', o.pageSize, 5000);
  const color = !o.json && useColor(o.color, process.stdout.isTTY === true);
  const http = hubFromOptions(o);
  const history: HistoryFilters | undefined = since === undefined && bootFrom === undefined
    ? undefined
    : { host: o.host, level, since, boot_from: bootFrom };
  const out = new LineWriter();
  const follower = new Follower({
    http,
    live: { host: o.host, level },
    history,
    pageSize,
    deliver: (m) => {
      if (grep !== undefined && !grep.test(m.text)) return;
      return out.lineSoon(o.json ? JSON.stringify(m) : formatLine(m, color));
    },
    notice: (msg) => process.stderr.write(`netconsole-hub tail: ${msg}\n`),
  });
  await follower.run();
}

export function registerTail(program: Command): void {
  const cmd = program
    .command('tail')
    .description("follow a collector's live stream (like dmesg --follow); with --since or --boot, print its history first, with no gap or repeat at the seam; reconnects by itself")
    .option('--host <host>', 'only this host (its address or display name)')
    .option('--level <level>', 'this severity and worse: 0..7 or emerg, alert, crit, err, warn, notice, info, debug')
    .option('--grep <regex>', 'only records whose text matches this JavaScript regular expression')
    .option('--since <time>', 'first print the records received since then: ISO 8601, epoch ms, or a time ago (10m, 2h, 7d)')
    .option('--boot <n>', "first print the host's records from the start of this boot on (needs --host)")
    .option('--json', "one JSON object per line: the API's message objects as they are")
    .addOption(colorOption())
    .option('--page-size <n>', 'records per API request while reading history (1..5000)', '1000');
  addConnectionOptions(cmd).action((o: TailOptions) => runTail(o));
}
