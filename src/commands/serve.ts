// `netconsole-hub serve`: the collector (what `npm start` runs). Settings come from, in order of
// precedence: flags, then environment variables, then a JSON config file, then the defaults.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import pino from 'pino';
import { UsageError } from '../errors.js';
import { parseAllowList } from '../receiver/admission.js';
import { Collector, DEFAULT_SPOOL_MAX_MB } from '../receiver/collector.js';
import { IncidentWatch } from '../receiver/incident-watch.js';
import { parseWebhookUrl } from '../receiver/webhook.js';
import { Forwarding } from '../receiver/forward/forwarding.js';
import { parseForwardUrl, type ForwardTarget } from '../receiver/forward/target.js';
import { parseEndpoint, formatEndpoint, type Endpoint } from '../receiver/endpoint.js';
import { startWebServer } from '../web/server.js';
import { openStoreQueries } from '../receiver/store/open-store.js';
import { parseClickHouseReadUrl } from '../receiver/store/clickhouse/url-read.js';
import type { UdpReaderKind } from '../receiver/udp-listener.js';

export interface ServeSettings {
  udp: Endpoint[];
  http: Endpoint;
  db: string;
  capture: 'udp' | 'raw';
  retainDays?: number;
  maxDbMb?: number;
  logLevel: string;
  hostNames: Map<string, string>;
  reverseDns: boolean;
  allow: string[];
  limitDatagrams: number;
  limitBytes: number;
  /** Token the HTTP API, live stream and /metrics require (from --auth-token or --auth-token-file). */
  authToken?: string;
  /** URL that gets a JSON POST for each new crash incident. */
  webhook?: string;
  maxSources?: number;
  maxFragmentBytes?: number;
  /** Plain UDP reader: auto (batched recvmmsg when built, else dgram), recvmmsg, or dgram. */
  udpReader: UdpReaderKind;
  /** Syslog destinations every stored record is forwarded to (RFC 5424). */
  forward: ForwardTarget[];
  /** Disk spool bound, MiB (0: no spool, what the storage queue cannot hold is dropped and counted). */
  spoolMaxMb: number;
  /** Where records go: the SQLite file `db` (undefined) or a ClickHouse URL (--store). */
  store?: string;
  collectorId?: number;
  collectorName?: string;
}

/** Config-file keys (JSON object) and the flag each one mirrors. */
const CONFIG_KEYS = ['udp', 'http', 'db', 'capture', 'retainDays', 'maxDbMb', 'logLevel', 'hostNames', 'reverseDns', 'allow', 'limitDatagrams', 'limitBytes', 'authToken', 'authTokenFile', 'webhook', 'maxSources', 'maxFragmentBytes', 'udpReader', 'forward', 'spoolMaxMb', 'store', 'collectorId', 'collectorName'] as const;
type ConfigKey = (typeof CONFIG_KEYS)[number];

export const DEFAULTS = {
  udp: ['0.0.0.0:6666', '[::]:6666'],
  http: '127.0.0.1:8080',
  db: './data/netconsole.db',
  capture: 'udp',
  udpReader: 'auto',
  logLevel: 'info',
};

export function readConfigFile(path: string): Partial<Record<ConfigKey, unknown>> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new UsageError(`config file ${path} must hold a JSON object`);
  for (const key of Object.keys(obj)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
      throw new UsageError(`config file ${path}: unknown key '${key}' (known: ${CONFIG_KEYS.join(', ')})`);
    }
  }
  return obj as Partial<Record<ConfigKey, unknown>>;
}

