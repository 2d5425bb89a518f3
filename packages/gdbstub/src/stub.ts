// One gdb connection: the commands of the remote serial protocol, answered from a
// DebugTarget. The session is a state machine driven by two things only — bytes from gdb
// (`receive`) and the target's stops (`targetStopped`) — and it writes bytes with `send`,
// so the tests drive it without a socket or a guest.
//
// gdb's conversation goes: `+`, qSupported (we say PacketSize and no-ack mode), `?` (why
// stopped), `g` (registers), `m` (memory) ... then `Z0` breakpoints and `vCont;c` or `c`.
// While the guest runs, the only thing gdb may send is Ctrl-C (0x03); the reply to the
// resume is the stop reply (`T05thread:01;`) whenever the guest stops. The guest is one
// thread, id 1.

import {
  framePacket,
  fromHex,
  MAX_PACKET,
  PacketReader,
  parseHexNumber,
  parseLe32Hex,
  toHex,
  le32Hex,
  unescapeBinary,
  type WireEvent,
} from './packets';
import {
  I386_REGISTER_COUNT,
  type BreakpointKind,
  type DebugTarget,
  type FpuRegisters,
  type StopReason,
  type WatchpointKind,
} from './target';

/** Signal numbers in stop replies: gdb's SIGINT and SIGTRAP. */
const SIGINT = 2;
const SIGTRAP = 5;
/** The largest memory read we answer in one `m` (two hex digits a byte, within the packet). */
const MAX_READ = (MAX_PACKET - 16) >> 1;
/** The longest range one watchpoint may cover (gdb splits nothing for a remote target). */
export const MAX_WATCH_LENGTH = 1 << 20;
/** gdb's first x87 register number (st0), its first control word (fctrl), and the end. */
const ST0 = 16;
const FCTRL = 24;
const FPU_END = 32;
/** The eight 32-bit words after ST(0)–ST(7), in gdb's order. */
const FPU_WORDS = ['fctrl', 'fstat', 'ftag', 'fiseg', 'fioff', 'foseg', 'fooff', 'fop'] as const;
/** Hex digits of the x87 registers in a `g` packet: 8 × 10 bytes and 8 words. */
const FPU_HEX = (80 + 32) * 2;
/** Z2, Z3, Z4 and the stop reply's name for each. */
const WATCH_TYPES: Record<string, WatchpointKind> = { '2': 'write', '3': 'read', '4': 'access' };
const WATCH_REPLY: Record<WatchpointKind, string> = { write: 'watch', read: 'rwatch', access: 'awatch' };

export interface SessionOptions {
  /** Bytes for gdb. */
  readonly send: (bytes: Uint8Array) => void;
  /** The session is over (k, D, or the guest ended): close the connection. */
  readonly close: () => void;
  /** A protocol line for -v (what gdb asked that we could not do, and why). */
  readonly log?: (line: string) => void;
}

export class GdbSession {
  private readonly reader: PacketReader;
  private noAck = false;
  /** A resume is outstanding: its stop reply goes out when the target stops. */
  private running = false;
  /** The last packet we sent, for a `-` (resend). */
  private lastSent: Uint8Array | null = null;
  private closed = false;
  private readonly regs = new Uint32Array(I386_REGISTER_COUNT);
  private readonly breakpoints = new Set<string>();
  private readonly watchpoints = new Set<string>();

  constructor(
    private readonly target: DebugTarget,
    private readonly options: SessionOptions,
  ) {
    this.reader = new PacketReader((e) => this.onWire(e));
  }

  /** Bytes from gdb. */
  receive(bytes: Uint8Array): void {
    if (!this.closed) this.reader.feed(bytes);
  }

  /** The target stopped (or ended): send the reply a resume is waiting for. */
  targetStopped(reason: StopReason): void {
    if (this.closed) return;
    if (reason.kind === 'exited') {
      // gdb learns of the end whether it was waiting or not: it is the last thing it hears.
      this.reply(`W${(reason.status & 0xff).toString(16).padStart(2, '0')}`);
      this.finish();
      return;
    }
    if (!this.running) return;
    this.running = false;
    this.reply(stopReply(reason));
  }

