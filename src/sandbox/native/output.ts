/**
 * A sandbox's stdout and stderr as activation logs. Lines are charged to the invocation in flight
 * (output between invocations goes to the next one, as Lambda's log stream would show it), masked
 * for secrets and capped. A program that floods its output past the cap is not read any further
 * until its next invocation: it blocks on its own write, and the invocation's timeout ends it, so a
 * gigabyte of logs costs the node neither memory nor CPU.
 */
import { StringDecoder } from 'node:string_decoder';
import { LogBuffer, type LogPolicy } from '../logs.js';
import type { LogLine } from '../types.js';
import type { Sandbox } from './types.js';

/** A line longer than this is cut: one unterminated write must not grow a buffer without bound. */
const MAX_LINE_CHARS = 16 * 1024;

type Stream = 'stdout' | 'stderr';

export class SandboxOutput {
  #buffer: LogBuffer;
  readonly #partial: Record<Stream, string> = { stdout: '', stderr: '' };
  readonly #decoders: Record<Stream, StringDecoder> = {
    stdout: new StringDecoder('utf8'),
    stderr: new StringDecoder('utf8'),
  };

  constructor(
    private readonly sandbox: Sandbox,
    /** Which secrets to mask: a pool sandbox learns its function's when it is given one. */
    public policy: LogPolicy,
    private readonly limitBytes: number,
  ) {
    this.#buffer = new LogBuffer(limitBytes);
    for (const stream of ['stdout', 'stderr'] as const) {
      sandbox[stream].on('data', (chunk: Buffer) => this.#take(stream, chunk));
    }
  }

  /** An invocation starts: its buffer takes what was printed since the last one, and reading resumes. */
  begin(limitBytes: number): void {
    const next = new LogBuffer(limitBytes);
    this.#buffer.moveTo(next);
    this.#buffer = next;
    this.sandbox.stdout.resume();
    this.sandbox.stderr.resume();
  }

  /** The invocation is over: its lines (an unterminated last line included). */
  end(): { lines: LogLine[]; truncated: boolean } {
    for (const stream of ['stdout', 'stderr'] as const) this.#flush(stream);
    const done = this.#buffer;
    this.#buffer = new LogBuffer(this.limitBytes);
    return done.take();
  }

  #take(stream: Stream, chunk: Buffer): void {
    const text = this.#partial[stream] + this.#decoders[stream].write(chunk);
    const lines = text.split('\n');
    let rest = lines.pop() ?? '';
    for (const line of lines) this.#push(stream, line);
    while (rest.length > MAX_LINE_CHARS) {
      this.#push(stream, rest.slice(0, MAX_LINE_CHARS));
      rest = rest.slice(MAX_LINE_CHARS);
    }
    this.#partial[stream] = rest;
    if (this.#buffer.truncated) {
      this.sandbox.stdout.pause();
      this.sandbox.stderr.pause();
    }
  }

  #flush(stream: Stream): void {
    const rest = this.#partial[stream] + this.#decoders[stream].end();
    this.#partial[stream] = '';
    if (rest) this.#push(stream, rest);
  }

  #push(stream: Stream, line: string): void {
    this.policy.push(this.#buffer, stream === 'stderr' ? 'error' : 'log', line.replace(/\r$/, ''));
  }
}
