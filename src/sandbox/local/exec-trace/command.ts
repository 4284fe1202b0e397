/** Syscalls the tracer stops on: program starts, working-directory changes, and process creation. */
export const TRACED_SYSCALLS = ['execve', 'execveat', 'chdir', 'fchdir', 'clone', 'clone3', 'fork', 'vfork'];

export interface TraceCommandOptions {
  /** Where strace writes the trace: a host path the sandbox cannot see (a file or a FIFO). */
  output: string;
  /** The strace binary (default `strace` on PATH). */
  strace?: string;
  /** Longest string (and argv) strace prints before cutting it with `...` (default 4096). */
  maxStringLength?: number;
}

/**
 * The argv prefix that runs a command under strace from the host side: every process it starts
 * (through any pid, user or mount namespace) is followed, and each `execve`, `chdir` and fork is
 * written to `output` with a microsecond timestamp and host pids. Prefix the whole sandbox
 * launcher with it, so the tracer is outside the sandbox's pid namespace and cannot be seen,
 * signalled or detached from inside. strace exits with the traced command's status.
 *
 * `--seccomp-bpf` makes only the traced syscalls stop the tracee (far cheaper than stopping on
 * every syscall). The environment of each exec is never written (no `-v`), only its size.
 *
 * @example
 * const argv = [...execTraceArgs({ output: join(hostOnlyDir, 'exec.trace') }), ...launcherArgv];
 */
export function execTraceArgs(options: TraceCommandOptions): string[] {
  return [
    options.strace ?? 'strace',
    '-f',
    '-q',
    '-ttt',
    '-y',
    '-s',
    String(options.maxStringLength ?? 4096),
    '--seccomp-bpf',
    '-e',
    `trace=${TRACED_SYSCALLS.join(',')}`,
    '-o',
    options.output,
    '--',
  ];
}