  /** The connection went away: let the guest run free of us. */
  disconnected(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.target.exited === null) this.target.detach();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.options.close();
  }

  private onWire(e: WireEvent): void {
    switch (e.kind) {
      case 'ack':
        return;
      case 'nack':
        if (this.lastSent) this.options.send(this.lastSent);
        return;
      case 'bad-checksum':
        if (!this.noAck) this.options.send(Uint8Array.of(0x2d));
        return;
      case 'interrupt':
        if (this.running) this.target.interrupt();
        return;
      case 'packet':
        if (!this.noAck) this.options.send(Uint8Array.of(0x2b));
        this.command(e.payload);
        return;
    }
  }

  private reply(payload: string | Uint8Array): void {
    const bytes = framePacket(payload);
    this.lastSent = this.noAck ? null : bytes;
    this.options.send(bytes);
  }

  /** One command from gdb. Unknown commands get the empty reply, as the protocol says. */
  private command(payload: Uint8Array): void {
    const text = Buffer.from(payload).toString('latin1');
    if (this.target.exited !== null && !/^(q|\?|D|k)/.test(text)) {
      this.reply('E01');
      return;
    }
    if (this.running) {
      // Only Ctrl-C is meaningful while the guest runs (we offer no non-stop mode).
      this.options.log?.(`gdb sent '${text.slice(0, 20)}' while the guest runs: ignored`);
      return;
    }
    switch (text[0]) {
      case '?':
        if (this.target.exited !== null) return this.reply(`W${this.target.exited.toString(16).padStart(2, '0')}`);
        if (!this.target.stopped) {
          // A debugger attaching to a running guest stops it first (as QEMU does): the
          // answer is the stop, whenever it comes.
          this.running = true;
          this.target.interrupt();
          return;
        }
        return this.reply(stopReply({ kind: 'trap' }));
      case 'g':
        return this.readRegisters();
      case 'G':
        return this.writeRegisters(text.slice(1));
      case 'p':
        return this.readRegister(text.slice(1));
      case 'P':
        return this.writeRegister(text.slice(1));
      case 'm':
        return this.readMemory(text.slice(1));
      case 'M':
        return this.writeMemoryHex(text.slice(1));
      case 'X':
        return this.writeMemoryBinary(payload);
      case 'c':
        return this.resume(false, text.slice(1));
      case 's':
        return this.resume(true, text.slice(1));
      case 'Z':
      case 'z':
        return this.breakpoint(text[0] === 'Z', text.slice(1));
      case 'H':
        // Select a thread for later operations: we have one, so any choice is it.
        return this.reply('OK');
      case 'T':
        // Is thread alive? Only ours.
        return this.reply(text === 'T1' || text === 'T01' ? 'OK' : 'E01');
      case 'k':
        this.target.kill();
        return this.finish();
      case 'D':
        this.reply('OK');
        this.target.detach();
        return this.finish();
      case 'v':
        return this.vCommand(text);
      case 'q':
      case 'Q':
        return this.query(text);
      default:
        return this.reply('');
    }
  }

  private query(text: string): void {
    if (text.startsWith('qSupported')) {
      return this.reply(`PacketSize=${MAX_PACKET.toString(16)};QStartNoAckMode+;vContSupported+`);
    }
    if (text === 'QStartNoAckMode') {
      // The OK still goes out with an ack from gdb; from the next packet on, neither side acks.
      this.reply('OK');
      this.noAck = true;
      return;
    }
    if (text === 'qAttached') return this.reply('1');
    if (text === 'qC') return this.reply('QC01');
    if (text === 'qfThreadInfo') return this.reply('m01');
    if (text === 'qsThreadInfo') return this.reply('l');
    if (text.startsWith('qThreadExtraInfo')) return this.reply(toHex(Buffer.from('guest CPU')));
    if (text === 'qOffsets') return this.reply('Text=0;Data=0;Bss=0');
    if (text === 'qSymbol::') return this.reply('OK');
    return this.reply('');
  }

  private vCommand(text: string): void {
    if (text === 'vCont?') return this.reply('vCont;c;C;s;S');
    if (text.startsWith('vCont;')) {
      // One thread: the first action that applies to it (or to all) decides.
      const action = text.slice(6).split(';')[0];
      const verb = action.split(':')[0];
      if (verb === 'c' || /^C[0-9a-fA-F]{2}$/.test(verb)) return this.resume(false, '');
      if (verb === 's' || /^S[0-9a-fA-F]{2}$/.test(verb)) return this.resume(true, '');
      return this.reply('E01');
    }
    if (text.startsWith('vKill')) {
      this.target.kill();
      this.reply('OK');
      return this.finish();
    }
    if (text === 'vMustReplyEmpty') return this.reply('');
    return this.reply('');
  }

  private readRegisters(): void {
    this.target.readRegisters(this.regs);
    let s = '';
    for (let i = 0; i < I386_REGISTER_COUNT; i++) s += le32Hex(this.regs[i]);
    // The x87 registers follow, where gdb's i386 layout has them (a CPU without one: not sent).
    const fpu = this.target.readFpu();
    if (fpu) s += fpuHex(fpu);
    this.reply(s);
  }

  private writeRegisters(hex: string): void {
    if (hex.length < I386_REGISTER_COUNT * 8) return this.reply('E01');
    for (let i = 0; i < I386_REGISTER_COUNT; i++) {
      const v = parseLe32Hex(hex.slice(i * 8, i * 8 + 8));
      if (v === null) return this.reply('E01');
      this.regs[i] = v;
    }
    const fpuPart = hex.slice(I386_REGISTER_COUNT * 8, I386_REGISTER_COUNT * 8 + FPU_HEX);
    const fpuNow = fpuPart.length === FPU_HEX ? this.target.readFpu() : null;
    const fpu = fpuNow ? parseFpuHex(fpuPart) : null;
    if (fpuNow && !fpu) return this.reply('E01');
    // Write only what changed: a segment register that did not change must not be refused.
    const now = new Uint32Array(I386_REGISTER_COUNT);
    this.target.readRegisters(now);
    for (let i = 0; i < I386_REGISTER_COUNT; i++) {
      if (now[i] !== this.regs[i] && !this.target.writeRegister(i, this.regs[i])) return this.reply('E01');
    }
    if (fpu && fpuNow && fpuHex(fpu) !== fpuHex(fpuNow) && !this.target.writeFpu(fpu)) return this.reply('E01');
    this.reply('OK');
  }

  private readRegister(arg: string): void {
    const n = parseHexNumber(arg);
    if (n === null) return this.reply('E01');
    if (n >= ST0 && n < FPU_END) {
      const fpu = this.target.readFpu();
      if (!fpu) return this.reply('E45');
      return this.reply(fpuRegisterHex(fpu, n));
    }
    // Beyond the core and x87 registers (SSE) we offer nothing: gdb shows them unavailable.
    if (n >= I386_REGISTER_COUNT) return this.reply('E45');
    this.target.readRegisters(this.regs);
    this.reply(le32Hex(this.regs[n]));
  }

  private writeRegister(arg: string): void {
    const [num, value] = arg.split('=');
    const n = parseHexNumber(num ?? '');
    if (n !== null && n >= ST0 && n < FPU_END) return this.writeFpuRegister(n, value ?? '');
    const v = parseLe32Hex(value ?? '');
    if (n === null || v === null || n >= I386_REGISTER_COUNT) return this.reply('E01');
    this.reply(this.target.writeRegister(n, v) ? 'OK' : 'E01');
  }

  /** `P` of an x87 register: read them all, change the one, write them back. */
  private writeFpuRegister(n: number, hex: string): void {
    const fpu = this.target.readFpu();
    if (!fpu) return this.reply('E01');
    if (n < FCTRL) {
      const bytes = hex.length === 20 ? fromHex(hex) : null;
      if (!bytes) return this.reply('E01');
      fpu.st.set(bytes, (n - ST0) * 10);
    } else {
      const v = parseLe32Hex(hex);
      if (v === null) return this.reply('E01');
      fpu[FPU_WORDS[n - FCTRL]] = v;
    }
    this.reply(this.target.writeFpu(fpu) ? 'OK' : 'E01');
  }

  /** "ADDR,LENGTH" → [addr, length], or null. */
  private static addrLength(arg: string): [number, number] | null {
    const [a, l] = arg.split(',');
    const addr = parseHexNumber(a ?? '');
    const length = parseHexNumber(l ?? '');
    return addr === null || length === null ? null : [addr, length];
  }

  private readMemory(arg: string): void {
    const al = GdbSession.addrLength(arg);
    if (!al) return this.reply('E01');
    const [addr, length] = al;
    const buf = new Uint8Array(Math.min(length, MAX_READ));
    const n = this.target.readMemory(addr, buf);
    // Part of it readable: that part (gdb asks again for the rest); none: EFAULT.
    this.reply(n === 0 && length > 0 ? 'E14' : toHex(buf.subarray(0, n)));
  }

  private writeMemoryHex(arg: string): void {
    const colon = arg.indexOf(':');
    const al = GdbSession.addrLength(arg.slice(0, colon < 0 ? arg.length : colon));
    const data = colon < 0 ? null : fromHex(arg.slice(colon + 1));
    if (!al || !data || data.length !== al[1]) return this.reply('E01');
    this.reply(this.target.writeMemory(al[0], data) === data.length ? 'OK' : 'E14');
  }

  private writeMemoryBinary(payload: Uint8Array): void {
    const colon = payload.indexOf(0x3a);
    if (colon < 0) return this.reply('E01');
    const al = GdbSession.addrLength(Buffer.from(payload.subarray(1, colon)).toString('latin1'));
    const data = unescapeBinary(payload.subarray(colon + 1));
    if (!al || !data || data.length !== al[1]) return this.reply('E01');
    this.reply(this.target.writeMemory(al[0], data) === data.length ? 'OK' : 'E14');
  }

  private resume(step: boolean, arg: string): void {
    if (arg !== '') {
      // `c ADDR` / `s ADDR`: resume at ADDR.
      const addr = parseHexNumber(arg);
      if (addr === null || !this.target.writeRegister(8, addr)) return this.reply('E01');
    }
    this.running = true;
    this.target.resume(step);
  }

  private breakpoint(insert: boolean, arg: string): void {
    const [type, a, k] = arg.split(',');
    const addr = parseHexNumber(a ?? '');
    if (addr === null || k === undefined) return this.reply('E01');
    const watch = WATCH_TYPES[type ?? ''];
    if (watch !== undefined) return this.watchpoint(insert, watch, addr, k);
    let kind: BreakpointKind;
    if (type === '0') kind = 'software';
    else if (type === '1') kind = 'hardware';
    else return this.reply('');
    const key = `${kind}:${addr}`;
    if (insert) {
      if (this.breakpoints.has(key)) return this.reply('OK');
      if (!this.target.insertBreakpoint(kind, addr)) return this.reply('E01');
      this.breakpoints.add(key);
    } else {
      if (this.breakpoints.delete(key)) this.target.removeBreakpoint(kind, addr);
    }
    this.reply('OK');
  }

  /** Z2–Z4 / z2–z4: the KIND field of a watchpoint is its length in bytes. */
  private watchpoint(insert: boolean, kind: WatchpointKind, addr: number, lengthHex: string): void {
    const length = parseHexNumber(lengthHex);
    if (length === null || length < 1 || length > MAX_WATCH_LENGTH || addr + length > 0x100000000) {
      this.options.log?.(`gdb asked for a watchpoint of ${lengthHex} bytes at 0x${addr.toString(16)}: refused`);
      return this.reply('E01');
    }
    const key = `${kind}:${addr}:${length}`;
    if (insert) {
      if (this.watchpoints.has(key)) return this.reply('OK');
      if (!this.target.insertWatchpoint(kind, addr, length)) return this.reply('E01');
      this.watchpoints.add(key);
    } else if (this.watchpoints.delete(key)) this.target.removeWatchpoint(kind, addr, length);
    this.reply('OK');
  }
}

