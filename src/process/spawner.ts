import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/** The helper program (plain JavaScript, so it starts without a TypeScript loader). */
const HELPER = fileURLToPath(new URL('./helper.mjs', import.meta.url));

export interface SpawnOptions {
  cwd?: string;
  /** The program's whole environment; default: this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** `pipe` gives a writable `stdin`; default `pipe`. */
  stdin?: 'pipe' | 'ignore';
  /** Starts the program in its own session and process group (`kill(signal, { group: true })`). */
  detached?: boolean;
}

type HelperMessage =
  | { t: 'ready' }
  | { t: 'spawned'; id: number; pid: number }
  | {
      t: 'error';
      id: number;
      error: { message: string; code?: string; errno?: number; syscall?: string; path?: string };
    }
  | { t: 'out'; id: number; fd: 1 | 2; data: Uint8Array }
  | { t: 'exit' | 'close'; id: number; code: number | null; signal: NodeJS.Signals | null };

/**
 * A program started on the host by the spawner helper. Like a `ChildProcess` with piped
 * stdout and stderr: events `spawn` (pid), `error`, `exit` and `close` (code, signal).
 */
export class HostProcess extends EventEmitter {
  /** Known once the program started (the `spawn` event); undefined before, or when it could not start. */
  pid: number | undefined;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  readonly stdin: Writable | null;
  readonly stdout: Readable;
  readonly stderr: Readable;
  private readonly helper: Helper;
  private readonly id: number;
  private referenced = true;
  private closed = false;

  constructor(helper: Helper, id: number, stdin: 'pipe' | 'ignore') {
    super();
    this.helper = helper;
    this.id = id;
    const release = (error: Error | null, callback: (error: Error | null) => void) => {
      // Output this side no longer wants (a grandchild holding the pipe open): let the helper drop it.
      if (!this.closed) helper.send({ t: 'release', id });
      callback(error);
    };
    this.stdout = new Readable({ read() {}, destroy: release });
    this.stderr = new Readable({ read() {}, destroy: release });
    this.stdin =
      stdin === 'pipe'
        ? new Writable({
            write: (chunk: Buffer, _encoding, callback) => {
              helper.send({ t: 'stdin', id, data: chunk });
              callback();
            },
            final: (callback) => {
              helper.send({ t: 'stdin-end', id });
              callback();
            },
          })
        : null;
  }

  /**
   * Sends `signal` (default SIGTERM) to the program, or with `group` to its process group (a
   * `detached` program and everything it started there). Nothing is sent once it exited.
   */
  kill(signal: NodeJS.Signals = 'SIGTERM', options: { group?: boolean } = {}): void {
    if (!this.closed) this.helper.send({ t: 'kill', id: this.id, signal, group: options.group ?? false });
  }

  /** Lets this process exit while the program runs (like `ChildProcess.unref`). */
  unref(): void {
    if (this.referenced && !this.closed) this.helper.adjustRefs(-1);
    this.referenced = false;
  }

  ref(): void {
    if (!this.referenced && !this.closed) this.helper.adjustRefs(1);
    this.referenced = true;
  }

  /** @internal Applies one message of the helper about this program. */
  receive(message: HelperMessage): void {
    switch (message.t) {
      case 'spawned':
        this.pid = message.pid;
        this.emit('spawn');
        break;
      case 'out':
        (message.fd === 1 ? this.stdout : this.stderr).push(
          Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength),
        );
        break;
      case 'error':
        this.emit('error', Object.assign(new Error(message.error.message), message.error));
        break;
      case 'exit':
        this.exitCode = message.code;
        this.signalCode = message.signal;
        this.emit('exit', message.code, message.signal);
        break;
      case 'close':
        this.finish(message.code, message.signal);
        break;
    }
  }

  /** @internal Ends the program's record: streams end, `close` fires, its reference is dropped. */
  finish(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.closed) return;
    this.closed = true;
    if (this.referenced) this.helper.adjustRefs(-1);
    this.stdout.push(null);
    this.stderr.push(null);
    // After the streams' last `data` events, as a ChildProcess does.
    setImmediate(() => this.emit('close', code, signal));
  }
}

/**
 * One helper process and the programs it relays. It keeps this process alive only while a
 * referenced program of its own runs.
 */
