// TCP, one connection between the guest and the host side of the user-mode network (RFC 793,
// with the retransmission timer of RFC 6298 in its simplest form). The stack owns the
// segments' headers; a connection owns the state machine and the two byte streams:
//
//  * host → guest: `write` queues bytes in a fixed ring (the send buffer). They go out in
//    segments of at most the guest's MSS, never beyond the window the guest advertised, and
//    stay in the ring until acknowledged. If nothing is acknowledged for one RTO, everything
//    unacknowledged is sent again (go-back-N), the RTO doubling each time; after
//    MAX_RETRIES the connection is reset. A zero window is probed with one byte on the same
//    timer.
//  * guest → host: in-order bytes go straight to the host side (`onData`); a segment that
//    is not the next expected one is dropped and answered with an ACK for what we do expect,
//    which is how the guest's own fast retransmit learns of the gap. While the host side
//    says it is full (`onData` returned false) we advertise a zero window; `resume()`
//    reopens it.
//
// We are an endpoint that lives in memory, so TIME_WAIT is not kept (no old duplicates can
// reach us from a network) and there is no congestion control: the guest's buffers are the
// only queue, and its window is the limit.

import { copyBytes, seqAdd, seqDiff, seqLe, seqLt, TCP_MSS } from './wire';

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export type TcpState =
  | 'SYN_SENT'
  | 'SYN_RCVD'
  | 'ESTABLISHED'
  | 'FIN_WAIT_1'
  | 'FIN_WAIT_2'
  | 'CLOSE_WAIT'
  | 'CLOSING'
  | 'LAST_ACK'
  | 'CLOSED';

/** The send buffer's size: the most host bytes queued for the guest per connection. */
export const SEND_BUFFER = 64 * 1024;
/** The window we advertise while the host side takes data. */
export const RECEIVE_WINDOW = 65535;
export const INITIAL_RTO_MS = 1000;
export const MAX_RTO_MS = 16000;
export const MAX_RETRIES = 8;

/**
 * A segment as the stack parsed it: one record the stack refills for every frame, its payload
 * `length` bytes of `data` (the frame) from `start`; valid for one call.
 */
export interface Segment {
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** The MSS option of a SYN, or 0. */
  mss: number;
  data: Uint8Array;
  start: number;
  length: number;
}

/** What the connection needs from the stack: a way to send one segment. */
export interface SegmentSink {
  /** The payload is `length` bytes of `data` from `start`, valid during the call. */
  sendSegment(
    conn: TcpConnection,
    seq: number,
    flags: number,
    data: Uint8Array,
    start: number,
    length: number,
    withMss: boolean,
  ): void;
}

/** The host side of a connection (a Node socket, in the device; a recorder in tests). */
export interface TcpPeer {
  /** The handshake completed. */
  established?(conn: TcpConnection): void;
  /**
   * In-order bytes from the guest: `length` bytes of `data` from `start`, valid during the
   * call (copy to keep). False asks for a zero window.
   */
  data(conn: TcpConnection, data: Uint8Array, start: number, length: number): boolean;
  /** The guest acknowledged data: there is room in the send buffer again. */
  drained?(conn: TcpConnection): void;
  /** The guest will send no more (its FIN). */
  end(conn: TcpConnection): void;
  /** The connection is over: closed both ways, reset, or timed out. */
  closed(conn: TcpConnection, reason: string): void;
}

export class TcpConnection {
  state: TcpState;
  peer: TcpPeer | null = null;
  /** Host → guest: first unacknowledged, next to send, our initial sequence number. */
  sndUna: number;
  sndNxt: number;
  readonly iss: number;
  /** The guest's window and MSS. */
  sndWnd = 0;
  mss = 536;
  /** Guest → host: the next sequence number we expect. */
  rcvNxt = 0;
  /** Retransmission: when the oldest unacknowledged segment times out, and the backoff. */
  rtoMs = INITIAL_RTO_MS;
  retries = 0;
  deadlineMs = Infinity;
  /** Counters for tests and the benchmark. */
  retransmits = 0;
  segmentsIn = 0;
  segmentsOut = 0;

