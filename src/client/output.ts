// Writing lines to stdout without piling them up in memory when the reader is slow. A closed pipe
// (`| head`) is handled by the CLI's EPIPE handler, which exits 0.
import { once } from 'node:events';
import type { Writable } from 'node:stream';

export class LineWriter {
  private pending: string[] = [];
  private size = 0;
  private scheduled = false;

  constructor(private readonly out: Writable = process.stdout, private readonly batchBytes = 64 * 1024) {}

  /** Queues a line; writes once a batch is full. Await it: it waits while stdout is full. */
  async line(s: string): Promise<void> {
    this.pending.push(s);
    this.size += s.length + 1;
    if (this.size >= this.batchBytes) await this.flush();
  }

  /** Like line(), and a short batch goes out at the end of this event-loop turn (live output). */
  async lineSoon(s: string): Promise<void> {
    await this.line(s);
    if (this.pending.length > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.flush();
      });
    }
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const chunk = this.pending.join('\n') + '\n';
    this.pending = [];
    this.size = 0;
    if (!this.out.write(chunk)) await once(this.out, 'drain');
  }
}
