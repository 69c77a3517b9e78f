// Where the sender sends: `--target HOST:PORT` and the kernel's own `netconsole=` syntax
// (spec §5.1), both resolved to one SendTarget per destination, each with its own format.
import { isIP } from 'node:net';

export type WireFormat = 'legacy' | 'extended';

export interface SendTarget {
  /** As the user wrote it, for messages and reports. */
  label: string;
  host: string;
  port: number;
  family: 4 | 6;
  format: WireFormat;
  /** Prepend the release string (`r` in the netconsole syntax, --release for --target). */
  release: boolean;
  srcPort: number;
  /** Source address: bound (udp) or written into the IP header (raw). */
  srcIp?: string;
  /** Interface name (informational for udp; raw sockets route by destination). */
  dev?: string;
  mac?: string;
}

export class TargetError extends Error {}

export const DEFAULT_SOURCE_PORT = 6665;
export const DEFAULT_TARGET_PORT = 6666;

function parsePort(s: string, what: string, fallback: number): number {
  if (s === '') return fallback;
  if (!/^\d{1,5}$/.test(s) || Number(s) > 65535) throw new TargetError(`invalid ${what} port '${s}': must be 0..65535`);
  return Number(s);
}

function family(ip: string, what: string): 4 | 6 {
  const f = isIP(ip);
  if (f === 0) throw new TargetError(`invalid ${what} address '${ip}': must be an IPv4 or IPv6 address`);
  return f as 4 | 6;
}

/** `HOST:PORT` or `[V6]:PORT`; HOST must be an IP address (netconsole has no name resolution). */
export function parseHostPort(spec: string, defaults: { format: WireFormat; release: boolean; srcPort: number; srcIp?: string }): SendTarget {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(spec) ?? /^([^:]+):(\d+)$/.exec(spec);
  if (!m) throw new TargetError(`invalid target '${spec}': expected HOST:PORT or [IPV6]:PORT`);
  const host = m[1] === 'localhost' ? '127.0.0.1' : m[1];
  const fam = family(host, 'target');
  if (defaults.srcIp !== undefined && family(defaults.srcIp, 'source') !== fam)
    throw new TargetError(`target '${spec}' and source address '${defaults.srcIp}' are of different IP families`);
  return { label: spec, host, port: parsePort(m[2], 'target', DEFAULT_TARGET_PORT), family: fam, ...defaults };
}

/**
 * `[+][r][src-port]@[src-ip]/[dev],[tgt-port]@<tgt-ip>/[tgt-mac]`; several targets separated by `;`.
 * `sourcePort` overrides the default source port when the spec leaves it empty.
 */
export function parseNetconsoleSpec(spec: string, sourcePort = DEFAULT_SOURCE_PORT): SendTarget[] {
  const parts = spec.split(';').filter((p) => p.trim() !== '');
  if (parts.length === 0) throw new TargetError('empty --netconsole specification');
  return parts.map((p) => parseOne(p.trim(), sourcePort));
}

function parseOne(spec: string, sourcePort: number): SendTarget {
  const bad = (why: string): TargetError => new TargetError(`invalid netconsole target '${spec}': ${why}`);
  let rest = spec;
  let extended = false;
  let release = false;
  if (rest.startsWith('+')) {
    extended = true;
    rest = rest.slice(1);
  }
  if (rest.startsWith('r')) {
    if (!extended) throw bad("'r' (release prepend) needs the extended format '+' before it");
    release = true;
    rest = rest.slice(1);
  }
  const at1 = rest.indexOf('@');
  if (at1 < 0) throw bad("missing '@' after the source port");
  const srcPort = parsePort(rest.slice(0, at1), 'source', sourcePort);
  rest = rest.slice(at1 + 1);
  const slash1 = rest.indexOf('/');
  if (slash1 < 0) throw bad("missing '/' after the source address");
  const srcIp = rest.slice(0, slash1);
  rest = rest.slice(slash1 + 1);
  const comma = rest.indexOf(',');
  if (comma < 0) throw bad("missing ',' after the device");
  const dev = rest.slice(0, comma);
  rest = rest.slice(comma + 1);
  const at2 = rest.indexOf('@');
  if (at2 < 0) throw bad("missing '@' after the target port");
  const port = parsePort(rest.slice(0, at2), 'target', DEFAULT_TARGET_PORT);
  rest = rest.slice(at2 + 1);
  const slash2 = rest.lastIndexOf('/');
  if (slash2 < 0) throw bad("missing '/' after the target address");
  const host = rest.slice(0, slash2);
  const mac = rest.slice(slash2 + 1);
  if (host === '') throw bad('the target address is mandatory');
  const fam = family(host, 'target');
  if (srcIp !== '' && family(srcIp, 'source') !== fam) throw bad('source and target addresses are of different IP families');
  if (mac !== '' && !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)) throw bad(`invalid MAC address '${mac}'`);
  return {
    label: spec,
    host,
    port,
    family: fam,
    format: extended ? 'extended' : 'legacy',
    release,
    srcPort,
    ...(srcIp !== '' ? { srcIp } : {}),
    ...(dev !== '' ? { dev } : {}),
    ...(mac !== '' ? { mac } : {}),
  };
}
