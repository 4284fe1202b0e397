import { type SpawnOptions, spawner } from './spawner.ts';

export interface RunOptions extends SpawnOptions {
  /** Written to the program's stdin, which is then closed (default: empty). */
  input?: string | Buffer;
  /** SIGKILLs the program (its process group when `detached`) after this long. */
  timeoutMs?: number;
  /** Keep at most this many bytes of stdout; `truncated` is then true. */
  maxStdoutBytes?: number;
}

export interface RunResult {
  /** Null when the program was killed by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when stdout was longer than `maxStdoutBytes` and was cut. */
  truncated: boolean;
  /** True when `timeoutMs` passed and the program was killed. */
  timedOut: boolean;
}

/**
 * Runs a host program to its end and collects its output; never throws for an exit code.
 * Rejects with the start error (`code` ENOENT, EACCES ...) when the program cannot start.
 *
 * @example
 * const { exitCode, stdout } = await runProcess('git', ['rev-parse', 'HEAD'], { cwd: repo });
 */
export function runProcess(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawner.spawn(file, args, options);
    const max = options.maxStdoutBytes ?? Number.POSITIVE_INFINITY;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let truncated = false;
    let timedOut = false;
    let failed: Error | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      const room = max - outBytes;
      if (chunk.length > room) truncated = true;
      if (room <= 0) return;
      const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
      out.push(kept);
      outBytes += kept.length;
    });
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error: Error) => {
      failed ??= error;
    });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL', { group: options.detached });
          }, options.timeoutMs);
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      if (failed && child.pid === undefined) {
        reject(failed);
        return;
      }
      resolve({
        exitCode: code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        truncated,
        timedOut,
      });
    });
    child.stdin?.end(options.input ?? '');
  });
}
