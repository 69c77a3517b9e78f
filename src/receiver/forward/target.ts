// `--forward URL`: syslog+tcp://HOST:PORT or syslog+udp://HOST:PORT, with optional settings in the
// query: queue=N (records waiting, at most), max=N (longest message in octets), bom=1.
import { isIP } from 'node:net';

export type Transport = 'tcp' | 'udp';

export interface ForwardTarget {
  /** The URL as given (names the destination in logs, /api/stats and /metrics). */
  url: string;
  transport: Transport;
  host: string;
  port: number;
  /** Records waiting to be sent, at most; beyond it the oldest is dropped (and counted). */
  maxQueue: number;
  /** Longest message in octets (0: no limit); longer ones are truncated (and counted). */
  maxBytes: number;
  /** Start MSG with the UTF-8 BOM. */
  bom: boolean;
}

export const DEFAULT_FORWARD_QUEUE = 10_000;
/** UDP: the size RFC 5426 §3.2 says every receiver SHOULD accept. */
export const DEFAULT_UDP_MAX_BYTES = 2048;
/** RFC 5426 §3.2: the size every IPv4 receiver MUST accept; a smaller limit would not leave room for the header. */
const MIN_MAX_BYTES = 480;
/** The largest UDP payload over IPv4. */
const UDP_LIMIT = 65_507;

function integer(name: string, value: string, min: number, max: number, url: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new Error(`${url}: ${name} must be an integer from ${min} to ${max}, not '${value}'`);
  return n;
}

/** Checks one --forward value; throws an Error with a one-line message. */
export function parseForwardUrl(text: string): ForwardTarget {
  const expected = 'expected syslog+tcp://HOST:PORT or syslog+udp://HOST:PORT';
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new Error(`${JSON.stringify(text)} is not a URL (${expected})`);
  }
  if (u.protocol !== 'syslog+tcp:' && u.protocol !== 'syslog+udp:') throw new Error(`${text}: unknown scheme '${u.protocol.slice(0, -1)}' (${expected})`);
  const transport: Transport = u.protocol === 'syslog+tcp:' ? 'tcp' : 'udp';
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new Error(`${text}: no host (${expected})`);
  if (host.includes(':') && isIP(host) !== 6) throw new Error(`${text}: '${host}' is not an IPv6 address`);
  if (u.port === '') throw new Error(`${text}: no port (${expected})`);
  const port = Number(u.port);
  if (port === 0) throw new Error(`${text}: port 0 is not a destination`);
  if (u.username || u.password || (u.pathname !== '' && u.pathname !== '/') || u.hash) throw new Error(`${text}: only HOST:PORT and the settings queue, max and bom belong in the URL`);
  const target: ForwardTarget = {
    url: text, transport, host, port, maxQueue: DEFAULT_FORWARD_QUEUE,
    maxBytes: transport === 'udp' ? DEFAULT_UDP_MAX_BYTES : 0, bom: false,
  };
  for (const [key, value] of u.searchParams) {
    if (key === 'queue') target.maxQueue = integer('queue', value, 1, 10_000_000, text);
    else if (key === 'max') target.maxBytes = integer('max', value, MIN_MAX_BYTES, transport === 'udp' ? UDP_LIMIT : 1 << 30, text);
    else if (key === 'bom') {
      if (value !== '0' && value !== '1') throw new Error(`${text}: bom must be 0 or 1, not '${value}'`);
      target.bom = value === '1';
    } else throw new Error(`${text}: unknown setting '${key}' (known: queue, max, bom)`);
  }
  return target;
}
