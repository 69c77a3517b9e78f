// Running `netconsole-hub send` as a child process and catching what it sends on loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/netconsole-hub', import.meta.url));

export interface Received {
  payload: Buffer;
  from: string;
}

/** A plain UDP socket on loopback that keeps every datagram it gets. */
export class Catcher {
  readonly got: Received[] = [];
  private waiters: Array<() => void> = [];
  private constructor(readonly sock: dgram.Socket) {
    sock.on('message', (msg, rinfo) => {
      this.got.push({ payload: msg, from: rinfo.family === 'IPv6' ? `[${rinfo.address}]:${rinfo.port}` : `${rinfo.address}:${rinfo.port}` });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(family: 4 | 6 = 4): Promise<Catcher> {
    const sock = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, family === 6 ? '::1' : '127.0.0.1', () => resolve());
    });
    try {
      sock.setRecvBufferSize(8 * 1024 * 1024);
    } catch {
      // keep the default
    }
    return new Catcher(sock);
  }

  get port(): number {
    return this.sock.address().port;
  }

  /** Waits until `n` datagrams arrived or `ms` passed (a bound so a failing test cannot hang). */
  async waitFor(n: number, ms = 10000): Promise<Received[]> {
    const deadline = Date.now() + ms;
    while (this.got.length < n && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, Math.min(200, deadline - Date.now())));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.got;
  }

  close(): void {
    this.sock.close();
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts the sender; `input` is written to its stdin (then closed) when given. */
export function startSend(args: string[], input?: string | Buffer): { child: ChildProcess; done: Promise<RunResult>; stderrHas(re: RegExp, ms?: number): Promise<boolean> } {
  const child = spawn(process.execPath, [BIN, 'send', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  if (input !== undefined) child.stdin!.end(input);
  const done = new Promise<RunResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  let exited = false;
  void done.then(() => (exited = true));
  /** Waits (bounded) until stderr matches, e.g. a "following …" notice meaning the sender is ready. */
  const stderrHas = async (re: RegExp, ms = 15000): Promise<boolean> => {
    const deadline = Date.now() + ms;
    while (!re.test(stderr) && !exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return re.test(stderr);
  };
  return { child, done, stderrHas };
}

/** Runs the sender to completion (killed after `ms` so a hang fails instead of blocking). */
export async function runSend(args: string[], input?: string | Buffer, ms = 60000): Promise<RunResult> {
  const { child, done } = startSend(args, input);
  const t = setTimeout(() => child.kill('SIGKILL'), ms);
  const r = await done;
  clearTimeout(t);
  return r;
}