  private readonly ring = new Uint8Array(SEND_BUFFER);
  /** Bytes in the ring; the first of them has sequence number `bufSeq`. */
  private queued = 0;
  private head = 0;
  private bufSeq: number;
  private finQueued = false;
  /** The highest sequence number ever sent (an ACK after a go-back-N may reach up to it). */
  private highestSent: number;
  private paused = false;
  private ackNeeded = false;

  constructor(
    private readonly sink: SegmentSink,
    readonly guestIp: number,
    readonly guestPort: number,
    readonly hostIp: number,
    readonly hostPort: number,
    iss: number,
    active: boolean,
    private nowMs: number,
  ) {
    this.iss = iss >>> 0;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.bufSeq = seqAdd(this.iss, 1);
    this.highestSent = this.iss;
    this.state = active ? 'SYN_SENT' : 'SYN_RCVD';
  }

  /** Free room in the send buffer. */
  get sendSpace(): number {
    return this.finQueued ? 0 : SEND_BUFFER - this.queued;
  }

  /** Host bytes queued for the guest and not yet acknowledged. */
  get unacknowledged(): number {
    return this.queued;
  }

  /** The window we advertise now. */
  get receiveWindow(): number {
    return this.paused ? 0 : RECEIVE_WINDOW;
  }

  /**
   * Queue bytes[start…end) for the guest; returns how many fit (the rest must wait for
   * `sendSpace`).
   */
  write(bytes: Uint8Array, start = 0, end = bytes.length): number {
    if (this.finQueued || this.state === 'CLOSED') return 0;
    const n = Math.min(end - start, SEND_BUFFER - this.queued);
    const tail = (this.head + this.queued) % SEND_BUFFER;
    const first = Math.min(n, SEND_BUFFER - tail);
    copyBytes(this.ring, tail, bytes, start, first);
    if (n > first) copyBytes(this.ring, 0, bytes, start + first, n - first);
    this.queued += n;
    this.output();
    return n;
  }

  /** No more host bytes: a FIN follows the queued ones. */
  end(): void {
    if (this.finQueued || this.state === 'CLOSED') return;
    this.finQueued = true;
    this.output();
  }

  /** Reset the connection (host side failed). */
  abort(reason: string): void {
    if (this.state === 'CLOSED') return;
    if (this.state !== 'SYN_SENT') this.sink.sendSegment(this, this.sndNxt, TCP_RST | TCP_ACK, EMPTY, 0, 0, false);
    this.close(reason);
  }

  /** The host side can take data again: reopen the window. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.sendAck();
  }

  /** Active open (hostfwd): send our SYN. */
  connect(): void {
    this.sendSyn();
  }

  // ------------------------------------------------------------------ input

