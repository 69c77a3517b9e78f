// The batched UDP reader (native/udp-batch.c, built by scripts/build-native.mjs into
// dist/native/udp-batch.node): a thread of its own reads with recvmmsg(2) into a ring JS holds,
// and JS is called once for everything ready. It replaces node's dgram for plain UDP listening when it is built;
// without a compiler (or off Linux) the collector uses dgram and says so once in its log.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { formatIpAddress } from '../netconsole/packet.js';
import { sourceName } from './endpoint.js';

/** A sender as the collector keys it: the address and port node would report, and `ip:port`. */
export interface DatagramSource {
  readonly address: string;
  readonly port: number;
  /** `ip:port` (IPv6 bracketed, IPv4-mapped unwrapped): the core's source key. */
  readonly name: string;
  /** The allow-list's verdict, cached by the collector on first sight. */
  allowed?: boolean;
}

interface Binding {
  /** `maxDatagram` > 0: longer datagrams are steered to `sink` (-1 when the kernel refused). */
  bind(family: 4 | 6, address: string, port: number, receiveBuffer: number, maxDatagram: number): [fd: number, port: number, granted: number, sink: number];
  start(fd: number, sink: number, data: Buffer, meta: Int32Array, maxDatagram: number, coalesceMs: number, onBatch: (first: number, n: number) => void): object;
  /** What the kernel dropped: for the socket (buffer full, bad checksum), for the sink (oversized). */
  drops(handle: object): [socket: number, sink: number];
  stop(handle: object): void;
}

/** Datagrams the kernel dropped before the reader saw them. */
export interface KernelDrops {
  /** For the listening socket: its receive buffer was full (or a checksum was bad). */
  socket: number;
  /** Oversized datagrams the sink could not hold (counted, as the ones read from it). */
  oversized: number;
}

/** Where the build puts the addon (dist/native, beside dist/src). */
export const ADDON_PATH = fileURLToPath(new URL('../../native/udp-batch.node', import.meta.url));

let loaded: { binding: Binding | null; why: string } | undefined;

/** The addon, or null and why it is not available (read once per process). */
export function batchReaderBinding(): { binding: Binding | null; why: string } {
  if (loaded) return loaded;
  if (process.platform !== 'linux') loaded = { binding: null, why: `recvmmsg is Linux-only (this is ${process.platform})` };
  else if (!existsSync(ADDON_PATH)) loaded = { binding: null, why: `${ADDON_PATH} was not built (npm run build needs a C compiler and node's headers)` };
  else {
    try {
      loaded = { binding: createRequire(import.meta.url)(ADDON_PATH) as Binding, why: '' };
    } catch (err) {
      loaded = { binding: null, why: `${ADDON_PATH} does not load: ${(err as Error).message.split('\n')[0]}` };
    }
  }
  return loaded;
}

/**
 * The largest datagram the collector takes. The kernel sends at most 1000 bytes (MAX_PRINT_CHUNK)
 * per datagram, and its whole extended record (CONSOLE_EXT_LOG_MAX) is 8 KiB; anything longer is
 * not netconsole and is counted as oversized and dropped, whichever reader saw it.
 */
export const MAX_DATAGRAM = 8192;
/** A longer datagram (steered to the sink socket, see native/udp-batch.c) comes with its true length and no bytes. */
const NO_BYTES = new Uint8Array(0);
/**
 * The ring the reader thread fills while JS is busy: datagrams packed at their own size, so about
 * 16 000 netconsole datagrams (1.6 s of a 10 000/s flood), on top of the kernel's buffer. Pages
 * become resident as the ring is first used.
 */
const RING_BYTES = 16 * 1024 * 1024;
const RING_SLOTS = 16384;
/** [length, port, family, truncated, address words 0..3, offset in the ring, unused x3] */
const META_INTS = 12;
const META_OFFSET = 8;
/** How long the reader lets datagrams pile up after a read while traffic keeps coming (see the C). */
export const COALESCE_MS = 1;
/** Sources whose names are cached; past it the cache starts over (spoofed floods stay bounded). */
const MAX_CACHED_SOURCES = 1 << 17;
/** A cached source unseen for a whole period of this length is dropped: idle senders cost nothing here. */
const CACHE_SWEEP_MS = 5000;

/** A cache entry, with the sweep generation it was last seen in. */
interface CachedSource extends DatagramSource { seen: number }