class Helper {
  /** The programs it started that have not closed yet. */
  readonly running = new Map<number, HostProcess>();
  private readonly process: ChildProcess;
  private refs = 0;

  /** Starts the helper; `onExit` is called once it exited, after its programs were failed. */
  constructor(onExit: () => void) {
    const env = { ...process.env };
    // The helper needs no loader; one given to this process (tsx) would only make it bigger.
    delete env.NODE_OPTIONS;
    const helper = spawn(process.execPath, [HELPER], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
      env,
    });
    helper.unref();
    helper.channel?.unref();
    helper.on('message', (message: HelperMessage) => {
      if (message.t === 'ready') return;
      const child = this.running.get(message.id);
      if (message.t === 'close') this.running.delete(message.id);
      child?.receive(message);
    });
    helper.once('exit', (code, signal) => {
      // The programs it was relaying are lost to us: say so.
      const error = new Error(`the process spawner exited (${signal ?? `code ${code}`})`);
      for (const child of this.running.values()) {
        if (child.listenerCount('error') > 0) child.emit('error', error);
        child.finish(null, null);
      }
      this.running.clear();
      onExit();
    });
    this.process = helper;
  }

  spawn(id: number, file: string, args: readonly string[], options: SpawnOptions): HostProcess {
    const stdin = options.stdin ?? 'pipe';
    const child = new HostProcess(this, id, stdin);
    this.running.set(id, child);
    this.adjustRefs(1);
    this.send({
      t: 'spawn',
      id,
      file,
      args: [...args],
      cwd: resolve(options.cwd ?? '.'),
      env: options.env ?? process.env,
      stdin,
      detached: options.detached ?? false,
    });
    return child;
  }

  /** False once its channel closed: it is exiting, and takes no more programs. */
  get connected(): boolean {
    return this.process.connected;
  }

  send(message: object): void {
    if (this.process.connected) this.process.send(message);
  }

  adjustRefs(delta: number): void {
    this.refs += delta;
    if (this.refs > 0) this.process.channel?.ref();
    else this.process.channel?.unref();
  }
}

/**
 * Starts host programs from small helper processes instead of from this one. Node forks the
 * calling process for every program it starts, which costs time in proportion to its memory:
 * with the embedded database loaded, 10-30 ms of blocked event loop per program (see
 * docs/benchmarks.md). A helper is started on first use and ends with this process.
 *
 * A helper starts one program at a time (its fork, and the wait until the program has exec'd,
 * block it), so under load a second one is started: a program goes to the helper running the
 * fewest, and a new helper (up to `maxHelpers`) is started when every helper already runs one.
 *
 * @example
 * const child = spawner.spawn('git', ['rev-parse', 'HEAD'], { cwd: repo });
 * child.stdout.on('data', (chunk) => ...);
 * child.on('close', (code) => ...);
 */
export class Spawner {
  private readonly helpers: Helper[] = [];
  private readonly maxHelpers: number;
  private nextId = 1;

  /** `maxHelpers`: how many helper processes it may run at once (default: 2, or 1 on one CPU). */
  constructor(options: { maxHelpers?: number } = {}) {
    this.maxHelpers = Math.max(1, options.maxHelpers ?? Math.min(2, availableParallelism()));
  }

  spawn(file: string, args: readonly string[], options: SpawnOptions = {}): HostProcess {
    return this.pick().spawn(this.nextId++, file, args, options);
  }

  /**
   * The connected helper running the fewest programs; a new one when every helper runs some and
   * there is room (one that is exiting still counts until it exited).
   */
  private pick(): Helper {
    let least: Helper | undefined;
    for (const helper of this.helpers) {
      if (helper.connected && (!least || helper.running.size < least.running.size)) least = helper;
    }
    if (least && (least.running.size === 0 || this.helpers.length >= this.maxHelpers)) return least;
    const helper = new Helper(() => {
      // A new helper is started next time one is needed.
      const at = this.helpers.indexOf(helper);
      if (at >= 0) this.helpers.splice(at, 1);
    });
    this.helpers.push(helper);
    return helper;
  }
}

/** The process-wide spawner every host program of Nightshift is started with. */
export const spawner = new Spawner();
