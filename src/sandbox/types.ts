import type { Readable } from 'node:stream';

/** Resource limits the kernel enforces for everything running in one sandbox. */
export interface SandboxLimits {
  /** Memory (RAM) of all processes together, in bytes; the kernel OOM-kills past it. */
  memoryBytes?: number;
  /** Most processes and threads alive at once (stops fork bombs). */
  pids?: number;
  /** CPU time per wall-clock second, in cores (`1.5` = one and a half cores); needs a cgroup. */
  cpu?: number;
  /**
   * Bytes the sandbox may write to the workspace (the overlay's upper layer). When set, the writes
   * live in a tmpfs of this size, so they also count against `memoryBytes`; unset, they go to the
   * host disk without a cap.
   */
  diskBytes?: number;
  /** Size of `/tmp` and, separately, of the home directory (each a tmpfs). Default 512 MiB. */
  tmpBytes?: number;
}

/** Paths inside the sandbox that are shown read-only or not at all. */
export interface SandboxFilesystem {
  /** Made read-only (workspace paths present in the base; everything outside the workspace already is). */
  readOnly?: string[];
  /** Replaced by an empty read-only file or directory. */
  hidden?: string[];
}

/** Which programs may run. Enforced by the kernel: masked files and `noexec` mounts. */
export interface SandboxExecutables {
  /** Programs that cannot run: names looked up on the sandbox PATH, or absolute paths. */
  deny?: string[];
  /**
   * Writable places where executing files is allowed: `/workspace`, `/tmp`, `/home/nightshift`.
   * Default none: files written in the sandbox cannot be executed (scripts still run through an
   * interpreter, e.g. `sh script.sh`).
   */
  allowExecFrom?: string[];
}

/** A host Unix socket shown inside the sandbox (how the egress proxy and the model gateway are reached). */
export interface SandboxSocket {
  /** Host path of the socket; connectable by the sandbox's host uid. */
  path: string;
  /** Absolute path inside the sandbox, outside the writable places (e.g. `/run/nightshift/egress.sock`). */
  target: string;
}

/** A host file shown read-only inside the sandbox (programs Nightshift itself runs there, such as the egress bridge). */
export interface SandboxFile {
  path: string;
  /** Absolute path inside the sandbox, outside the writable places (e.g. `/run/nightshift/bridge.mjs`). */
  target: string;
}

/** What a provider needs to create a sandbox for one run. */
export interface SandboxSpec {
  runId: string;
  /**
   * A checkout at the run's base commit, never written to: the sandbox sees it copy-on-write
   * at `/workspace`, so many runs can share one base.
   */
  baseDir: string;
  /** A directory owned by this run where the provider keeps its state (the workspace's writes live here). */
  stateDir: string;
  /** Environment variables for every process in the sandbox. */
  env?: Record<string, string>;
  limits?: SandboxLimits;
  filesystem?: SandboxFilesystem;
  executables?: SandboxExecutables;
  sockets?: SandboxSocket[];
  files?: SandboxFile[];
}

export interface ExecOptions {
  /** Working directory inside the sandbox, relative to `/workspace` (default: `/workspace`). */
  cwd?: string;
  env?: Record<string, string>;
  /** Kills the whole process tree after this long; `timedOut` is then true. */
  timeoutMs?: number;
  /** Kills the whole process tree when aborted; `cancelled` is then true. */
  signal?: AbortSignal;
  /** Receives output as it arrives. */
  onOutput?: (stream: 'stdout' | 'stderr', text: string) => void;
  stdin?: string | Readable;
}

/** One program that ran: an `execve` that succeeded, until the process exited or exec'd again. */
export interface ExecRecord {
  /** Host pid (the tracer's pid namespace). */
  pid: number;
  /** Host pid of the parent, when the trace shows which fork created the process. */
  ppid: number | null;
  argv: string[];
  /** The file executed, as passed to execve. */
  path: string;
  /** Working directory at the exec, as the process saw it (inside the sandbox: sandbox paths). */
  cwd: string;
  startedAt: Date;
  /** Null when the trace ends before the program did. */
  durationMs: number | null;
  /** The process's exit status; null when it was killed, replaced by another exec, or still running. */
  exitCode: number | null;
  /** The signal that killed it (`SIGKILL`), else null. */
  signal: string | null;
  /** True when the same process exec'd another program (`exec` in a shell): that one has its own record. */
  replaced: boolean;
  /** True when strace cut an argument or the argv (see `maxStringLength`). */
  truncated: boolean;
}

/** An exec the kernel refused for another reason than a missing file (EACCES, EPERM: policy at work). */
export interface RefusedExec {
  pid: number;
  path: string;
  argv: string[];
  cwd: string;
  at: Date;
  errno: string;
}

/** What ran during one exec, from a kernel-backed source (the local provider traces execve with strace). */
export interface ExecTrace {
  execs: ExecRecord[];
  refused: RefusedExec[];
}

export interface ExecResult {
  /** Exit code of the command, or null when it was killed by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  cancelled: boolean;
  /** True when the kernel killed a process of this exec for exceeding the memory limit. */
  oomKilled: boolean;
  durationMs: number;
  /** The last 64 KiB of each stream. */
  stdout: string;
  stderr: string;
  /** Every program that ran in the sandbox during this exec, when the provider traces them. */
  trace?: ExecTrace;
}

/** A host-side command run in a private mount namespace where the workspace's current files are visible. */
export interface WorkspaceView {
  /** Host path where the workspace is visible to `exec` (only inside those processes). */
  readonly path: string;
  exec(
    argv: string[],
    options?: { env?: Record<string, string>; cwd?: string; stdin?: string },
  ): Promise<{ exitCode: number | null; stdout: string; stderr: string }>;
}

/** One isolated execution environment for one run. */
export interface Sandbox {
  readonly id: string;
  /** Path of the workspace as processes inside the sandbox see it. */
  readonly workspacePath: string;
  /** Runs a command inside the sandbox and waits for it (and every process it started) to end. */
  exec(argv: string[], options?: ExecOptions): Promise<ExecResult>;
  /** Trusted host-side access to the workspace's files (publish uses it); not for agent code. */
  readonly view: WorkspaceView;
  /** Kills every process in the sandbox now. */
  killAll(): Promise<void>;
  /** Kills every process and releases kernel resources; `discard` also removes the workspace's writes. */
  destroy(options?: { discard?: boolean }): Promise<void>;
}

export interface SandboxProvider {
  readonly name: string;
  /** Throws SANDBOX_UNAVAILABLE with a hint (e.g. how to install bubblewrap) when it cannot work here. */
  check(): Promise<void>;
  create(spec: SandboxSpec): Promise<Sandbox>;
}