/** The x87 registers as they follow the core sixteen in a `g` packet. */
function fpuHex(fpu: FpuRegisters): string {
  let s = toHex(fpu.st.subarray(0, 80));
  for (const w of FPU_WORDS) s += le32Hex(fpu[w]);
  return s;
}

function fpuRegisterHex(fpu: FpuRegisters, n: number): string {
  if (n < FCTRL) return toHex(fpu.st.subarray((n - ST0) * 10, (n - ST0) * 10 + 10));
  return le32Hex(fpu[FPU_WORDS[n - FCTRL]]);
}

function parseFpuHex(hex: string): FpuRegisters | null {
  const st = fromHex(hex.slice(0, 160));
  if (!st || st.length !== 80) return null;
  const words: number[] = [];
  for (let i = 0; i < 8; i++) {
    const v = parseLe32Hex(hex.slice(160 + i * 8, 168 + i * 8));
    if (v === null) return null;
    words.push(v);
  }
  const [fctrl, fstat, ftag, fiseg, fioff, foseg, fooff, fop] = words;
  return { st, fctrl, fstat, ftag, fiseg, fioff, foseg, fooff, fop };
}

function stopReply(reason: StopReason): string {
  const signal = reason.kind === 'interrupted' ? SIGINT : SIGTRAP;
  const watch = reason.kind === 'watch' ? `${WATCH_REPLY[reason.watch]}:${reason.address.toString(16)};` : '';
  return `T${signal.toString(16).padStart(2, '0')}${watch}thread:01;`;
}