/** The source for `key`, made from the address bytes at `at` on first sight. */
function cached<K>(cache: Map<K, CachedSource>, key: K, bytes: Uint8Array, at: number, length: 4 | 16, port: number, generation: number): DatagramSource {
  let s = cache.get(key);
  if (!s) {
    if (cache.size >= MAX_CACHED_SOURCES) cache.clear();
    const address = formatIpAddress(bytes.slice(at, at + length));
    s = { address, port, name: sourceName(address, port), seen: generation };
    cache.set(key, s);
  } else {
    s.seen = generation;
  }
  return s;
}

function sweep<K>(cache: Map<K, CachedSource>, keepFrom: number): void {
  for (const [key, s] of cache) if (s.seen < keepFrom) cache.delete(key);
}

/** `length` is the datagram's true length: more than `msg.length` when it was read truncated. */
export type BatchHandler = (msg: Uint8Array, from: DatagramSource, now: number, length: number) => void;

/**
 * Reads one bound socket in batches. Each datagram handed to `onDatagram` is a view into the ring
 * that the reader thread reuses once the call returns: the handler must copy what it keeps (the
 * core does).
 */
export class BatchReader {
  private readonly data = Buffer.allocUnsafeSlow(RING_BYTES);
  private readonly meta = new Int32Array(RING_SLOTS * META_INTS);
  private readonly metaBytes = new Uint8Array(this.meta.buffer);
  private readonly v4 = new Map<number, CachedSource>();
  private readonly v6 = new Map<string, CachedSource>();
  private generation = 0;
  private readonly sweepTimer: NodeJS.Timeout;
  private handle: object | null;
  private lastDrops: KernelDrops = { socket: 0, oversized: 0 };

  /** `sink`: the oversized datagrams' socket from bind(), or -1. */
  constructor(
    private readonly binding: Binding,
    fd: number,
    private readonly onDatagram: BatchHandler,
    private readonly onError: (err: Error) => void,
    sink = -1,
  ) {
    this.handle = binding.start(fd, sink, this.data, this.meta, MAX_DATAGRAM, COALESCE_MS, (first, n) => this.onBatch(first, n));
    this.sweepTimer = setInterval(() => this.sweepCache(), CACHE_SWEEP_MS);
    this.sweepTimer.unref();
  }

  /** Drops the sources not seen since the previous sweep. */
  sweepCache(): void {
    const keepFrom = this.generation++;
    sweep(this.v4, keepFrom);
    sweep(this.v6, keepFrom);
  }

  /** Sources whose names are cached (tests, metrics). */
  get cachedSources(): number {
    return this.v4.size + this.v6.size;
  }

  /** Entries first..first+n-1 of the ring (n < 0: -errno of a failed socket). */
  private onBatch(first: number, n: number): void {
    if (n < 0) {
      const code = Object.entries(constants.errno).find(([, v]) => v === -n)?.[0] ?? 'unknown error';
      this.onError(new Error(`UDP receive failed: ${code} (errno ${-n})`));
      return;
    }
    const now = Date.now();
    const meta = this.meta;
    for (let i = first; i < first + n; i++) {
      const m = i * META_INTS;
      const length = meta[m]!;
      const start = meta[m + META_OFFSET]!;
      // A truncated datagram is handed over with its true length and no bytes, for the collector to count.
      this.onDatagram(meta[m + 3] ? NO_BYTES : this.data.subarray(start, start + length), this.sourceOf(m), now, length);
    }
  }

  private sourceOf(m: number): DatagramSource {
    const meta = this.meta;
    const port = meta[m + 1]!;
    // Address words are in network byte order; any fixed mapping makes a fine cache key.
    if (meta[m + 2] === 4) return cached(this.v4, (meta[m + 4]! >>> 0) * 65536 + port, this.metaBytes, (m + 4) * 4, 4, port, this.generation);
    return cached(this.v6, `${meta[m + 4]},${meta[m + 5]},${meta[m + 6]},${meta[m + 7]},${port}`, this.metaBytes, (m + 4) * 4, 16, port, this.generation);
  }

  /** What the kernel dropped for this reader's sockets so far (the last figures once closed). */
  kernelDrops(): KernelDrops {
    if (this.handle) {
      const [socket, oversized] = this.binding.drops(this.handle);
      this.lastDrops = { socket, oversized };
    }
    return this.lastDrops;
  }

  /** Stops reading and closes the socket. */
  close(): void {
    clearInterval(this.sweepTimer);
    if (!this.handle) return;
    this.kernelDrops();
    this.binding.stop(this.handle);
    this.handle = null;
  }
}