  /** A segment from the guest for this connection. */
  input(seg: Segment, nowMs: number): void {
    this.nowMs = nowMs;
    this.segmentsIn++;
    if (this.state === 'CLOSED') return;
    if (seg.flags & TCP_RST) {
      // Acceptable if it is in the window (or answers our SYN).
      if (this.state === 'SYN_SENT' ? seg.ack === seqAdd(this.iss, 1) : seqLe(this.rcvNxt, seg.seq)) {
        this.close('connection reset by the guest');
      }
      return;
    }
    if (this.state === 'SYN_SENT') {
      if (!(seg.flags & TCP_SYN) || !(seg.flags & TCP_ACK) || seg.ack !== seqAdd(this.iss, 1)) {
        if (seg.flags & TCP_ACK) this.sink.sendSegment(this, seg.ack, TCP_RST, EMPTY, 0, 0, false);
        return;
      }
      this.rcvNxt = seqAdd(seg.seq, 1);
      if (seg.mss) this.mss = Math.min(seg.mss, TCP_MSS);
      this.acknowledge(seg.ack, seg.window);
      this.state = 'ESTABLISHED';
      this.sendAck();
      this.peer?.established?.(this);
      this.output();
      return;
    }
    if (seg.flags & TCP_SYN) {
      // A retransmitted SYN in SYN_RCVD: our SYN-ACK was lost. Anything else: ignore it.
      if (this.state === 'SYN_RCVD' && seg.seq === seqAdd(this.rcvNxt, -1)) this.sendSyn();
      else this.sendAck();
      return;
    }
    if (!(seg.flags & TCP_ACK)) return;
    if (this.state === 'SYN_RCVD') {
      if (seg.ack !== seqAdd(this.iss, 1)) {
        this.sink.sendSegment(this, seg.ack, TCP_RST, EMPTY, 0, 0, false);
        return;
      }
      this.state = 'ESTABLISHED';
      this.peer?.established?.(this);
    }
    this.acknowledge(seg.ack, seg.window);
    if (this.isClosed()) return;

    // Data and FIN, in order only.
    const len = seg.length;
    if (len > 0 || seg.flags & TCP_FIN) {
      if (seg.seq !== this.rcvNxt) {
        // Old (retransmitted) or out of order: tell the guest what we expect.
        this.sendAck();
      } else {
        if (len > 0 && this.receiving()) {
          this.rcvNxt = seqAdd(this.rcvNxt, len);
          this.ackNeeded = true;
          if (this.peer && !this.peer.data(this, seg.data, seg.start, len)) this.paused = true;
        }
        if (seg.flags & TCP_FIN && this.receiving()) {
          this.rcvNxt = seqAdd(this.rcvNxt, 1);
          this.ackNeeded = true;
          this.finReceived();
          if (this.isClosed()) {
            this.sendAck();
            return;
          }
        }
      }
    }
    this.output();
    if (this.ackNeeded) this.sendAck();
  }

  /** Retransmission timer: call with the time now; resends when the oldest segment timed out. */
  tick(nowMs: number): void {
    this.nowMs = nowMs;
    if (this.state === 'CLOSED' || nowMs < this.deadlineMs) return;
    if (++this.retries > MAX_RETRIES) {
      this.abort('timed out: the guest acknowledged nothing');
      return;
    }
    this.rtoMs = Math.min(this.rtoMs * 2, MAX_RTO_MS);
    this.retransmits++;
    // Go back to the oldest unacknowledged byte and send again.
    this.sndNxt = this.sndUna;
    this.deadlineMs = Infinity;
    if (this.state === 'SYN_SENT' || this.state === 'SYN_RCVD') this.sendSyn();
    else this.output(true);
  }

  // ------------------------------------------------------------------ inside

  /** A method, so TypeScript does not narrow `state` across the calls that change it. */
  private isClosed(): boolean {
    return this.state === 'CLOSED';
  }

  private receiving(): boolean {
    return this.state === 'ESTABLISHED' || this.state === 'FIN_WAIT_1' || this.state === 'FIN_WAIT_2';
  }

  /** An ACK from the guest: drop what it covers from the ring, move the state on. */
  private acknowledge(ack: number, window: number): void {
    if (seqLt(this.sndNxt, ack)) {
      // Acknowledges what we never sent (possible after a go-back): take it up to what we had.
      if (seqLe(ack, this.highestSent)) this.sndNxt = ack;
      else return void this.sendAck();
    }
    this.sndWnd = window;
    if (!seqLt(this.sndUna, ack)) return;
    this.sndUna = ack;
    this.retries = 0;
    this.rtoMs = INITIAL_RTO_MS;
    // The SYN takes one sequence number and no buffer space.
    if (seqLt(this.bufSeq, ack)) {
      const fromBuf = Math.min(seqDiff(ack, this.bufSeq), this.queued);
      this.head = (this.head + fromBuf) % SEND_BUFFER;
      this.queued -= fromBuf;
      this.bufSeq = seqAdd(this.bufSeq, fromBuf);
    }
    this.deadlineMs = this.sndUna === this.sndNxt ? Infinity : this.nowMs + this.rtoMs;
    if (this.finQueued && this.queued === 0 && ack === seqAdd(this.finSeq, 1)) this.finAcked();
    else if (!this.finQueued && this.state !== 'CLOSED') this.peer?.drained?.(this);
  }

  /** The sequence number of our FIN: just past the last byte queued. */
  private get finSeq(): number {
    return seqAdd(this.bufSeq, this.queued);
  }

