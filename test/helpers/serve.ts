// Runs a real `netconsole-hub serve` process on loopback for tests, and sends it datagrams.
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './fixtures.js';

export interface ServeProcess {
  child: ChildProcess;
  udpPort: number;
  http: string;
  db: string;
  log: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function tempDir(prefix = 'nch-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** `root`: the checkout whose bin/ and dist/ run (default: this one). */
export async function startServe(opts: { db?: string; udp?: string[]; extraArgs?: string[]; env?: Record<string, string>; root?: string } = {}): Promise<ServeProcess> {
  const db = opts.db ?? join(tempDir(), 'netconsole.db');
  const udp = (opts.udp ?? ['127.0.0.1:0']).flatMap((u) => ['--udp', u]);
  const args = [join(opts.root ?? ROOT, 'bin/netconsole-hub'), 'serve', ...udp, '--http', '127.0.0.1:0', '--db', db, ...(opts.extraArgs ?? [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const deadline = Date.now() + 20_000;
  let udpPort = 0;
  let http = '';
  while (Date.now() < deadline) {
    const u = /listening on UDP (?:127\.0\.0\.1|0\.0\.0\.0):(\d+)/.exec(out);
    const h = /dashboard and API on (http:\/\/[\d.:]+)/.exec(out);
    if (u && h) { udpPort = Number(u[1]); http = h[1]; break; }
    if (child.exitCode !== null) throw new Error(`serve exited early (${child.exitCode}): ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!http) { child.kill('SIGKILL'); throw new Error(`serve did not start within 20 s: ${out}`); }
  return {
    child, udpPort, http, db, log: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Sends payloads from one UDP socket (one source), paced in small bursts so loopback keeps up. */
/** Sends from host (a loopback address, port fromPort or any) to `to` (default host):port, paced; returns the source port. */
export async function sendDatagrams(port: number, payloads: Uint8Array[], opts: { host?: string; to?: string; fromPort?: number; burst?: number } = {}): Promise<number> {
  const burst = opts.burst ?? 100;
  const host = opts.host ?? '127.0.0.1';
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((res) => sock.bind(opts.fromPort ?? 0, host, () => res()));
  const srcPort = sock.address().port;
  for (let i = 0; i < payloads.length; i++) {
    await new Promise<void>((res, rej) => sock.send(payloads[i], port, opts.to ?? host, (err) => (err ? rej(err) : res())));
    if (i % burst === burst - 1) await new Promise((r) => setTimeout(r, 1));
  }
  await new Promise<void>((res) => sock.close(() => res()));
  return srcPort;
}

export async function getJson(url: string): Promise<any> {
  const r = await fetch(url);
  return r.json();
}

/** Polls until check() is truthy (bounded: 30 s), returning its value. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v;
      last = v;
    } catch (err) { last = err; }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what} (last: ${String(last)})`);
}

/** A UDP port that is free on 127.0.0.1 right now (and, if asked, the next one too). */
export async function freeUdpPort(pair = false): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    const ok = await Promise.all((pair ? [port, port + 1] : [port]).map((p) => new Promise<boolean>((res) => {
      const s = dgram.createSocket('udp4');
      s.once('error', () => { s.close(); res(false); });
      s.bind(p, '127.0.0.1', () => s.close(() => res(true)));
    })));
    if (ok.every(Boolean)) return port;
  }
  throw new Error('no free UDP port found');
}

/** Whether a test needing `what` must run (CI sets the variable) or may be skipped with a reason. */
export function mustRun(envVar: string): boolean {
  return process.env[envVar] === '1';
}
