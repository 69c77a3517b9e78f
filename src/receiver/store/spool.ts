// The disk spool behind the writer: when the in-memory queue is at its bound, encoded batches (the
// batch codec's typed arrays, as they would cross to the worker) are appended to segment files here
// instead of being dropped, and read back in order as the store catches up. Independent of the
// store: a batch is identified by its spool batch number, and the store only has to commit "the
// highest batch number stored" atomically with each batch (the mark) so that a restart skips what a
// crash left here after it was committed, and replays the rest exactly once.
//
// On disk: `<dir>/<first batch number, 16 digits>.seg`, append-only, each a run of frames:
//   header (40 bytes, little-endian): magic 'NCSP', version u16, header length u16, payload length
//   u32, checksum u32 (the first 32 bits of SHA-256 over header bytes 16..40 and the payload),
//   batch number f64, first record's receivedAt f64, records u32, items u32;
//   payload: nums (records × 6 f64), meta (records × 5 u32), textEnd (records × u32), text (UTF-8),
//   then JSON { strings, others }.
// SHA-256 because it is native (with SHA-NI ~1.5 GB/s here, a JS CRC-32 ~0.26 GB/s).
//
// fsync: none on the datagram thread. Each segment is fdatasync'd off-thread (libuv's pool) at most
// once a second while it is written, and when it is closed. A kill -9 loses nothing written (the
// page cache is the kernel's); power loss loses at most about the last second of spooled batches,
// the same bound as the records then in memory and SQLite's synchronous=NORMAL; a torn last frame
// is found by its length or checksum, counted and skipped.
import { closeSync, fdatasync, fdatasyncSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statfsSync, unlinkSync, writeSync, writevSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { EncodedBatch } from './batch-codec.js';

const MAGIC = 0x5053434e; // 'NCSP' read as little-endian u32
export const SPOOL_VERSION = 1;
const HEADER = 40;
const NUMS = 6;
const META = 5;
/** Bytes per record outside its text: nums, meta and textEnd. */
const FIXED_PER_RECORD = NUMS * 8 + META * 4 + 4;
const SYNC_EVERY_MS = 1000;
const MAX_SEGMENT_BYTES = 64 * 1024 * 1024;
const MIN_SEGMENT_BYTES = 256 * 1024;
const SEGMENT_NAME = /^(\d{16})\.seg$/;
/** `<dir>/lock`: the pid of the process that owns the spool. */
const LOCK_NAME = 'lock';

/** Another live process owns the spool directory. */
export class SpoolInUseError extends Error {}

/** Whether a process with this pid exists (EPERM: it does, as another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface SpoolOptions {
  dir: string;
  /** Bytes the spool may hold at most (further bounded by half the disk's free space). */
  maxBytes: number;
  /** Highest batch number the store has committed (frames up to it are done). */
  committedThrough: number;
}

/** A frame read back: the batch, ready to post to the store. */
export interface SpoolBatch {
  batchNo: number;
  batch: EncodedBatch;
  /** Items in it (records and events): all of them count against the writer's bound. */
  items: number;
  records: number;
}

interface FrameInfo {
  batchNo: number;
  segment: Segment;
  offset: number;
  /** Header + payload. */
  bytes: number;
  records: number;
  items: number;
  firstAt: number;
  /** Committed by the store, or skipped as corrupt. */
  done?: boolean;
}

interface Segment {
  path: string;
  bytes: number;
  /** Highest batch number in it (0: none yet). */
  lastBatchNo: number;
}

export interface SpoolStats {
  /** Bytes of the segment files on disk. */
  bytes: number;
  /** The bound in force (the smaller of the setting and half the free space when last looked). */
  maxBytes: number;
  /** Records (and events) held: appended and not yet committed by the store. */
  records: number;
  /** receivedAt of the oldest record held (null when empty). */
  oldestAt: number | null;
  /** Frames found torn or corrupt (cut short, bad header, bad checksum) and skipped. */
  corruptBatches: number;
  /** Records in those frames, as far as their headers told. */
  corruptRecords: number;
}

