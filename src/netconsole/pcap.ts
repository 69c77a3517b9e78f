// Capture files over a Buffer, no I/O: classic libpcap (either byte order, µs or ns timestamps)
// and pcapng (SHB/IDB/EPB/SPB/obsolete PB, per-interface link type and timestamp resolution).
// Reading is a generator: packets before a corrupt spot are yielded, then a PcapFormatError is thrown.

export interface PcapPacket {
  /** Capture time, milliseconds since the Unix epoch (fractional). */
  tsMs: number;
  /** pcap LINKTYPE_* of the interface the packet was captured on. */
  linkType: number;
  /** Captured bytes (may be shorter than origLen when the snap length cut it). A view, not a copy. */
  data: Uint8Array;
  origLen: number;
}

/** A file that is not a capture, or is truncated or corrupt. The message is one line. */
export class PcapFormatError extends Error {
  override name = 'PcapFormatError';
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Reads every packet of a classic pcap or pcapng capture. Throws PcapFormatError on bad input. */
export function* readCapture(buf: Uint8Array): Generator<PcapPacket> {
  if (buf.length < 4) throw new PcapFormatError(`not a capture file: ${buf.length} bytes is too short for a header`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const be = dv.getUint32(0, false);
  const le = dv.getUint32(0, true);
  if (be === PCAPNG_SHB) yield* readPcapng(buf, dv);
  else if ([PCAP_MAGIC_US, PCAP_MAGIC_NS].includes(be) || [PCAP_MAGIC_US, PCAP_MAGIC_NS].includes(le)) yield* readClassic(buf, dv);
  else throw new PcapFormatError(`not a pcap or pcapng file (magic 0x${be.toString(16).padStart(8, '0')})`);
}

/** All packets at once (convenience for small files and tests). */
export function readCaptureAll(buf: Uint8Array): PcapPacket[] {
  return [...readCapture(buf)];
}

function* readClassic(buf: Uint8Array, dv: DataView): Generator<PcapPacket> {
  if (buf.length < 24) throw new PcapFormatError(`pcap file header truncated (${buf.length} of 24 bytes)`);
  const little = [PCAP_MAGIC_US, PCAP_MAGIC_NS].includes(dv.getUint32(0, true));
  const nanos = dv.getUint32(0, little) === PCAP_MAGIC_NS;
  // The upper bits of the link-type field carry FCS information (pcap-linktype(7)).
  const linkType = dv.getUint32(20, little) & 0x03ffffff;
  let off = 24;
  let index = 0;
  while (off < buf.length) {
    if (off + 16 > buf.length) throw new PcapFormatError(`pcap truncated: record header of packet ${index + 1} at offset ${off} is cut off`);
    const sec = dv.getUint32(off, little);
    const frac = dv.getUint32(off + 4, little);
    const incl = dv.getUint32(off + 8, little);
    const orig = dv.getUint32(off + 12, little);
    if (off + 16 + incl > buf.length) {
      throw new PcapFormatError(`pcap truncated: packet ${index + 1} at offset ${off} claims ${incl} bytes, ${buf.length - off - 16} left`);
    }
    const tsMs = sec * 1000 + (nanos ? frac / 1e6 : frac / 1e3);
    yield { tsMs, linkType, data: buf.subarray(off + 16, off + 16 + incl), origLen: orig };
    off += 16 + incl;
    index++;
  }
}

interface NgInterface {
  linkType: number;
  snapLen: number;
  /** Timestamp units per second, and the if_tsoffset in seconds. */
  unitsPerSec: bigint;
  offsetSec: number;
}

function* readPcapng(buf: Uint8Array, dv: DataView): Generator<PcapPacket> {
  let little = true;
  let interfaces: NgInterface[] = [];
  let lastTs = 0;
  let off = 0;
  while (off < buf.length) {
    if (off + 12 > buf.length) throw new PcapFormatError(`pcapng truncated: block header at offset ${off} is cut off`);
    const type = dv.getUint32(off, little);
    if (dv.getUint32(off, false) === PCAPNG_SHB) {
      // A section header (re)defines the byte order and forgets the previous section's interfaces.
      const bom = dv.getUint32(off + 8, true);
      if (bom === PCAPNG_BYTE_ORDER_MAGIC) little = true;
      else if (bom === 0x4d3c2b1a) little = false;
      else throw new PcapFormatError(`pcapng section header at offset ${off} has a bad byte-order magic`);
      interfaces = [];
    }
    const len = dv.getUint32(off + 4, little);
    if (len < 12 || len % 4 !== 0) throw new PcapFormatError(`pcapng block at offset ${off} has an invalid length ${len}`);
    if (off + len > buf.length) throw new PcapFormatError(`pcapng truncated: block at offset ${off} claims ${len} bytes, ${buf.length - off} left`);
    if (dv.getUint32(off + len - 4, little) !== len) throw new PcapFormatError(`pcapng block at offset ${off} has mismatched lengths`);
    const body = off + 8;
    const bodyEnd = off + len - 4;
    const need = (n: number, what: string): void => {
      if (body + n > bodyEnd) throw new PcapFormatError(`pcapng ${what} at offset ${off} is too short`);
    };
    if (type === 1) {
      need(8, 'interface description block');
      interfaces.push(readInterface(dv, body, bodyEnd, little));
    } else if (type === 6 || type === 2) {
      // Enhanced packet block; type 2 is the obsolete packet block (16-bit interface id + drops).
      need(20, 'packet block');
      const ifId = type === 6 ? dv.getUint32(body, little) : dv.getUint16(body, little);
      const iface = interfaces[ifId];
      if (!iface) throw new PcapFormatError(`pcapng packet at offset ${off} names undefined interface ${ifId}`);
      const hi = dv.getUint32(body + 4, little);
      const lo = dv.getUint32(body + 8, little);
      const capLen = dv.getUint32(body + 12, little);
      const origLen = dv.getUint32(body + 16, little);
      if (body + 20 + capLen > bodyEnd) throw new PcapFormatError(`pcapng packet at offset ${off} claims ${capLen} bytes beyond its block`);
      lastTs = timestampMs(hi, lo, iface);
      yield { tsMs: lastTs, linkType: iface.linkType, data: buf.subarray(body + 20, body + 20 + capLen), origLen };
    } else if (type === 3) {
      // Simple packet block: interface 0, no timestamp (we reuse the previous packet's time).
      need(4, 'simple packet block');
      const iface = interfaces[0];
      if (!iface) throw new PcapFormatError(`pcapng simple packet at offset ${off} comes before any interface`);
      const origLen = dv.getUint32(body, little);
      let capLen = Math.min(origLen, bodyEnd - body - 4);
      if (iface.snapLen > 0) capLen = Math.min(capLen, iface.snapLen);
      yield { tsMs: lastTs, linkType: iface.linkType, data: buf.subarray(body + 4, body + 4 + capLen), origLen };
    }
    // Any other block (name resolution, statistics, custom, …) is skipped.
    off += len;
  }
}

function readInterface(dv: DataView, body: number, bodyEnd: number, little: boolean): NgInterface {
  const iface: NgInterface = {
    linkType: dv.getUint16(body, little),
    snapLen: dv.getUint32(body + 4, little),
    unitsPerSec: 1_000_000n,
    offsetSec: 0,
  };
  // Options: code(2) length(2) value padded to 4; code 0 ends the list.
  let p = body + 8;
  while (p + 4 <= bodyEnd) {
    const code = dv.getUint16(p, little);
    const olen = dv.getUint16(p + 2, little);
    if (code === 0 || p + 4 + olen > bodyEnd) break;
    if (code === 9 && olen >= 1) {
      const v = dv.getUint8(p + 4);
      iface.unitsPerSec = v & 0x80 ? 1n << BigInt(v & 0x7f) : 10n ** BigInt(v);
    } else if (code === 14 && olen >= 8) {
      iface.offsetSec = Number(dv.getBigInt64(p + 4, little));
    }
    p += 4 + ((olen + 3) & ~3);
  }
  return iface;
}

function timestampMs(hi: number, lo: number, iface: NgInterface): number {
  const units = (BigInt(hi) << 32n) | BigInt(lo);
  const sec = units / iface.unitsPerSec;
  const frac = units % iface.unitsPerSec;
  return (Number(sec) + iface.offsetSec) * 1000 + (Number(frac) * 1000) / Number(iface.unitsPerSec);
}

// ---------------------------------------------------------------- writers (tests, tools)

export interface PacketToWrite {
  tsMs: number;
  data: Uint8Array;
}

/** Splits ms-since-epoch into whole seconds and a fraction in units of 1/unitsPerSec (rounded). */
function splitTime(tsMs: number, unitsPerSec: number): [number, number] {
  let sec = Math.floor(tsMs / 1000);
  let frac = Math.round((tsMs - sec * 1000) * (unitsPerSec / 1000));
  if (frac >= unitsPerSec) [sec, frac] = [sec + 1, frac - unitsPerSec];
  return [sec, frac];
}

/** A classic little-endian pcap (µs, or ns with `nanos`). */
export function writePcap(packets: PacketToWrite[], opts: { linkType?: number; nanos?: boolean; snapLen?: number } = {}): Uint8Array {
  const size = 24 + packets.reduce((n, p) => n + 16 + p.data.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, opts.nanos ? PCAP_MAGIC_NS : PCAP_MAGIC_US, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, opts.snapLen ?? 262144, true);
  dv.setUint32(20, opts.linkType ?? 1, true);
  let off = 24;
  for (const p of packets) {
    const [sec, frac] = splitTime(p.tsMs, opts.nanos ? 1e9 : 1e6);
    dv.setUint32(off, sec, true);
    dv.setUint32(off + 4, frac, true);
    dv.setUint32(off + 8, p.data.length, true);
    dv.setUint32(off + 12, p.data.length, true);
    out.set(p.data, off + 16);
    off += 16 + p.data.length;
  }
  return out;
}

/**
 * A pcapng file (little-endian): one section, one interface per entry of `interfaces`, packets as
 * enhanced packet blocks. `tsResolDigits` is the decimal if_tsresol (6 = µs, the format default, 9 = ns).
 */
export function writePcapng(
  packets: (PacketToWrite & { interfaceId?: number })[],
  interfaces: { linkType: number; tsResolDigits?: number }[] = [{ linkType: 1 }],
): Uint8Array {
  const blocks: Uint8Array[] = [];
  const block = (type: number, body: Uint8Array): void => {
    const padded = (body.length + 3) & ~3;
    const b = new Uint8Array(12 + padded);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, type, true);
    dv.setUint32(4, b.length, true);
    b.set(body, 8);
    dv.setUint32(b.length - 4, b.length, true);
    blocks.push(b);
  };
  const shb = new Uint8Array(16);
  const shbDv = new DataView(shb.buffer);
  shbDv.setUint32(0, PCAPNG_BYTE_ORDER_MAGIC, true);
  shbDv.setUint16(4, 1, true);
  shbDv.setBigInt64(8, -1n, true); // section length unknown
  block(PCAPNG_SHB, shb);
  for (const i of interfaces) {
    const digits = i.tsResolDigits ?? 6;
    const idb = new Uint8Array(digits === 6 ? 8 : 20);
    const dv = new DataView(idb.buffer);
    dv.setUint16(0, i.linkType, true);
    dv.setUint32(4, 262144, true);
    if (digits !== 6) {
      dv.setUint16(8, 9, true); // if_tsresol
      dv.setUint16(10, 1, true);
      idb[12] = digits;
      // 3 bytes padding, then opt_endofopt (4 zero bytes)
    }
    block(1, idb);
  }
  for (const p of packets) {
    const ifId = p.interfaceId ?? 0;
    const ups = 10 ** (interfaces[ifId]?.tsResolDigits ?? 6);
    const [sec, frac] = splitTime(p.tsMs, ups);
    const units = BigInt(sec) * BigInt(ups) + BigInt(frac);
    const epb = new Uint8Array(20 + p.data.length);
    const dv = new DataView(epb.buffer);
    dv.setUint32(0, ifId, true);
    dv.setUint32(4, Number(units >> 32n), true);
    dv.setUint32(8, Number(units & 0xffffffffn), true);
    dv.setUint32(12, p.data.length, true);
    dv.setUint32(16, p.data.length, true);
    epb.set(p.data, 20);
    block(6, epb);
  }
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let off = 0;
  for (const b of blocks) {
    out.set(b, off);
    off += b.length;
  }
  return out;
}
