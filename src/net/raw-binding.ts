// Loads the native `raw-socket` package lazily, so everything else works when it is not built,
// and gives its untyped API the few types we use.
import { createRequire } from 'node:module';
import { describeRawSocketError, RawSocketError } from './raw-errors.js';

/** The subset of raw-socket's Socket we use (see node_modules/raw-socket/README.md). */
export interface NativeRawSocket {
  on(event: 'message', listener: (buffer: Buffer, source: string) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'close', listener: () => void): this;
  send(buffer: Buffer, offset: number, length: number, address: string, afterCallback: (err: Error | null, bytes: number) => void): this;
  setOption(level: number, option: number, value: number): void;
  getOption(level: number, option: number, value: Buffer, length: number): number;
  pauseRecv(): this;
  /** The native handle: its send() is a synchronous sendto() that calls back with the byte count or throws. */
  wrap: { send(buffer: Buffer, offset: number, length: number, address: string, callback: (bytes: number) => void): void };
  close(): this;
}

interface RawSocketModule {
  createSocket(opts: { addressFamily: number; protocol: number; bufferSize?: number }): NativeRawSocket;
  AddressFamily: { IPv4: number; IPv6: number };
}

// Linux constants raw-socket does not export by name.
export const SOL_SOCKET = 1;
export const SO_RCVBUF = 8;
export const SO_RCVBUFFORCE = 33;
export const IPPROTO_UDP = 17;
/** IPPROTO_RAW: send-only; implies header-included sending for IPv4 and (Linux ≥ 4.5) IPv6. */
export const IPPROTO_RAW = 255;

let cached: RawSocketModule | null = null;

function loadModule(): RawSocketModule {
  if (cached) return cached;
  try {
    cached = createRequire(import.meta.url)('raw-socket') as RawSocketModule;
    return cached;
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new RawSocketError(`raw sockets need the native raw-socket package, which did not load (${msg}); reinstall with python3, make and g++ present`);
  }
}

/** Opens a SOCK_RAW socket; one-line RawSocketError on failure (EPERM → the CAP_NET_RAW hint). */
export function createNativeRawSocket(family: 4 | 6, protocol: number, bufferSize = 65536): NativeRawSocket {
  const mod = loadModule();
  try {
    return mod.createSocket({ addressFamily: family === 4 ? mod.AddressFamily.IPv4 : mod.AddressFamily.IPv6, protocol, bufferSize });
  } catch (err) {
    throw describeRawSocketError(err, `open an IPv${family} raw socket`);
  }
}
