// The terminal client (`tail`, `query`) as real child processes, and what its tests feed `serve`.
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { join } from 'node:path';
import { ROOT } from './fixtures.js';
import { getJson, waitFor } from './serve.js';
import type { MessageJson } from '../../src/web/types.js';

const BIN = join(ROOT, 'bin/netconsole-hub');

/** The environment of a client child: without the user's NETCONSOLE_HUB_* settings unless given. */
function clientEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e = { ...process.env };
  delete e.NETCONSOLE_HUB_URL;
  delete e.NETCONSOLE_HUB_TOKEN;
  return { ...e, ...env };
}

export interface CliResult { code: number | null; stdout: string; stderr: string }

/** Runs `netconsole-hub ARGS` to its end (killed after 60 s: a hang fails the test, it does not stall it). */
export function runCli(args: string[], env?: Record<string, string>): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: clientEnv(env) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(timer);
    resolve({ code, stdout, stderr });
  }));
}

/** A running `netconsole-hub tail`: its stdout lines and stderr so far. */
export interface TailProcess {
  child: ChildProcess;
  lines: string[];
  stderr: () => string;
  /** Waits (bounded) until stdout has at least n lines. */
  waitLines(n: number, timeoutMs?: number): Promise<string[]>;
  waitStderr(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  stop(): Promise<number | null>;
}

export function startTail(args: string[], env?: Record<string, string>): TailProcess {
  const child = spawn(process.execPath, [BIN, 'tail', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: clientEnv(env) });
  const lines: string[] = [];
  let partial = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  return {
    child, lines, stderr: () => err,
    waitLines: (n, timeoutMs = 30_000) => waitFor(`${n} lines from tail (have ${lines.length}; stderr: ${err})`, () => (lines.length >= n ? lines : undefined), timeoutMs),
    waitStderr: (re, timeoutMs = 30_000) => waitFor(`tail's stderr to match ${re} (stderr: ${err})`, () => re.exec(err) ?? undefined, timeoutMs),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Sends payloads from `bind` (a loopback address: 127.0.0.2 is a second host) to 127.0.0.1:port, paced. */
export async function sendFrom(bind: string, port: number, payloads: Uint8Array[], opts: { burst?: number; pauseMs?: number; fromPort?: number } = {}): Promise<void> {
  const burst = opts.burst ?? 50;
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((res) => sock.bind(opts.fromPort ?? 0, bind, () => res()));
  for (let i = 0; i < payloads.length; i++) {
    await new Promise<void>((res, rej) => sock.send(payloads[i]!, port, '127.0.0.1', (e) => (e ? rej(e) : res())));
    if (i % burst === burst - 1) await new Promise((r) => setTimeout(r, opts.pauseMs ?? 2));
  }
  await new Promise<void>((res) => sock.close(() => res()));
}

/** Every message the API returns for these filters, oldest first (paged with its own cursor). */
export async function apiMessages(http: string, params: Record<string, string | number> = {}, headers: Record<string, string> = {}): Promise<MessageJson[]> {
  const out: MessageJson[] = [];
  let after = 0;
  for (let i = 0; i < 1000; i++) {
    const q = new URLSearchParams({ ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])), after: String(after), limit: '5000', order: 'asc' });
    const r = await fetch(`${http}/api/messages?${q}`, { headers });
    const page = (await r.json()) as { messages: MessageJson[] };
    if (r.status !== 200) throw new Error(`API ${r.status}: ${JSON.stringify(page)}`);
    out.push(...page.messages);
    if (page.messages.length < 5000) return out;
    after = page.messages[page.messages.length - 1]!.id;
  }
  throw new Error('more than 1000 pages');
}

/** Waits until `serve` has received `datagrams` and its stored count stopped moving (holds are < 1 s). */
export async function settled(http: string, datagrams: number, headers: Record<string, string> = {}): Promise<number> {
  await waitFor(`${datagrams} datagrams received`, async () => (await (await fetch(`${http}/api/stats`, { headers })).json() as { datagrams: number }).datagrams >= datagrams || undefined);
  const stats = async () => (await (await fetch(`${http}/api/stats`, { headers })).json()) as { messages: number; queue_depth: number };
  const done = await waitFor('the stored count to settle', async () => {
    const before = await stats();
    await new Promise((r) => setTimeout(r, 1200));
    const now = await stats();
    return before.messages === now.messages && now.queue_depth === 0 ? { messages: now.messages } : undefined;
  });
  return done.messages;
}

/** A TCP port free on 127.0.0.1 right now (for restarting `serve` on the same HTTP port). */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export { getJson };