/** The first 32 bits of SHA-256 over the header's tail and the payload parts. */
function checksum(headerTail: Uint8Array, parts: readonly Uint8Array[]): number {
  const h = createHash('sha256').update(headerTail);
  for (const p of parts) h.update(p);
  return h.digest().readUInt32LE(0);
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export class Spool {
  private readonly frames: FrameInfo[] = [];
  /** frames[0 .. head) are done; frames[head .. readAt) were handed out (some may be done already). */
  private head = 0;
  private readAt = 0;
  /** Frames handed out whose commit failed: handed out again first (never one still in flight). */
  private retry: FrameInfo[] = [];
  private readonly segments: Segment[] = [];
  private writeFd: number | null = null;
  private writeSeg: Segment | null = null;
  private readFd: number | null = null;
  private readSeg: Segment | null = null;
  private nextBatchNo: number;
  private committedThrough: number;
  private bytes = 0;
  private lockPath: string | null = null;
  private records = 0;
  private limit: number;
  private readonly segmentBytes: number;
  private lastSyncAt = 0;
  private syncing = false;
  private corruptBatches = 0;
  private corruptRecords = 0;
  /** One-line reports (corrupt frames, replay at start) for the owner to log. */
  readonly notices: string[] = [];
  private readonly headerBuf = Buffer.alloc(HEADER);

  private constructor(private readonly options: SpoolOptions) {
    this.committedThrough = options.committedThrough;
    this.nextBatchNo = options.committedThrough + 1;
    this.limit = options.maxBytes;
    this.segmentBytes = Math.min(MAX_SEGMENT_BYTES, Math.max(MIN_SEGMENT_BYTES, Math.floor(options.maxBytes / 8)));
  }

  /**
   * Opens the spool directory (created on first append), deletes segments the store has fully
   * committed, and indexes the frames left to replay. Torn or corrupt frames are counted and
   * reported in `notices`, never thrown.
   */
  static open(options: SpoolOptions): Spool {
    const s = new Spool(options);
    s.lock();
    s.scan();
    s.refreshLimit();
    return s;
  }

  /**
   * One process per spool: two collectors sharing a directory would append to and replay each
   * other's segments (and collide on segment names). A lock left by a process that is gone (kill -9)
   * is taken over. A directory that cannot be created is left to fail at the first append, counted
   * as spool_error, as before: only a live owner refuses the start.
   */
  private lock(): void {
    const path = join(this.options.dir, LOCK_NAME);
    try {
      mkdirSync(this.options.dir, { recursive: true });
    } catch {
      return;
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        try {
          writeSync(fd, `${process.pid}\n`);
        } finally {
          closeSync(fd);
        }
        this.lockPath = path;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return;
      }
      let pid = NaN;
      try {
        pid = Number(readFileSync(path, 'utf8').trim());
      } catch {
        continue; // removed meanwhile: try again
      }
      if (pid === process.pid) {
        this.lockPath = path;
        return;
      }
      if (Number.isSafeInteger(pid) && pid > 0 && processAlive(pid)) {
        throw new SpoolInUseError(`the spool ${this.options.dir} is in use by process ${pid}: each collector needs its own; give this one its own --db (the spool lives beside it), or stop process ${pid}`);
      }
      try {
        unlinkSync(path); // stale: its process is gone
      } catch {
        /* taken over by another starter meanwhile: the next attempt sees its pid */
      }
    }
  }

  private scan(): void {
    let names: string[];
    try {
      names = readdirSync(this.options.dir);
    } catch {
      return; // no spool yet
    }
    const segs = names.map((n) => SEGMENT_NAME.exec(n)).filter((m): m is RegExpExecArray => m !== null).map((m) => ({ name: m[0], first: Number(m[1]) }));
    segs.sort((a, b) => a.first - b.first);
    for (const { name } of segs) {
      const path = join(this.options.dir, name);
      const seg: Segment = { path, bytes: 0, lastBatchNo: 0 };
      const fd = openSync(path, 'r');
      try {
        const size = fstatSync(fd).size;
        seg.bytes = size;
        const kept = this.scanSegment(fd, seg, size);
        this.nextBatchNo = Math.max(this.nextBatchNo, seg.lastBatchNo + 1);
        if (kept === 0) {
          unlinkSync(path);
          continue;
        }
      } finally {
        closeSync(fd);
      }
      this.segments.push(seg);
      this.bytes += seg.bytes;
    }
    if (this.frames.length > 0) {
      this.notices.push(`spool: replaying ${this.records} records (${this.frames.length} batches, ${this.bytes} bytes) left by the previous run, before new traffic`);
    }
  }

  /** Indexes one segment's frames; returns how many are still to replay. */
  private scanSegment(fd: number, seg: Segment, size: number): number {
    let offset = 0;
    let kept = 0;
    while (offset < size) {
      const h = this.headerBuf;
      const got = readSync(fd, h, 0, HEADER, offset);
      const problem =
        got < HEADER ? 'cut short in its header'
        : h.readUInt32LE(0) !== MAGIC ? 'no frame header (bad magic)'
        : h.readUInt16LE(4) !== SPOOL_VERSION ? `unknown version ${h.readUInt16LE(4)}`
        : h.readUInt16LE(6) !== HEADER ? 'bad header length'
        : offset + HEADER + h.readUInt32LE(8) > size ? 'cut short in its payload'
        : null;
      if (problem) {
        // Nothing after this point can be trusted to be a frame boundary: the rest of the segment goes.
        const records = got >= HEADER && h.readUInt32LE(0) === MAGIC ? h.readUInt32LE(32) : 0;
        this.corrupt(`${seg.path} at byte ${offset}: ${problem}; skipped the rest of the file (${size - offset} bytes${records ? `, ${records} records` : ''})`, records);
        break;
      }
      const len = HEADER + h.readUInt32LE(8);
      const batchNo = h.readDoubleLE(16);
      seg.lastBatchNo = Math.max(seg.lastBatchNo, batchNo);
      if (batchNo > this.committedThrough) {
        const records = h.readUInt32LE(32);
        const items = h.readUInt32LE(36);
        this.frames.push({ batchNo, segment: seg, offset, bytes: len, records, items, firstAt: h.readDoubleLE(24) });
        this.records += items;
        kept++;
      }
      offset += len;
    }
    return kept;
  }

  private corrupt(message: string, records: number): void {
    this.corruptBatches++;
    this.corruptRecords += records;
    this.notices.push(`spool: corrupt batch in ${message}`);
  }

  /** Reports collected since the last call (the owner logs them). */
  takeNotices(): string[] {
    return this.notices.splice(0);
  }

  /** The bound: the setting, and never more than half of (free space + what the spool holds). */
  private refreshLimit(): void {
    let free = Infinity;
    try {
      const fs = statfsSync(this.existingDirOrParent());
      free = fs.bavail * fs.bsize;
    } catch {
      // Unknown: the setting alone bounds it.
    }
    this.limit = Math.min(this.options.maxBytes, Math.floor((free + this.bytes) / 2));
  }

  private existingDirOrParent(): string {
    try {
      readdirSync(this.options.dir);
      return this.options.dir;
    } catch {
      return join(this.options.dir, '..');
    }
  }

  /** Whether frames remain to be read back (the store has not been handed all of them). */
  get unread(): boolean {
    return this.readAt < this.frames.length || this.retry.length > 0;
  }

  /** Whether the spool holds anything not yet committed by the store. */
  get empty(): boolean {
    return this.head >= this.frames.length;
  }

  /**
   * Appends a batch. False when it does not fit the bound (the caller counts its items as
   * dropped); throws only on an I/O error, which the caller counts the same way.
   */
  append(b: EncodedBatch, items: number, firstAt: number): boolean {
    const json = Buffer.from(JSON.stringify({ strings: b.strings, others: b.others }), 'utf8');
    const parts: Uint8Array[] = [
      bytesOf(b.nums.subarray(0, b.count * NUMS)),
      bytesOf(b.meta.subarray(0, b.count * META)),
      bytesOf(b.textEnd.subarray(0, b.count)),
      b.text,
      json,
    ];
    let payload = 0;
    for (const p of parts) payload += p.byteLength;
    const len = HEADER + payload;
    if (this.bytes + len > this.limit) {
      this.refreshLimit();
      if (this.bytes + len > this.limit) return false;
    }
    const seg = this.segmentFor(len);
    const batchNo = this.nextBatchNo++;
    const h = Buffer.alloc(HEADER);
    h.writeUInt32LE(MAGIC, 0);
    h.writeUInt16LE(SPOOL_VERSION, 4);
    h.writeUInt16LE(HEADER, 6);
    h.writeUInt32LE(payload, 8);
    h.writeDoubleLE(batchNo, 16);
    h.writeDoubleLE(firstAt, 24);
    h.writeUInt32LE(b.count, 32);
    h.writeUInt32LE(items, 36);
    h.writeUInt32LE(checksum(h.subarray(16), parts), 12);
    const offset = seg.bytes;
    let written = 0;
    const all = [h, ...parts];
    // writev may write less than asked (a signal, a nearly full disk): go on from where it stopped.
    while (written < len) {
      let skip = written;
      const rest: Uint8Array[] = [];
      for (const p of all) {
        if (skip >= p.byteLength) { skip -= p.byteLength; continue; }
        rest.push(skip > 0 ? p.subarray(skip) : p);
        skip = 0;
      }
      written += writevSync(this.writeFd!, rest, offset + written);
    }
    seg.bytes += len;
    seg.lastBatchNo = batchNo;
    this.bytes += len;
    this.records += items;
    this.frames.push({ batchNo, segment: seg, offset, bytes: len, records: b.count, items, firstAt });
    this.syncSoon();
    return true;
  }

  /** The segment to append to: the open one, or a new one once it is full. */
  private segmentFor(len: number): Segment {
    if (this.writeSeg && this.writeSeg.bytes > 0 && this.writeSeg.bytes + len > this.segmentBytes) this.closeWriteSegment();
    if (!this.writeSeg) {
      mkdirSync(this.options.dir, { recursive: true });
      const path = join(this.options.dir, `${String(this.nextBatchNo).padStart(16, '0')}.seg`);
      // A new file per run and per segment: never append after what a crash may have torn.
      this.writeFd = openSync(path, 'wx');
      this.writeSeg = { path, bytes: 0, lastBatchNo: 0 };
      this.segments.push(this.writeSeg);
      this.refreshLimit();
    }
    return this.writeSeg;
  }

  private closeWriteSegment(): void {
    if (this.writeFd === null) return;
    const fd = this.writeFd;
    this.writeFd = null;
    this.writeSeg = null;
    // Durable before it is closed, off this thread.
    fdatasync(fd, () => closeSync(fd));
  }

  /** At most one fdatasync of the open segment per second, in libuv's thread pool. */
  private syncSoon(): void {
    const now = Date.now();
    if (this.syncing || this.writeFd === null || now - this.lastSyncAt < SYNC_EVERY_MS) return;
    this.syncing = true;
    this.lastSyncAt = now;
    fdatasync(this.writeFd, () => {
      this.syncing = false;
    });
  }

  /**
   * The next frame to hand to the store, read and verified; null when all were handed out. A frame
   * whose checksum fails is counted, reported and skipped.
   */
  next(): SpoolBatch | null {
    while (this.retry.length > 0 || this.readAt < this.frames.length) {
      // Batches the store failed to commit go first, oldest first; then the next unread one.
      const f = this.retry.length > 0 ? this.retry.shift()! : this.frames[this.readAt++]!;
      const payload = this.readPayload(f);
      if (payload) return { batchNo: f.batchNo, batch: payload, items: f.items, records: f.records };
      f.done = true;
      this.advance();
    }
    return null;
  }

  /** The store could not commit batch `batchNo` (handed out): hand it out again before the unread ones. */
  failed(batchNo: number): void {
    for (let i = this.head; i < this.readAt; i++) {
      const f = this.frames[i]!;
      if (f.batchNo !== batchNo || f.done) continue;
      this.retry.push(f);
      this.retry.sort((a, b) => a.batchNo - b.batchNo);
      return;
    }
  }

  private readPayload(f: FrameInfo): EncodedBatch | null {
    if (this.readSeg !== f.segment) {
      if (this.readFd !== null) closeSync(this.readFd);
      this.readFd = openSync(f.segment.path, 'r');
      this.readSeg = f.segment;
    }
    const h = Buffer.alloc(HEADER);
    const payloadLen = f.bytes - HEADER;
    // Its own ArrayBuffer: the typed arrays below are views of it, and it is transferred whole.
    const buf = Buffer.allocUnsafeSlow(payloadLen);
    if (readSync(this.readFd!, h, 0, HEADER, f.offset) < HEADER || readSync(this.readFd!, buf, 0, payloadLen, f.offset + HEADER) < payloadLen) {
      this.corrupt(`${f.segment.path} at byte ${f.offset}: cut short; skipped (${f.items} records)`, f.items);
      return null;
    }
    if (checksum(h.subarray(16), [buf]) !== h.readUInt32LE(12)) {
      this.corrupt(`${f.segment.path} at byte ${f.offset}: checksum mismatch; skipped (${f.items} records)`, f.items);
      return null;
    }
    const n = f.records;
    const ab = buf.buffer;
    const at = buf.byteOffset;
    const nums = new Float64Array(ab, at, n * NUMS);
    const meta = new Uint32Array(ab, at + n * NUMS * 8, n * META);
    const textEnd = new Uint32Array(ab, at + n * (NUMS * 8 + META * 4), n);
    const textLen = n > 0 ? textEnd[n - 1]! : 0;
    const textAt = at + n * FIXED_PER_RECORD;
    const text = new Uint8Array(ab, textAt, textLen);
    try {
      const { strings, others } = JSON.parse(buf.toString('utf8', textAt - at + textLen)) as Pick<EncodedBatch, 'strings' | 'others'>;
      return { count: n, nums, meta, text, textEnd, strings, others };
    } catch {
      this.corrupt(`${f.segment.path} at byte ${f.offset}: unreadable string table; skipped (${f.items} records)`, f.items);
      return null;
    }
  }

  /** The store committed batch `batchNo`: forget the frames done from the front, delete finished segments. */
  committed(batchNo: number): void {
    if (batchNo > this.committedThrough) this.committedThrough = batchNo;
    for (let i = this.head; i < this.readAt; i++) {
      const f = this.frames[i]!;
      if (f.batchNo === batchNo) {
        f.done = true;
        break;
      }
    }
    this.advance();
  }

  private advance(): void {
    while (this.head < this.readAt && this.frames[this.head]!.done) {
      const f = this.frames[this.head++]!;
      this.records -= f.items;
    }
    if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames.splice(0, this.head);
      this.readAt -= this.head;
      this.head = 0;
    }
    while (this.segments.length > 0) {
      const seg = this.segments[0]!;
      // Frames are in segment order: a segment none of whose frames is left from head on is finished.
      const done = seg.lastBatchNo > 0 && (this.head >= this.frames.length || this.frames[this.head]!.segment !== seg);
      if (!done) break;
      if (seg === this.writeSeg) this.closeWriteSegment();
      if (seg === this.readSeg) {
        closeSync(this.readFd!);
        this.readFd = null;
        this.readSeg = null;
      }
      this.segments.shift();
      this.bytes -= seg.bytes;
      try {
        unlinkSync(seg.path);
      } catch {
        // Already gone: nothing to free.
      }
    }
  }

  stats(): SpoolStats {
    const oldest = this.head < this.frames.length ? this.frames[this.head]!.firstAt : null;
    return { bytes: this.bytes, maxBytes: this.limit, records: this.records, oldestAt: oldest, corruptBatches: this.corruptBatches, corruptRecords: this.corruptRecords };
  }

  /** Makes what was appended durable and closes the files; what is left is replayed at the next open. */
  close(): void {
    if (this.writeFd !== null) {
      const fd = this.writeFd;
      this.writeFd = null;
      this.writeSeg = null;
      try {
        // The process is stopping: this one may wait.
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    if (this.readFd !== null) closeSync(this.readFd);
    this.readFd = null;
    this.readSeg = null;
    if (this.lockPath !== null) {
      try {
        unlinkSync(this.lockPath);
      } catch {
        /* already gone */
      }
      this.lockPath = null;
    }
  }
}
