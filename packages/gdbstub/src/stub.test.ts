import { checksum, escapeBinary, framePacket, PacketReader, unescapeBinary, type WireEvent } from './packets';
import { GdbSession } from './stub';
import { parseGdbAddress } from './server';
import type { BreakpointKind, DebugTarget, FpuRegisters, StopReason, WatchpointKind } from './target';

const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

describe('packet framing', () => {
  it('sums the payload modulo 256 and frames it as $payload#cc', () => {
    expect(checksum(Buffer.from('OK'))).toBe(0x9a);
    expect(text(framePacket('OK'))).toBe('$OK#9a');
    expect(text(framePacket(''))).toBe('$#00');
  });

  it('reassembles packets that arrive in pieces, and sees acks and Ctrl-C between them', () => {
    const events: WireEvent[] = [];
    const r = new PacketReader((e) => events.push(e));
    r.feed(Buffer.from('+$g#'));
    r.feed(Buffer.from('67'));
    r.feed(Uint8Array.of(0x03));
    r.feed(Buffer.from('-$m0,4#fd$?#3f'));
    expect(events.map((e) => (e.kind === 'packet' ? `packet:${text(e.payload)}` : e.kind))).toEqual([
      'ack',
      'packet:g',
      'interrupt',
      'nack',
      'packet:m0,4',
      'packet:?',
    ]);
  });

  it('reports a packet whose checksum is wrong', () => {
    const events: WireEvent[] = [];
    new PacketReader((e) => events.push(e)).feed(Buffer.from('$g#00'));
    expect(events[0].kind).toBe('bad-checksum');
  });

  it('escapes $ # } * in binary data and undoes it', () => {
    const raw = Uint8Array.of(0x24, 0x23, 0x7d, 0x2a, 0x41);
    const esc = escapeBinary(raw);
    expect(Array.from(esc)).toEqual([0x7d, 0x04, 0x7d, 0x03, 0x7d, 0x5d, 0x7d, 0x0a, 0x41]);
    expect(Array.from(unescapeBinary(esc)!)).toEqual(Array.from(raw));
    expect(unescapeBinary(Uint8Array.of(0x41, 0x7d))).toBeNull();
  });

  it('keeps an escaped # inside a binary packet', () => {
    const events: WireEvent[] = [];
    const payload = Buffer.concat([Buffer.from('X10,1:'), Buffer.from(escapeBinary(Uint8Array.of(0x23)))]);
    new PacketReader((e) => events.push(e)).feed(framePacket(payload));
    expect(events).toHaveLength(1);
    expect(events[0].kind).toBe('packet');
  });
});