function positiveNumber(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${what} must be a positive number, not '${v}'`);
  return n;
}

function nonNegativeNumber(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`${what} must be a number >= 0, not '${v}'`);
  return n;
}

function webhookUrl(v: unknown): string | undefined {
  if (v === undefined || v === '') return undefined;
  try {
    return parseWebhookUrl(String(v)).toString();
  } catch (err) {
    throw new UsageError(`--webhook: ${(err as Error).message}`);
  }
}

/**
 * `--store`: `clickhouse://[user:password@]host:port/database`, or `sqlite:PATH` / a plain path
 * (the same as --db). Checked here so a bad URL is one line before anything starts.
 */
function storeSettings(v: unknown): { store?: string; db?: string } {
  if (v === undefined || v === '') return {};
  const text = String(v);
  if (/^clickhouses?:\/\//.test(text)) {
    try {
      parseClickHouseReadUrl(text);
    } catch (err) {
      throw new UsageError(`--store: ${(err as Error).message}`);
    }
    return { store: text };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) throw new UsageError(`--store must be clickhouse://[user:password@]host:port/database or sqlite:PATH, got ${JSON.stringify(text.replace(/\/\/[^@/]*@/, '//***@'))}`);
  const path = text.startsWith('sqlite:') ? text.slice('sqlite:'.length) : text;
  if (path === '') throw new UsageError('--store sqlite: needs a path (sqlite:./data/netconsole.db)');
  return { db: path };
}

function collectorId(v: unknown): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 63) throw new UsageError(`--collector-id must be an integer from 0 to 63, got ${JSON.stringify(v)}`);
  return n;
}

function forwardTargets(v: unknown): ForwardTarget[] {
  return stringList(v).map((u) => {
    try {
      return parseForwardUrl(u);
    } catch (err) {
      throw new UsageError(`--forward ${(err as Error).message}`);
    }
  });
}

/**
 * A repeatable setting: a list, or a comma-separated string. A list's items are split on commas
 * too: a repeatable flag read from the environment (NCH_UDP=a,b) reaches us as one string in a list.
 */
function stringList(v: unknown): string[] {
  if (typeof v === 'string') v = [v];
  if (!Array.isArray(v)) throw new UsageError(`expected a list, not ${JSON.stringify(v)}`);
  return v.flatMap((x) => String(x).split(',')).map((x) => x.trim()).filter(Boolean);
}