  private finReceived(): void {
    this.peer?.end(this);
    switch (this.state) {
      case 'ESTABLISHED':
        this.state = 'CLOSE_WAIT';
        break;
      case 'FIN_WAIT_1':
        this.state = 'CLOSING';
        break;
      case 'FIN_WAIT_2':
        this.close('closed');
        break;
    }
  }

  private finAcked(): void {
    switch (this.state) {
      case 'FIN_WAIT_1':
        this.state = 'FIN_WAIT_2';
        break;
      case 'CLOSING':
      case 'LAST_ACK':
        this.close('closed');
        break;
    }
  }

  /** Send what the window allows; the FIN once the ring is empty. */
  private output(retransmit = false): void {
    if (this.state === 'SYN_SENT' || this.state === 'SYN_RCVD' || this.state === 'CLOSED') return;
    const canSend = this.state === 'ESTABLISHED' || this.state === 'CLOSE_WAIT' || this.finQueued;
    if (!canSend) return;
    for (;;) {
      const offset = seqDiff(this.sndNxt, this.bufSeq);
      const pending = this.queued - offset;
      const inFlight = seqDiff(this.sndNxt, this.sndUna);
      let room = this.sndWnd - inFlight;
      // A zero window gets a one-byte probe when the timer fires.
      if (retransmit && room <= 0 && pending > 0 && inFlight === 0) room = 1;
      if (pending > 0 && room > 0) {
        const n = Math.min(pending, room, this.mss);
        this.sendData(offset, n);
        continue;
      }
      if (pending === 0 && this.finQueued && this.sndNxt === this.finSeq) {
        this.sink.sendSegment(this, this.sndNxt, TCP_FIN | TCP_ACK, EMPTY, 0, 0, false);
        this.advance(1);
        this.ackNeeded = false;
        if (this.state === 'ESTABLISHED') this.state = 'FIN_WAIT_1';
        else if (this.state === 'CLOSE_WAIT') this.state = 'LAST_ACK';
      } else if (pending > 0 && room <= 0 && this.deadlineMs === Infinity) {
        // Window closed with data waiting: probe on the timer.
        this.deadlineMs = this.nowMs + this.rtoMs;
      }
      return;
    }
  }

  private readonly segment = new Uint8Array(TCP_MSS);

  private sendData(offset: number, n: number): void {
    const start = (this.head + offset) % SEND_BUFFER;
    if (start + n <= SEND_BUFFER) {
      this.sink.sendSegment(this, this.sndNxt, TCP_ACK | TCP_PSH, this.ring, start, n, false);
    } else {
      // The segment wraps around the ring: gather it.
      const first = SEND_BUFFER - start;
      copyBytes(this.segment, 0, this.ring, start, first);
      copyBytes(this.segment, first, this.ring, 0, n - first);
      this.sink.sendSegment(this, this.sndNxt, TCP_ACK | TCP_PSH, this.segment, 0, n, false);
    }
    this.ackNeeded = false;
    this.advance(n);
  }

  private advance(n: number): void {
    this.sndNxt = seqAdd(this.sndNxt, n);
    if (seqLt(this.highestSent, this.sndNxt)) this.highestSent = this.sndNxt;
    if (this.deadlineMs === Infinity) this.deadlineMs = this.nowMs + this.rtoMs;
    this.segmentsOut++;
  }

  private sendSyn(): void {
    const flags = this.state === 'SYN_SENT' ? TCP_SYN : TCP_SYN | TCP_ACK;
    this.sink.sendSegment(this, this.iss, flags, EMPTY, 0, 0, true);
    if (this.sndNxt === this.iss) this.advance(1);
    else this.deadlineMs = this.nowMs + this.rtoMs;
  }

  private sendAck(): void {
    this.ackNeeded = false;
    this.sink.sendSegment(this, this.sndNxt, TCP_ACK, EMPTY, 0, 0, false);
  }

  private close(reason: string): void {
    if (this.state === 'CLOSED') return;
    this.state = 'CLOSED';
    this.deadlineMs = Infinity;
    this.peer?.closed(this, reason);
  }
}

const EMPTY = new Uint8Array(0);