describe('--gdb addresses', () => {
  it('reads tcp::PORT, tcp:HOST:PORT and a bare port', () => {
    expect(parseGdbAddress('tcp::1234')).toEqual({ host: null, port: 1234 });
    expect(parseGdbAddress('tcp:127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseGdbAddress('1234')).toEqual({ host: null, port: 1234 });
  });
  it('refuses what is not one, saying what to give', () => {
    expect(() => parseGdbAddress('unix:/tmp/x')).toThrow(/tcp:\[HOST\]:PORT/);
    expect(() => parseGdbAddress('tcp::70000')).toThrow(/not a TCP port/);
  });
});

/** A guest of 16 registers and two mapped pages at 0xc0100000, stopping when told. */
class FakeTarget implements DebugTarget {
  regs = Uint32Array.from({ length: 16 }, (_, i) => 0x1000 + i);
  readonly memory = new Uint8Array(0x2000);
  readonly base = 0xc0100000;
  readonly inserted: string[] = [];
  resumed: boolean[] = [];
  interrupts = 0;
  detached = 0;
  killed = 0;
  stopped = true;
  exited: number | null = null;
  /** An FPU, when the test gives one. */
  fpu: FpuRegisters | null = null;
  readFpu(): FpuRegisters | null {
    return this.fpu ? { ...this.fpu, st: this.fpu.st.slice() } : null;
  }
  writeFpu(regs: FpuRegisters): boolean {
    if (!this.fpu) return false;
    this.fpu = { ...regs, st: regs.st.slice() };
    return true;
  }

  readRegisters(out: Uint32Array): void {
    out.set(this.regs);
  }
  writeRegister(index: number, value: number): boolean {
    if (index === 10) return false; // cs may not change
    this.regs[index] = value;
    return true;
  }
  readMemory(addr: number, dest: Uint8Array): number {
    let n = 0;
    while (n < dest.length && addr + n - this.base >= 0 && addr + n - this.base < this.memory.length) {
      dest[n] = this.memory[addr + n - this.base];
      n++;
    }
    return n;
  }
  writeMemory(addr: number, bytes: Uint8Array): number {
    let n = 0;
    while (n < bytes.length && addr + n - this.base >= 0 && addr + n - this.base < this.memory.length) {
      this.memory[addr + n - this.base] = bytes[n];
      n++;
    }
    return n;
  }
  insertBreakpoint(kind: BreakpointKind, addr: number): boolean {
    this.inserted.push(`${kind}@${addr.toString(16)}`);
    return true;
  }
  removeBreakpoint(kind: BreakpointKind, addr: number): boolean {
    this.inserted.splice(this.inserted.indexOf(`${kind}@${addr.toString(16)}`), 1);
    return true;
  }
  insertWatchpoint(kind: WatchpointKind, addr: number, length: number): boolean {
    if (addr < this.base) return false; // only its own pages can be watched
    this.inserted.push(`${kind}@${addr.toString(16)}+${length}`);
    return true;
  }
  removeWatchpoint(kind: WatchpointKind, addr: number, length: number): boolean {
    this.inserted.splice(this.inserted.indexOf(`${kind}@${addr.toString(16)}+${length}`), 1);
    return true;
  }
  resume(step: boolean): void {
    this.stopped = false;
    this.resumed.push(step);
  }
  interrupt(): void {
    this.interrupts++;
  }
  detach(): void {
    this.detached++;
  }
  kill(): void {
    this.killed++;
  }
}

/** A session on a fake target, with gdb's side of the wire. */
function connect(target = new FakeTarget()) {
  const wire: string[] = [];
  let closed = false;
  const session = new GdbSession(target, { send: (b) => wire.push(text(b)), close: () => (closed = true) });
  const ask = (payload: string): string => {
    wire.length = 0;
    session.receive(framePacket(payload));
    return wire.join('');
  };
  const stop = (reason: StopReason): string => {
    wire.length = 0;
    session.targetStopped(reason);
    return wire.join('');
  };
  return { target, session, wire, ask, stop, closed: () => closed };
}

describe('a gdb session', () => {
  it('acks each packet until no-ack mode, then stops acking', () => {
    const s = connect();
    expect(s.ask('qSupported:multiprocess+;swbreak+')).toBe(
      `+${text(framePacket('PacketSize=4000;QStartNoAckMode+;vContSupported+'))}`,
    );
    expect(s.ask('QStartNoAckMode')).toBe('+$OK#9a');
    expect(s.ask('?')).toBe('$T05thread:01;#07');
  });

  it('asks for a resend of a corrupt packet and resends its own on -', () => {
    const s = connect();
    s.wire.length = 0;
    s.session.receive(Buffer.from('$g#00'));
    expect(s.wire.join('')).toBe('-');
    const reply = s.ask('qAttached');
    expect(reply).toBe('+$1#31');
    s.wire.length = 0;
    s.session.receive(Buffer.from('-'));
    expect(s.wire.join('')).toBe('$1#31');
  });

  it('answers the thread queries for one thread', () => {
    const s = connect();
    expect(s.ask('qfThreadInfo')).toContain('$m01#');
    expect(s.ask('qsThreadInfo')).toContain('$l#');
    expect(s.ask('qC')).toContain('$QC01#');
    expect(s.ask('Hg0')).toContain('$OK#');
    expect(s.ask('vCont?')).toContain('$vCont;c;C;s;S#');
    expect(s.ask('qUnknownThing')).toBe('+$#00');
  });

  it('reads the sixteen core registers little-endian in gdb order and writes one', () => {
    const s = connect();
    const g = s.ask('g');
    const body = /\$([0-9a-f]*)#/.exec(g)![1];
    expect(body).toHaveLength(16 * 8);
    expect(body.slice(0, 8)).toBe('00100000'); // eax = 0x1000
    expect(body.slice(8 * 8, 9 * 8)).toBe('08100000'); // eip = 0x1008
    expect(s.ask('P8=785634c0')).toContain('$OK#');
    expect(s.target.regs[8]).toBe(0xc0345678);
    expect(s.ask('p8')).toContain('$785634c0#');
    expect(s.ask('Pa=08000000')).toContain('$E01#'); // the target refused cs
    expect(s.ask('p10')).toContain('$E45#'); // st0: this CPU has no FPU
    expect(s.ask('p20')).toContain('$E45#'); // xmm0: never offered
  });

  it('sends the x87 registers after the core sixteen, reads and writes them one at a time', () => {
    const s = connect();
    const st = new Uint8Array(80);
    st.set([0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f], 0); // ST(0) = 1.0
    s.target.fpu = {
      st,
      fctrl: 0x37f,
      fstat: 0x3800,
      ftag: 0x3fff,
      fiseg: 0x61,
      fioff: 0xc0101234,
      foseg: 0x69,
      fooff: 0xc0200000,
      fop: 0x1e8,
    };
    const body = /\$([0-9a-f]*)#/.exec(s.ask('g'))![1];
    expect(body).toHaveLength((16 * 4 + 80 + 32) * 2);
    expect(body.slice(128, 148)).toBe('0000000000000080ff3f'); // st0
    expect(body.slice(288, 296)).toBe('7f030000'); // fctrl, register 24
    expect(body.slice(288 + 8 * 7, 288 + 8 * 8)).toBe('e8010000'); // fop, register 31
    expect(s.ask('p10')).toContain('$0000000000000080ff3f#');
    expect(s.ask('p19')).toContain('$00380000#'); // fstat
    expect(s.ask('p1c')).toContain('$341210c0#'); // fioff
    expect(s.ask('P11=00000000000000c00040')).toContain('$OK#'); // st1 = 3.0
    expect(Array.from(s.target.fpu.st.subarray(10, 20))).toEqual([0, 0, 0, 0, 0, 0, 0, 0xc0, 0x00, 0x40]);
    expect(s.ask('P18=7f020000')).toContain('$OK#');
    expect(s.target.fpu.fctrl).toBe(0x27f);
    expect(s.ask('P11=0000')).toContain('$E01#');
    // G with the x87 part: a change there is written; the core registers as before.
    const g = /\$([0-9a-f]*)#/.exec(s.ask('g'))![1];
    expect(s.ask(`G${g.slice(0, 128)}00000000000000800040${g.slice(148)}`)).toContain('$OK#');
    expect(Array.from(s.target.fpu.st.subarray(0, 10))).toEqual([0, 0, 0, 0, 0, 0, 0, 0x80, 0x00, 0x40]);
  });

  it('writes all registers with G, changing only those that differ', () => {
    const s = connect();
    const regs = Array.from(s.target.regs);
    regs[0] = 0xdeadbeef;
    const hex = regs.map((v) => Buffer.from(Uint32Array.of(v).buffer).toString('hex')).join('');
    expect(s.ask(`G${hex}`)).toContain('$OK#');
    expect(s.target.regs[0]).toBe(0xdeadbeef);
  });

  it('reads and writes memory, and says E14 for an unmapped address', () => {
    const s = connect();
    s.target.memory.set([0x55, 0x89, 0xe5], 0x10);
    expect(s.ask('mc0100010,3')).toContain('$5589e5#');
    expect(s.ask('M c0100020,2:cafe'.replace(' ', ''))).toContain('$OK#');
    expect(Array.from(s.target.memory.subarray(0x20, 0x22))).toEqual([0xca, 0xfe]);
    const bin = Buffer.concat([Buffer.from('Xc0100030,2:'), Buffer.from(escapeBinary(Uint8Array.of(0x24, 0x7d)))]);
    s.wire.length = 0;
    s.session.receive(framePacket(bin));
    expect(s.wire.join('')).toContain('$OK#');
    expect(Array.from(s.target.memory.subarray(0x30, 0x32))).toEqual([0x24, 0x7d]);
    expect(s.ask('m0,4')).toContain('$E14#');
    // A read running off the end gives what was readable.
    expect(s.ask('mc0101ffe,4')).toContain('$0000#');
    expect(s.ask('M0,1:00')).toContain('$E14#');
    expect(s.ask('mzz')).toContain('$E01#');
  });

  it('inserts and removes software and hardware breakpoints', () => {
    const s = connect();
    expect(s.ask('Z0,c0100000,1')).toContain('$OK#');
    expect(s.ask('Z1,c0100004,1')).toContain('$OK#');
    expect(s.target.inserted).toEqual(['software@c0100000', 'hardware@c0100004']);
    expect(s.ask('z0,c0100000,1')).toContain('$OK#');
    expect(s.target.inserted).toEqual(['hardware@c0100004']);
    expect(s.ask('Z5,c0100000,1')).toBe('+$#00');
  });

  it('inserts and removes write, read and access watchpoints (Z2–Z4), the kind field their length', () => {
    const s = connect();
    expect(s.ask('Z2,c0100010,4')).toContain('$OK#');
    expect(s.ask('Z3,c0100020,1')).toContain('$OK#');
    expect(s.ask('Z4,c0100030,8')).toContain('$OK#');
    // gdb inserting the same one again (after a stop) is not a second one.
    expect(s.ask('Z2,c0100010,4')).toContain('$OK#');
    expect(s.target.inserted).toEqual(['write@c0100010+4', 'read@c0100020+1', 'access@c0100030+8']);
    expect(s.ask('z3,c0100020,1')).toContain('$OK#');
    expect(s.target.inserted).toEqual(['write@c0100010+4', 'access@c0100030+8']);
    // A target that cannot, a length of nothing, too long, or past the end of the address space.
    expect(s.ask('Z2,1000,4')).toContain('$E01#');
    expect(s.ask('Z2,c0100010,0')).toContain('$E01#');
    expect(s.ask('Z2,c0100010,100001')).toContain('$E01#');
    expect(s.ask('Z4,fffffffe,4')).toContain('$E01#');
    expect(s.ask('Z2,c0100010')).toContain('$E01#');
  });

  it('reports a watchpoint stop as watch, rwatch or awatch with the address', () => {
    const s = connect();
    s.ask('c');
    expect(s.stop({ kind: 'watch', watch: 'write', address: 0xc0100012 })).toBe(
      text(framePacket('T05watch:c0100012;thread:01;')),
    );
    s.ask('c');
    expect(s.stop({ kind: 'watch', watch: 'read', address: 0xc0100020 })).toContain('$T05rwatch:c0100020;thread:01;#');
    s.ask('c');
    expect(s.stop({ kind: 'watch', watch: 'access', address: 0xc0100030 })).toContain(
      '$T05awatch:c0100030;thread:01;#',
    );
  });

  it('replies to a continue only when the target stops, and passes Ctrl-C on', () => {
    const s = connect();
    expect(s.ask('vCont;c')).toBe('+');
    expect(s.target.resumed).toEqual([false]);
    s.wire.length = 0;
    s.session.receive(Uint8Array.of(0x03));
    expect(s.target.interrupts).toBe(1);
    expect(s.stop({ kind: 'interrupted' })).toBe('$T02thread:01;#04');
    expect(s.ask('s')).toBe('+');
    expect(s.target.resumed).toEqual([false, true]);
    expect(s.stop({ kind: 'trap' })).toBe('$T05thread:01;#07');
    // A stop nobody waits for is not reported.
    expect(s.stop({ kind: 'trap' })).toBe('');
  });

  it('stops a running guest when gdb attaches, answering ? with that stop', () => {
    const target = new FakeTarget();
    target.stopped = false;
    const s = connect(target);
    expect(s.ask('?')).toBe('+');
    expect(target.interrupts).toBe(1);
    expect(s.stop({ kind: 'interrupted' })).toBe('$T02thread:01;#04');
  });

  it('resumes at an address given with c', () => {
    const s = connect();
    s.ask('cc0100040');
    expect(s.target.regs[8]).toBe(0xc0100040);
  });

  it('tells gdb the guest ended, and closes', () => {
    const s = connect();
    s.ask('c');
    expect(s.stop({ kind: 'exited', status: 0 })).toBe('$W00#b7');
    expect(s.closed()).toBe(true);
  });

  it('detaches on D and on a dropped connection, kills on k', () => {
    const s = connect();
    expect(s.ask('D')).toContain('$OK#');
    expect(s.target.detached).toBe(1);
    expect(s.closed()).toBe(true);
    const t = connect();
    t.session.disconnected();
    expect(t.target.detached).toBe(1);
    const k = connect();
    k.ask('k');
    expect(k.target.killed).toBe(1);
    expect(k.closed()).toBe(true);
  });
});
