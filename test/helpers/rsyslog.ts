// A real rsyslogd (Debian's rsyslog) for the forwarding tests, run as a plain process with a
// config of our own in a temporary directory: imtcp and imudp on a loopback port (and a second
// UDP input, `imudp-small`, on the next port), omfile writing one JSON line per received message. No imuxsock/imklog: it never touches /dev/log or /var/log.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

export const RSYSLOGD = '/usr/sbin/rsyslogd';

type Skippable = { skip(message: string): void };

/** True (and the test skipped, or failed under NCH_REQUIRE_RSYSLOG=1) when rsyslogd is missing. */
export function rsyslogMissing(t: Skippable): boolean {
  if (existsSync(RSYSLOGD)) return false;
  if (process.env.NCH_REQUIRE_RSYSLOG === '1') assert.fail(`NCH_REQUIRE_RSYSLOG=1 but ${RSYSLOGD} is missing (apt-get install -y rsyslog)`);
  t.skip(`${RSYSLOGD} is missing; install rsyslog (NCH_REQUIRE_RSYSLOG=1 makes this mandatory)`);
  return true;
}

/** One message as rsyslog parsed and wrote it (its properties, not our bytes). */
export interface RsyslogLine {
  input: 'imtcp' | 'imudp' | 'imudp-small';
  pri: number; hostname: string; appName: string; procId: string; msgId: string;
  structuredData: string; timestamp: string; msg: string;
}

// Control characters are kept (not escaped to #011 …) and a trailing LF is not dropped, so %msg% is
// the text as sent; JSON escaping keeps one message per line.
const TEMPLATE = '{"input":"%inputname%","pri":%pri%,"hostname":"%hostname:::json%","appName":"%app-name:::json%",' +
  '"procId":"%procid:::json%","msgId":"%msgid:::json%","structuredData":"%structured-data:::json%",' +
  '"timestamp":"%timereported:::date-rfc3339%","msg":"%msg:::json%"}\\n';

function config(dir: string, port: number, file: string): string {
  const tpl = TEMPLATE.replace(/"/g, '\\"');
  return [
    `global(workDirectory="${dir}" maxMessageSize="64k" parser.escapeControlCharactersOnReceive="off" parser.dropTrailingLFOnReception="off")`,
    'module(load="imtcp")',
    'module(load="imudp")',
    `input(type="imtcp" port="${port}" address="127.0.0.1")`,
    // A large receive buffer: the test sends thousands of datagrams in a burst on loopback.
    `input(type="imudp" port="${port}" address="127.0.0.1" rcvbufSize="8m")`,
    `input(type="imudp" port="${port + 1}" address="127.0.0.1" rcvbufSize="8m" name="imudp-small")`,
    `template(name="fwd" type="string" string="${tpl}")`,
    // Only what came in (not rsyslogd's own messages).
    `if $inputname startswith "imudp" or $inputname == "imtcp" then action(type="omfile" file="${file}" template="fwd")`,
    '',
  ].join('\n');
}

/** A port free on 127.0.0.1 for both TCP and UDP right now, and the next one for UDP. */
export async function freeTcpUdpPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    const tcp = await new Promise<boolean>((res) => {
      const srv = net.createServer();
      srv.once('error', () => res(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
    });
    const udp = (p: number) => new Promise<boolean>((res) => {
      const s = dgram.createSocket('udp4');
      s.once('error', () => { s.close(); res(false); });
      s.bind(p, '127.0.0.1', () => s.close(() => res(true)));
    });
    if (tcp && (await udp(port)) && (await udp(port + 1))) return port;
  }
  throw new Error('no free port found');
}

function udpBound(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/udp', 'utf8').split('\n').some((l) => l.trim().split(/\s+/)[1] === `0100007F:${hex}`);
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); res(true); });
    s.once('error', () => res(false));
  });
}

export class Rsyslog {
  readonly file: string;
  private child: ChildProcess | null = null;
  private output = '';
  private readonly conf: string;

  constructor(readonly dir: string, readonly port: number) {
    this.file = join(dir, 'received.jsonl');
    this.conf = join(dir, 'rsyslog.conf');
    writeFileSync(this.conf, config(dir, port, this.file));
  }

  /** Starts rsyslogd and waits (at most 15 s) until both inputs listen. */
  async start(): Promise<void> {
    assert.equal(this.child, null, 'rsyslogd is already running');
    const child = spawn(RSYSLOGD, ['-n', '-f', this.conf, '-i', join(this.dir, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (d) => (this.output += d));
    child.stderr!.on('data', (d) => (this.output += d));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`rsyslogd exited (${child.exitCode}): ${this.output}`);
      if (udpBound(this.port) && udpBound(this.port + 1) && (await tcpAccepts(this.port))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`rsyslogd did not listen on ${this.port} within 15 s: ${this.output}`);
  }

  /** SIGTERM, and waits (at most 10 s, then SIGKILL) until it has exited. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode !== null) return;
    child.kill('SIGCONT');
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** SIGSTOP / SIGCONT: a receiver that stops reading (its socket stays open) and resumes. */
  freeze(): void { assert.ok(this.child?.kill('SIGSTOP')); }
  thaw(): void { assert.ok(this.child?.kill('SIGCONT')); }

  lines(): RsyslogLine[] {
    if (!existsSync(this.file)) return [];
    return readFileSync(this.file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as RsyslogLine);
  }

  log(): string { return this.output; }
}
