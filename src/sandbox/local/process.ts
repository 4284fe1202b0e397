import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { NightshiftError } from '../../core/errors.ts';
import { spawner } from '../../process/index.ts';

/** How much of each stream an exec keeps (the newest bytes). */
export const TAIL_BYTES = 64 * 1024;

/** Keeps the newest `limit` bytes written to it. */
export function createTail(limit: number): { push(chunk: Buffer): void; text(): string } {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    push(chunk) {
      chunks.push(chunk);
      size += chunk.length;
      while (size - (chunks[0]?.length ?? 0) >= limit) size -= chunks.shift()!.length;
    },
    text() {
      let all = Buffer.concat(chunks);
      if (all.length > limit) {
        all = all.subarray(all.length - limit);
        // Skip UTF-8 continuation bytes left over from a character cut in half.
        let start = 0;
        while (start < all.length && start < 4 && ((all[start] ?? 0) & 0xc0) === 0x80) start++;
        all = all.subarray(start);
      }
      return all.toString('utf8');
    },
  };
}

export interface TreeOptions {
  env?: NodeJS.ProcessEnv;
  stdin?: string | Readable;
  onOutput?: (stream: 'stdout' | 'stderr', text: string) => void;
  /** Bytes kept of each stream (default: the last 64 KiB). */
  keepBytes?: number;
  /** Called when the tree is killed, to kill what the process group does not reach (a cgroup). */
  killExtra?: () => Promise<void>;
}

export interface TreeResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A process started in its own process group, with a way to kill everything it started. */
export interface ProcessTree {
  /** SIGKILLs the process group and whatever `killExtra` reaches; idempotent. */
  kill(): Promise<void>;
  /** Settles once the process exited and its output streams closed. */
  result: Promise<TreeResult>;
}

/** How long to wait for output streams to close after the process itself exited. */
const CLOSE_GRACE_MS = 1000;

/** Spawns `argv` detached (its own process group), streaming and keeping its output. */
export function startTree(argv: string[], options: TreeOptions = {}): ProcessTree {
  const [file, ...args] = argv;
  if (!file) throw new NightshiftError('SANDBOX_FAILED', 'cannot run an empty command');
  const child = spawner.spawn(file, args, {
    detached: true,
    env: options.env ?? {},
    stdin: options.stdin === undefined ? 'ignore' : 'pipe',
  });
  const keep = options.keepBytes ?? TAIL_BYTES;
  const tails = { stdout: createTail(keep), stderr: createTail(keep) };
  for (const name of ['stdout', 'stderr'] as const) {
    const decoder = new StringDecoder('utf8');
    child[name].on('data', (chunk: Buffer) => {
      tails[name].push(chunk);
      const text = decoder.write(chunk);
      if (text && options.onOutput) options.onOutput(name, text);
    });
  }
  if (child.stdin) {
    child.stdin.on('error', () => {});
    if (typeof options.stdin === 'string') child.stdin.end(options.stdin);
    else options.stdin?.pipe(child.stdin);
  }
  let killing: Promise<void> | undefined;
  const kill = (): Promise<void> => {
    killing ??= (async () => {
      // The spawner signals the group only while its leader is not reaped (its pid could be reused).
      child.kill('SIGKILL', { group: true });
      await options.killExtra?.();
    })();
    return killing;
  };
  const result = new Promise<TreeResult>((resolve, reject) => {
    child.once('error', (error) => {
      reject(
        new NightshiftError('SANDBOX_FAILED', `could not start ${file}: ${error.message}`, { cause: error }),
      );
    });
    child.once('exit', () => {
      // Output pipes held open by a process that escaped every kill must not hang the exec.
      const timer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, CLOSE_GRACE_MS);
      timer.unref();
    });
    child.once('close', (exitCode, signal) => {
      resolve({ exitCode, signal, stdout: tails.stdout.text(), stderr: tails.stderr.text() });
    });
  });
  return { kill, result };
}
