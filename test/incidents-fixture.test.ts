// The real 6.1 kernel captures through the real receiver pipeline into the incident detector:
// sysrq `l` (NMI backtrace) then sysrq `c` (panic) must give exactly one `panic` incident.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetconsoleReceiver } from '../src/netconsole/pipeline.js';
import { IncidentDetector, type Incident, type IncidentChange } from '../src/netconsole/incidents.js';
import type { LogRecord, SeqEvent } from '../src/netconsole/types.js';
import { loadJsonl } from './helpers/fixtures.js';

const HOST = '10.0.2.15';

/** Replays a capture through receiver + detector; returns every change in order. */
function replay(name: string): { changes: IncidentChange[]; records: LogRecord[] } {
  const receiver = new NetconsoleReceiver();
  const detector = new IncidentDetector();
  const changes: IncidentChange[] = [];
  const records: LogRecord[] = [];
  let id = 0;
  let now = 0;
  const sink = {
    record(r: LogRecord): void {
      records.push(r);
      changes.push(...detector.push(HOST, r, now, { id: ++id, boot: 1 }));
    },
    event(_e: SeqEvent): void {},
  };
  for (const d of loadJsonl(name)) {
    now = Math.round(d.t * 1000);
    receiver.push(d.src, d.payload, now, sink);
    receiver.poll(now, sink);
  }
  now += 10_000;
  receiver.flushAll(now, sink);
  changes.push(...detector.poll(now));
  changes.push(...detector.flushAll(now));
  return { changes, records };
}

function closed(changes: IncidentChange[]): Incident[] {
  return changes.filter((c) => c.change === 'close').map((c) => c.incident);
}

for (const name of ['extended.jsonl', 'legacy.jsonl']) {
  test(`${name}: the sysrq crash is exactly one panic incident with its trace and end line`, () => {
    const { changes } = replay(name);
    const incidents = closed(changes);
    const panics = incidents.filter((i) => i.kind === 'panic');
    assert.equal(panics.length, 1, `panics: ${JSON.stringify(incidents.map((i) => [i.kind, i.headline]))}`);
    const p = panics[0];
    assert.equal(p.headline, 'Kernel panic - not syncing: sysrq triggered crash');
    assert.equal(p.severity, 'critical');
    assert.equal(p.ended_by, 'end-marker');
    assert.equal(p.lines[0], p.headline);
    assert.ok(p.lines.includes('Call Trace:'));
    assert.ok(p.lines.includes(' </TASK>'));
    assert.ok(p.lines.some((l) => l.trim().startsWith('sysrq_handle_crash+0x16/0x20')));
    assert.equal(p.lines[p.lines.length - 1], '---[ end Kernel panic - not syncing: sysrq triggered crash ]---');
    assert.equal(p.release, '6.1.0-56-amd64');
    assert.deepEqual(p.signature_frames, ['sysrq_handle_crash', '__handle_sysrq', 'write_sysrq_trigger', 'proc_reg_write', 'vfs_write']);
    assert.match(p.signature, /^[0-9a-f]{16}$/);
    assert.ok(p.context_before.includes('sysrq: Trigger a crash'));
    assert.equal(p.context_before.length, 20);
    assert.ok(p.first_message_id !== null && p.last_message_id !== null && p.last_message_id > p.first_message_id);
    // one open change came before the close, with the same key
    const opens = changes.filter((c) => c.change === 'open' && c.incident.key === p.key);
    assert.equal(opens.length, 1);
  });

  test(`${name}: the NMI backtrace before the panic is its own nmi-backtrace incident, not a panic`, () => {
    const incidents = closed(replay(name).changes);
    const nmi = incidents.filter((i) => i.kind === 'nmi-backtrace');
    assert.equal(nmi.length, 1);
    assert.equal(nmi[0].headline, 'NMI backtrace for cpu 0');
    assert.equal(nmi[0].severity, 'info');
    assert.equal(nmi[0].ended_by, 'trace-end');
    assert.equal(nmi[0].lines[nmi[0].lines.length - 1], ' </TASK>');
    assert.ok(!nmi[0].lines.some((l) => l.startsWith('Kernel panic')));
    // nothing else in the boot log (user messages saying "panic" included) is an incident
    assert.deepEqual(incidents.map((i) => i.kind), ['nmi-backtrace', 'panic']);
  });
}

test('the same crash in both captures has the same signature (two different boots: the unreliable ? frames differ)', () => {
  const a = closed(replay('extended.jsonl').changes).find((i) => i.kind === 'panic');
  const b = closed(replay('legacy.jsonl').changes).find((i) => i.kind === 'panic');
  assert.ok(a && b);
  assert.equal(a.signature, b.signature);
});

test('the user-space message "kn-harness: scenario panic" (facility user) is in context, never an incident', () => {
  const { changes, records } = replay('extended.jsonl');
  const userPanic = records.find((r) => r.text === 'kn-harness: scenario panic');
  assert.ok(userPanic);
  assert.equal(userPanic.facility, 1);
  const nmi = closed(changes).find((i) => i.kind === 'nmi-backtrace');
  assert.ok(nmi?.context_before.includes('kn-harness: scenario panic'));
});

test('one host, two targets (extended + configfs legacy, interleaved as they arrived): the crash is reported once', () => {
  const receiver = new NetconsoleReceiver();
  const detector = new IncidentDetector();
  const changes: IncidentChange[] = [];
  const streams = new Set<string>();
  let now = 0;
  const sink = {
    record(r: LogRecord): void {
      streams.add(r.source);
      changes.push(...detector.push(r.source, r, now, { host: HOST }));
    },
    event(_e: SeqEvent): void {},
  };
  const both = [...loadJsonl('extended.jsonl').map((d) => ({ ...d, src: '10.0.2.15:6665' })),
    ...loadJsonl('extended.t2-legacy.jsonl').map((d) => ({ ...d, src: '10.0.2.15:6664' }))].sort((a, b) => a.t - b.t);
  for (const d of both) {
    now = Math.round(d.t * 1000);
    receiver.push(d.src, d.payload, now, sink);
    receiver.poll(now, sink);
  }
  receiver.flushAll(now + 10_000, sink);
  changes.push(...detector.flushAll(now + 10_000));
  assert.equal(streams.size, 2);
  const incidents = closed(changes);
  assert.deepEqual(incidents.map((i) => [i.kind, i.host]), [['nmi-backtrace', HOST], ['panic', HOST]]);
  assert.equal(changes.filter((c) => c.change === 'open').length, 2);
});
