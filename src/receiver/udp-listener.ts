// Plain UDP listeners, IPv4 and IPv6. The kernel has already checked UDP checksums here (bad ones
// never reach us, spec §6.9); raw capture is the mode that sees them. Netconsole sends at most 1000
// bytes per datagram; one longer than MAX_DATAGRAM is handed over with its true length, for the
// collector to count as oversized and drop (the batched reader has the kernel keep them in a
// socket of their own, see native/udp-batch.c, and reads no bytes of them; dgram delivers them whole).
//
// Two readers, the same datagrams: the batched reader (recvmmsg, udp-batch.ts) when the addon is
// built, and node's dgram otherwise. The batched one costs about a quarter of dgram's CPU per
// datagram (bench/RESULTS.md); `reader: 'dgram'` forces the fallback.
import dgram from 'node:dgram';
import { promises as dns } from 'node:dns';
import { isIPv6 } from 'node:net';
import { UsageError } from '../errors.js';
import { formatEndpoint, sourceName, type Endpoint } from './endpoint.js';
import { BatchReader, batchReaderBinding, MAX_DATAGRAM, type DatagramSource, type KernelDrops } from './udp-batch.js';

export { MAX_DATAGRAM } from './udp-batch.js';

/** 8 MiB: a burst of a few thousand datagrams (a panic, a boot replay) must fit while we are busy. */
export const WANTED_RECEIVE_BUFFER = 8 * 1024 * 1024;

/** `auto`: batched when the addon is built, else dgram. `recvmmsg`: batched or fail. `dgram`: node's sockets. */
export type UdpReaderKind = 'auto' | 'recvmmsg' | 'dgram';

export interface UdpListener {
  endpoint: Endpoint;
  /** Receive buffer the kernel granted (Linux reports twice the usable size). */
  receiveBuffer: number;
  /** Which reader serves this socket. */
  reader: 'recvmmsg' | 'dgram';
  /** What the kernel dropped before the reader saw it (the batched reader only; dgram cannot tell). */
  kernelDrops(): KernelDrops | null;
  close(): Promise<void>;
}

/**
 * `now` is read once per batch (per datagram with dgram). `msg` is only valid during the call.
 * `length` is the datagram's true length, which exceeds `msg.length` when it was read truncated.
 */
export type DatagramHandler = (msg: Uint8Array, from: DatagramSource, now: number, length: number) => void;

export async function listenUdp(ep: Endpoint, onDatagram: DatagramHandler, onError: (err: Error) => void, reader: UdpReaderKind = 'auto'): Promise<UdpListener> {
  // A scoped IPv6 address (fe80::1%eth0) is left to dgram, which resolves the interface name.
  if (reader !== 'dgram' && !(reader === 'auto' && ep.host.includes('%'))) {
    const { binding, why } = batchReaderBinding();
    if (binding) return listenBatched(binding, ep, onDatagram, onError);
    if (reader === 'recvmmsg') throw new UsageError(`--udp-reader recvmmsg: the batched reader is not available: ${why}`);
  }
  return listenDgram(ep, onDatagram, onError);
}

/** Why the batched reader is not in use ('' when it is available). */
export function batchedReaderUnavailable(): string {
  return batchReaderBinding().why;
}

function bindError(ep: Endpoint, err: NodeJS.ErrnoException): UsageError {
  const where = formatEndpoint(ep);
  if (err.code === 'EADDRINUSE') return new UsageError(`UDP ${where} is already in use: stop the other receiver or pick another port with --udp HOST:PORT`);
  if (err.code === 'EACCES') return new UsageError(`UDP ${where}: permission denied: ports below 1024 need root or CAP_NET_BIND_SERVICE`);
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'EAFNOSUPPORT') return new UsageError(`UDP ${where}: address not available on this machine (${err.code})`);
  return new UsageError(`UDP ${where}: ${err.message}`);
}

async function listenBatched(binding: NonNullable<ReturnType<typeof batchReaderBinding>['binding']>, ep: Endpoint, onDatagram: DatagramHandler, onError: (err: Error) => void): Promise<UdpListener> {
  const family = isIPv6(ep.host) ? 6 : 4;
  // dgram resolves a name itself; the addon takes addresses only.
  let address = ep.host;
  if (address === 'localhost') {
    try { address = (await dns.lookup(address, { family })).address; } catch (err) { throw bindError(ep, err as NodeJS.ErrnoException); }
  }
  let bound: [number, number, number, number];
  try {
    bound = binding.bind(family, address, ep.port, WANTED_RECEIVE_BUFFER, MAX_DATAGRAM);
  } catch (err) {
    throw bindError(ep, err as NodeJS.ErrnoException);
  }
  const [fd, port, receiveBuffer, sink] = bound;
  const r = new BatchReader(binding, fd, onDatagram, onError, sink);
  return { endpoint: { host: ep.host, port }, receiveBuffer, reader: 'recvmmsg', kernelDrops: () => r.kernelDrops(), close: async () => r.close() };
}

function listenDgram(ep: Endpoint, onDatagram: DatagramHandler, onError: (err: Error) => void): Promise<UdpListener> {
  const v6 = isIPv6(ep.host);
  const sock = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6, recvBufferSize: WANTED_RECEIVE_BUFFER });
  return new Promise((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => {
      sock.close();
      reject(bindError(ep, err));
    };
    sock.once('error', fail);
    sock.bind(ep.port, ep.host, () => {
      sock.off('error', fail);
      sock.on('error', onError);
      sock.on('message', (msg, rinfo) => onDatagram(msg, { address: rinfo.address, port: rinfo.port, name: sourceName(rinfo.address, rinfo.port) }, Date.now(), msg.length));
      let receiveBuffer = 0;
      try { sock.setRecvBufferSize(WANTED_RECEIVE_BUFFER); } catch { /* capped by net.core.rmem_max; report what we got */ }
      try { receiveBuffer = sock.getRecvBufferSize(); } catch { /* unknown */ }
      const addr = sock.address();
      resolve({
        endpoint: { host: ep.host, port: addr.port },
        receiveBuffer,
        reader: 'dgram',
        kernelDrops: () => null,
        close: () => new Promise<void>((res) => sock.close(() => res())),
      });
    });
  });
}
