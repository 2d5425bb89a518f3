// Test helper: a client of `lguest run --monitor=unix:PATH`, as a user with `socat` or `nc -U`
// would be. Each command waits for the monitor's next prompt and returns the answer before it.

import { connect, type Socket } from 'node:net';
import { PROMPT } from '../src/monitor';

export class MonitorClient {
  private text = '';
  private waiters: (() => void)[] = [];
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.text += chunk;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  /** Connects and waits for the greeting's prompt. */
  static async connect(path: string): Promise<MonitorClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path, () => resolve(s));
      s.once('error', reject);
    });
    const client = new MonitorClient(socket);
    await client.untilPrompt();
    return client;
  }

  /** Sends one command line; resolves to everything the monitor said before its next prompt. */
  async command(line: string): Promise<string> {
    this.socket.write(`${line}\n`);
    return (await this.untilPrompt()).trimEnd();
  }

  /** Sends a command after which the monitor (and lguest) may go away: resolves to all it said. */
  async last(line: string): Promise<string> {
    this.socket.write(`${line}\n`);
    await this.until(() => this.closed || this.text.includes(PROMPT));
    const said = this.text.replace(PROMPT, '');
    this.text = '';
    return said.trimEnd();
  }

  close(): void {
    this.socket.destroy();
  }

  private async untilPrompt(): Promise<string> {
    await this.until(() => this.text.includes(PROMPT) || this.closed);
    const at = this.text.indexOf(PROMPT);
    if (at < 0) throw new Error(`the monitor hung up; it said: ${JSON.stringify(this.text)}`);
    const answer = this.text.slice(0, at);
    this.text = this.text.slice(at + PROMPT.length);
    return answer;
  }

  private until(test: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (test()) resolve();
        else this.waiters.push(check);
      };
      check();
    });
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }
}
