// `--file PATH`: follows a file like `tail -F`. Polls (works on every filesystem, no inotify
// limits); on rotation (the path names a new inode) it first drains the old file, then reads the
// new one from its start; on truncation it starts again at offset 0; a missing file is waited for.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { LineSplitter } from '../line-records.js';
import { sleep } from './abortable-sleep.js';

export interface FollowOptions {
  /** Start at the beginning of the file present at start (default: at its end, like tail -n0 -F). */
  fromStart: boolean;
  pollMs?: number;
  signal?: AbortSignal;
  /** Told about rotation, truncation and a missing file (one line each). */
  notice?: (msg: string) => void;
}

interface Opened {
  fh: FileHandle;
  ino: number;
  dev: number;
  pos: number;
}

async function openAt(path: string, atEnd: boolean): Promise<Opened | null> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot open ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const st = await fh.stat();
  return { fh, ino: st.ino, dev: st.dev, pos: atEnd ? st.size : 0 };
}

/** Reads everything from the current position to end of file. */
async function drain(f: Opened, buf: Buffer, onChunk: (b: Buffer) => void): Promise<void> {
  for (;;) {
    const { bytesRead } = await f.fh.read(buf, 0, buf.length, f.pos);
    if (bytesRead === 0) return;
    f.pos += bytesRead;
    onChunk(Buffer.from(buf.subarray(0, bytesRead)));
  }
}

export async function* followFile(path: string, o: FollowOptions): AsyncGenerator<Buffer> {
  const pollMs = o.pollMs ?? 200;
  const buf = Buffer.alloc(64 * 1024);
  const splitter = new LineSplitter();
  let cur = await openAt(path, !o.fromStart);
  if (!cur) o.notice?.(`${path} does not exist yet; waiting for it`);
  else o.notice?.(`following ${path} from byte ${cur.pos}`);
  try {
    while (!o.signal?.aborted) {
      if (cur) {
        const lines: Buffer[] = [];
        await drain(cur, buf, (b) => lines.push(...splitter.push(b)));
        yield* lines;
      }
      let st: Awaited<ReturnType<typeof stat>> | null = null;
      try {
        st = await stat(path);
      } catch {
        st = null; // removed: keep reading the old file until a new one appears
      }
      if (st && (!cur || st.ino !== cur.ino || st.dev !== cur.dev)) {
        if (cur) {
          // Rotated: whatever was still written to the old file comes first.
          const lines: Buffer[] = [];
          await drain(cur, buf, (b) => lines.push(...splitter.push(b)));
          const tail = splitter.flush();
          if (tail) lines.push(tail);
          yield* lines;
          await cur.fh.close();
          o.notice?.(`${path} was rotated; following the new file`);
        }
        cur = await openAt(path, false);
        continue;
      }
      if (st && cur && st.size < cur.pos) {
        o.notice?.(`${path} was truncated; reading from its start`);
        cur.pos = 0;
        splitter.flush();
        continue;
      }
      await sleep(pollMs, o.signal);
    }
  } finally {
    await cur?.fh.close().catch(() => undefined);
  }
}