/** `--host-name ADDR=NAME` (repeatable) over the config file's `hostNames` object. */
function hostNameMap(flags: unknown, file: unknown): Map<string, string> {
  const m = new Map<string, string>();
  if (file !== undefined) {
    if (typeof file !== 'object' || file === null || Array.isArray(file)) throw new UsageError('config hostNames must be an object of "address": "name"');
    for (const [k, v] of Object.entries(file)) m.set(k, String(v));
  }
  const list = typeof flags === 'string' ? flags.split(',') : Array.isArray(flags) ? flags : [];
  for (const item of list as string[]) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--host-name '${item}' is not ADDRESS=NAME`);
    m.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return m;
}

/**
 * The HTTP token: given directly or read from a file (first line, surrounding whitespace trimmed).
 * The two are one setting: the highest level giving either (flag, env, config file) wins; giving
 * both at one level is an error.
 */
function authToken(cmd: Command, file: Partial<Record<ConfigKey, unknown>>): string | undefined {
  const o = cmd.opts();
  const at = (source: string) => (k: string) => (cmd.getOptionValueSource(k) === source ? o[k] : undefined);
  const levels: [string, (k: string) => unknown][] = [['flags', at('cli')], ['environment', at('env')], ['config file', (k) => file[k as ConfigKey]]];
  const found = levels.find(([, get]) => get('authToken') !== undefined || get('authTokenFile') !== undefined);
  if (!found) return undefined;
  const [where, get] = found;
  const token = get('authToken');
  const tokenFile = get('authTokenFile');
  if (token !== undefined && tokenFile !== undefined) throw new UsageError(`${where}: give either an auth token or an auth token file, not both`);
  if (tokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(String(tokenFile), 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read --auth-token-file ${tokenFile}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    const t = text.split(/\r?\n/)[0]!.trim();
    if (t === '') throw new UsageError(`--auth-token-file ${tokenFile} is empty`);
    return t;
  }
  if (token === undefined) return undefined;
  const t = String(token).trim();
  if (t === '') throw new UsageError('--auth-token is empty');
  return t;
}

/** Merges flags/env (from commander, which knows each value's source) over the config file and defaults. */
export function resolveSettings(cmd: Command): ServeSettings {
  const o = cmd.opts();
  const fromCli = (k: string) => ['cli', 'env'].includes(cmd.getOptionValueSource(k) ?? '') ? o[k] : undefined;
  const file = o.config ? readConfigFile(o.config) : {};
  const pick = <T>(k: ConfigKey, def?: T): unknown => fromCli(k) ?? file[k] ?? def;
  const udp = stringList(pick('udp', DEFAULTS.udp));
  if (udp.length === 0) throw new UsageError('udp must be a list of HOST:PORT');
  const allow = stringList(pick('allow', []));
  parseAllowList(allow); // refuse a bad CIDR before anything starts
  const capture = String(pick('capture', DEFAULTS.capture));
  if (capture !== 'udp' && capture !== 'raw') throw new UsageError(`--capture must be udp or raw, not '${capture}'`);
  const udpReader = String(pick('udpReader', DEFAULTS.udpReader));
  if (udpReader !== 'auto' && udpReader !== 'recvmmsg' && udpReader !== 'dgram') throw new UsageError(`--udp-reader must be auto, recvmmsg or dgram, not '${udpReader}'`);
  return {
    udp: udp.map((u) => parseEndpoint(String(u), '--udp')),
    http: parseEndpoint(String(pick('http', DEFAULTS.http)), '--http'),
    db: String(pick('db', DEFAULTS.db)),
    capture,
    retainDays: positiveNumber(pick('retainDays'), '--retain-days'),
    maxDbMb: positiveNumber(pick('maxDbMb'), '--max-db-mb'),
    logLevel: String(pick('logLevel', DEFAULTS.logLevel)),
    hostNames: hostNameMap(fromCli('hostName'), file.hostNames),
    reverseDns: Boolean(fromCli('reverseDns') ?? file.reverseDns ?? false),
    allow,
    limitDatagrams: positiveNumber(pick('limitDatagrams'), '--limit-datagrams') ?? 0,
    limitBytes: positiveNumber(pick('limitBytes'), '--limit-bytes') ?? 0,
    authToken: authToken(cmd, file),
    webhook: webhookUrl(pick('webhook')),
    maxSources: positiveNumber(pick('maxSources'), '--max-sources'),
    maxFragmentBytes: positiveNumber(pick('maxFragmentBytes'), '--max-fragment-bytes'),
    udpReader,
    forward: forwardTargets(pick('forward', [])),
    spoolMaxMb: nonNegativeNumber(pick('spoolMaxMb'), '--spool-max-mb') ?? DEFAULT_SPOOL_MAX_MB,
    ...storeSettings(pick('store')),
    collectorId: collectorId(pick('collectorId')),
    collectorName: pick('collectorName') === undefined ? undefined : String(pick('collectorName')),
  };
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the collector: UDP listeners, SQLite storage, HTTP API, live stream and dashboard')
    .addOption(new Option('--udp <host:port...>', `UDP listen address, repeatable (default ${DEFAULTS.udp.join(' and ')})`).env('NCH_UDP'))
    .addOption(new Option('--http <host:port>', `HTTP API and dashboard address (default ${DEFAULTS.http})`).env('NCH_HTTP'))
    .addOption(new Option('--db <path>', `SQLite database file, its directory is created (default ${DEFAULTS.db})`).env('NCH_DB'))
    .addOption(new Option('--capture <mode>', 'udp (plain sockets) or raw (raw socket: sees and verifies IP/UDP checksums; needs CAP_NET_RAW)').env('NCH_CAPTURE'))
    .addOption(new Option('--udp-reader <kind>', 'how plain UDP is read: auto (batched recvmmsg when its addon is built, else dgram; the default), recvmmsg (fail without it) or dgram (node\'s sockets)').env('NCH_UDP_READER'))
    .addOption(new Option('--retain-days <n>', 'delete messages older than this many days').env('NCH_RETAIN_DAYS'))
    .addOption(new Option('--max-db-mb <n>', 'delete the oldest messages to keep the database under this size').env('NCH_MAX_DB_MB'))
    .addOption(new Option('--store <url>', 'where records are stored: clickhouse://[user:password@]host:8123/database (several collectors may share one; schema created on first start), or sqlite:PATH (the same as --db; the default is the SQLite file --db)').env('NETCONSOLE_HUB_STORE'))
    .addOption(new Option('--collector-id <n>', 'with a ClickHouse store: this collector\'s id, 0-63, unique in the fleet (default: the id registered under --collector-name, else the lowest free one)').env('NCH_COLLECTOR_ID'))
    .addOption(new Option('--collector-name <name>', 'with a ClickHouse store: the name this collector registers under (default: the host name)').env('NCH_COLLECTOR_NAME'))
    .addOption(new Option('--spool-max-mb <n>', `when storage falls behind, keep up to this many MiB of records in a disk spool beside the database (never more than half the free space) instead of dropping them; 0: drop and count (default ${DEFAULT_SPOOL_MAX_MB})`).env('NCH_SPOOL_MAX_MB'))
    .addOption(new Option('--log-level <level>', 'pino log level: fatal, error, warn, info, debug (default info)').env('NCH_LOG_LEVEL'))
    .addOption(new Option('--host-name <addr=name...>', 'show the host at ADDR as NAME, repeatable').env('NCH_HOST_NAMES'))
    .addOption(new Option('--reverse-dns', 'name hosts by reverse DNS (looked up once per host, in the background)').env('NCH_REVERSE_DNS'))
    .addOption(new Option('--allow <cidr...>', 'accept UDP only from these networks (repeatable, e.g. 10.0.0.0/8, fd00::/8); others are counted as refused').env('NCH_ALLOW'))
    .addOption(new Option('--limit-datagrams <n>', 'per-source limit, datagrams per second (default unlimited)').env('NCH_LIMIT_DATAGRAMS'))
    .addOption(new Option('--limit-bytes <n>', 'per-source limit, bytes per second (default unlimited)').env('NCH_LIMIT_BYTES'))
    .addOption(new Option('--auth-token <token>', 'require this token on the API, live stream and /metrics (Authorization: Bearer, or the dashboard login); prefer the env or a file: flags show in ps').env('NCH_AUTH_TOKEN'))
    .addOption(new Option('--auth-token-file <file>', 'read the token from this file (first line)').env('NCH_AUTH_TOKEN_FILE'))
    .addOption(new Option('--max-sources <n>', 'sources tracked at once; the least recently active is flushed and forgotten beyond it (default 131072)').env('NCH_MAX_SOURCES'))
    .addOption(new Option('--max-fragment-bytes <n>', 'in-flight ncfrag bytes per source; the oldest set is stored as partial beyond it (default 262144)').env('NCH_MAX_FRAGMENT_BYTES'))
    .addOption(new Option('--webhook <url>', 'POST a JSON body to this URL for each new crash incident (retried with backoff)').env('NCH_WEBHOOK'))
    .addOption(new Option('--forward <url...>', 'forward every stored record as RFC 5424 syslog to syslog+tcp://HOST:PORT (octet-counted, RFC 6587) or syslog+udp://HOST:PORT, repeatable; settings in the query: queue=N records waiting at most (default 10000, the oldest is dropped beyond it), max=N octets per message (UDP default 2048, longer ones truncated), bom=1 (UTF-8 BOM before MSG)').env('NCH_FORWARD'))
    .addOption(new Option('--config <file>', 'JSON config file with keys ' + CONFIG_KEYS.join(', ') + ' (flags and env override it)').env('NCH_CONFIG'))
    .addHelpText('after', '\nPrecedence: flags > environment (NCH_*) > config file > defaults.')
    .action(async (_opts: unknown, cmd: Command) => {
      const s = resolveSettings(cmd);
      await runServe(s);
    });
}

export async function runServe(s: ServeSettings): Promise<void> {
  const logger = pino({ level: s.logLevel, base: undefined });
  const udp = await withIpv6Fallback(s.udp, logger);
  const forwarding = s.forward.length > 0 ? new Forwarding(s.forward, { logger }) : null;
  const collector = await Collector.start({
    dbPath: s.db, udp, logger, retention: { retainDays: s.retainDays, maxDbMb: s.maxDbMb },
    hostNames: s.hostNames, reverseDns: s.reverseDns, allow: s.allow, capture: s.capture,
    limits: { datagramsPerSec: s.limitDatagrams, bytesPerSec: s.limitBytes },
    maxSources: s.maxSources, maxFragmentBytes: s.maxFragmentBytes, udpReader: s.udpReader,
    spoolMaxMb: s.spoolMaxMb,
    store: s.store, collectorId: s.collectorId, collectorName: s.collectorName,
    // Test hooks (test/spool-serve.test.ts): a small queue bound, a storage worker that stalls or is slow.
    maxQueue: process.env.NCH_TEST_MAX_QUEUE ? Number(process.env.NCH_TEST_MAX_QUEUE) : undefined,
    pauseFile: process.env.NCH_TEST_PAUSE_FILE || undefined,
    slowBatchMs: process.env.NCH_TEST_SLOW_BATCH_MS ? Number(process.env.NCH_TEST_SLOW_BATCH_MS) : undefined,
    ...(forwarding ? { onRows: (rows) => forwarding.push(rows) } : {}),
  }).catch(async (err: unknown) => {
    await forwarding?.close(0);
    throw err;
  });
  const incidents = new IncidentWatch({ live: collector.live, logger, webhook: s.webhook, dashboardUrl: `http://${formatEndpoint(s.http)}` });
  collector.onIncidents = (notices) => incidents.handle(notices);
  let web;
  try {
    web = await startWebServer({
      host: s.http.host, port: s.http.port, store: await openStoreQueries(s.store ? { kind: 'clickhouse', url: s.store, liveCollector: collector.writer.collectorId ?? undefined } : { kind: 'sqlite', path: s.db }), live: collector.live, logger, authToken: s.authToken,
      stats: () => (forwarding ? { ...collector.stats(), forward: forwarding.stats() } : collector.stats()),
      udp: () => collector.udpEndpoints,
      health: () => {
        const problems: string[] = [];
        if (!collector.listening) problems.push('not listening on UDP');
        const w = collector.writer.stats();
        if (w.failing) problems.push(s.store ? `degraded: ${w.failing}` : `database writes are failing: ${w.failing}`);
        if (w.dropped.writer_failed > 0) problems.push('the storage writer stopped; restart the collector');
        return { ok: problems.length === 0, problems };
      },
    });
  } catch (err) {
    await collector.stop();
    await incidents.close();
    await forwarding?.close(0);
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') throw new UsageError(`HTTP ${formatEndpoint(s.http)} is already in use: pick another with --http HOST:PORT`);
    throw err;
  }
  logger.info({ http: web.address, db: s.db }, `dashboard and API on ${web.address}`);
  await new Promise<void>((resolve) => {
    const shutdown = (sig: string) => {
      logger.info({ signal: sig }, 'stopping: flushing buffered records');
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve();
    };
    const onInt = () => shutdown('SIGINT');
    const onTerm = () => shutdown('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
  await web.close();
  await collector.stop();
  await incidents.close();
  // The last batches' rows are queued by now: a connected destination gets 2 s to take them.
  await forwarding?.close(2000);
  logger.info(forwarding ? { ...collector.stats(), forward: forwarding.stats() } : collector.stats(), 'stopped');
  logger.flush?.();
}

/** The default `[::]:6666` is skipped (with a warning) on hosts without IPv6; explicit ones are not. */
async function withIpv6Fallback(eps: Endpoint[], logger: pino.Logger): Promise<Endpoint[]> {
  const dgram = await import('node:dgram');
  const out: Endpoint[] = [];
  for (const ep of eps) {
    if (ep.host === '::') {
      const ok = await new Promise<boolean>((res) => {
        const s = dgram.createSocket({ type: 'udp6', ipv6Only: true });
        s.once('error', (e: NodeJS.ErrnoException) => { s.close(); res(e.code !== 'EAFNOSUPPORT' && e.code !== 'EADDRNOTAVAIL'); });
        s.bind(0, '::', () => { s.close(); res(true); });
      });
      if (!ok) { logger.warn(`IPv6 is not available here: not listening on ${formatEndpoint(ep)}`); continue; }
    }
    out.push(ep);
  }
  return out;
}

/** Resolves `serve` settings from argv (flags, env, config file) without running anything. */
export function settingsFromArgv(args: string[]): ServeSettings {
  let out: ServeSettings | null = null;
  const program = new Command().exitOverride();
  registerServe(program);
  const serve = program.commands.find((c) => c.name() === 'serve') as Command;
  serve.exitOverride().action((_o: unknown, cmd: Command) => { out = resolveSettings(cmd); });
  program.parse(['node', 'netconsole-hub', 'serve', ...args]);
  if (!out) throw new Error('serve settings were not resolved');
  return out;
}
