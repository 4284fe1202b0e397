import type { ExecOptions, Sandbox } from '../../sandbox/types.ts';

/** Default cap on what one tool call hands back to the model, in characters. */
export const DEFAULT_OUTPUT_CHARS = 30_000;

/** Most a tool reads from the sandbox before giving up on a stream (a file being edited, say). */
const CAPTURE_LIMIT = 8 * 1024 * 1024;

/** What a command printed, in full up to a large cap (`ExecResult` keeps only each stream's tail). */
export interface Captured {
  exitCode: number | null;
  timedOut: boolean;
  cancelled: boolean;
  stdout: string;
  stderr: string;
  /** Both streams interleaved as they arrived. */
  combined: string;
  /** True when a stream went past the cap and was cut. */
  overflowed: boolean;
}

/** Runs `argv` in the sandbox and keeps everything it prints (up to 8 MiB), separately and interleaved. */
export async function capture(
  sandbox: Sandbox,
  argv: string[],
  options: Omit<ExecOptions, 'onOutput'> = {},
): Promise<Captured> {
  const streams = { stdout: [] as string[], stderr: [] as string[], combined: [] as string[] };
  const sizes = { stdout: 0, stderr: 0, combined: 0 };
  let overflowed = false;
  const keep = (name: keyof typeof streams, text: string) => {
    if (sizes[name] >= CAPTURE_LIMIT) {
      overflowed = true;
      return;
    }
    streams[name].push(text);
    sizes[name] += text.length;
  };
  const result = await sandbox.exec(argv, {
    ...options,
    onOutput: (stream, text) => {
      keep(stream, text);
      keep('combined', text);
    },
  });
  return {
    exitCode: result.exitCode,
    timedOut: result.timedOut,
    cancelled: result.cancelled,
    stdout: streams.stdout.join(''),
    stderr: streams.stderr.join(''),
    combined: streams.combined.join(''),
    overflowed,
  };
}

/**
 * `text` cut to at most about `max` characters, keeping its start and its end (where errors
 * and summaries usually are) around a marker saying how much was left out.
 *
 * @example
 * truncate('x'.repeat(100_000), 30_000) // 'xxx…\n[... 70000 characters truncated ...]\n…xxx'
 */
export function truncate(text: string, max = DEFAULT_OUTPUT_CHARS): string {
  if (text.length <= max) return text;
  const head = Math.floor(max * 0.4);
  const tail = max - head;
  const cut = text.length - head - tail;
  return `${text.slice(0, head)}\n[... ${cut} characters truncated ...]\n${text.slice(text.length - tail)}`;
}
