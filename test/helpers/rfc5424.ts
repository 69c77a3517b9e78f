// A strict parser of RFC 5424 §6 (SYSLOG-MSG), written from the RFC's ABNF for the tests: the
// formatter's unit test checks its output with it, and the rsyslog test reads rsyslog's
// structured-data property with parseStructuredData.
export interface Parsed {
  pri: number; version: number; timestamp: string; hostname: string; appName: string; procId: string; msgId: string;
  sd: Array<{ id: string; params: Array<[string, string]> }>; msg: Buffer | null;
}

const PRINTUSASCII = (b: number) => b >= 33 && b <= 126;

/** SYSLOG-MSG = HEADER SP STRUCTURED-DATA [SP MSG] (RFC 5424 §6), strictly; throws on any violation. */
export function parse5424(bytes: Buffer): Parsed {
  let i = 0;
  const fail = (what: string): never => { throw new Error(`${what} at octet ${i}: ${JSON.stringify(bytes.toString('latin1'))}`); };
  const token = (max: number, what: string): string => {
    const start = i;
    while (i < bytes.length && PRINTUSASCII(bytes[i]!)) i++;
    if (i === start || i - start > max) fail(`${what} must be 1..${max} PRINTUSASCII`);
    return bytes.toString('latin1', start, i);
  };
  const sp = () => { if (bytes[i] !== 0x20) fail('SP expected'); i++; };
  const m = /^<(\d{1,3})>([1-9]\d{0,2}) /.exec(bytes.toString('latin1', 0, 10));
  if (!m) fail('PRI VERSION');
  const pri = Number(m![1]);
  if (pri > 191 || (m![1]!.length > 1 && m![1]!.startsWith('0'))) fail('PRIVAL 0..191');
  i = m![0].length;
  const timestamp = token(64, 'TIMESTAMP');
  if (timestamp !== '-' && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/.test(timestamp)) fail('TIMESTAMP');
  sp();
  const hostname = token(255, 'HOSTNAME'); sp();
  const appName = token(48, 'APP-NAME'); sp();
  const procId = token(128, 'PROCID'); sp();
  const msgId = token(32, 'MSGID'); sp();
  const sd: Parsed['sd'] = [];
  const sdName = (what: string): string => {
    const start = i;
    while (i < bytes.length && PRINTUSASCII(bytes[i]!) && ![0x3d, 0x20, 0x5d, 0x22].includes(bytes[i]!)) i++;
    if (i === start || i - start > 32) fail(`${what} must be 1..32 SD-NAME characters`);
    return bytes.toString('latin1', start, i);
  };
  if (bytes[i] === 0x2d) i++;
  else {
    if (bytes[i] !== 0x5b) fail('STRUCTURED-DATA');
    while (bytes[i] === 0x5b) {
      i++;
      const id = sdName('SD-ID');
      if (!/^[^@]+(@\d+)?$/.test(id)) fail('SD-ID: name or name@enterprise');
      const params: Array<[string, string]> = [];
      while (bytes[i] === 0x20) {
        i++;
        const name = sdName('PARAM-NAME');
        if (bytes[i++] !== 0x3d || bytes[i++] !== 0x22) fail('="');
        const value: number[] = [];
        for (;;) {
          if (i >= bytes.length) fail('unterminated PARAM-VALUE');
          const b = bytes[i++]!;
          if (b === 0x22) break;
          if (b === 0x5d) fail("unescaped ']' in PARAM-VALUE");
          if (b === 0x5c && [0x22, 0x5c, 0x5d].includes(bytes[i]!)) { value.push(bytes[i++]!); continue; }
          value.push(b);
        }
        let v = '';
        try { v = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(value)); } catch { fail('PARAM-VALUE must be UTF-8'); }
        params.push([name, v]);
      }
      if (bytes[i++] !== 0x5d) fail("']' expected");
      if (sd.some((e) => e.id === id)) fail('an SD-ID must not repeat');
      sd.push({ id, params });
    }
  }
  let msg: Buffer | null = null;
  if (i < bytes.length) { sp(); msg = bytes.subarray(i); }
  return { pri, version: Number(m![2]), timestamp, hostname, appName, procId, msgId, sd, msg };
}


/** STRUCTURED-DATA alone (what rsyslog's %structured-data% holds), by the same rules. */
export function parseStructuredData(sd: string): Parsed['sd'] {
  const p = parse5424(Buffer.from(`<0>1 - - - - - ${sd}`, 'utf8'));
  if (p.msg !== null) throw new Error(`more than STRUCTURED-DATA: ${JSON.stringify(sd)}`);
  return p.sd;
}
