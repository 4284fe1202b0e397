import { mkdir, readFile, rm } from 'node:fs/promises';
import { posix } from 'node:path';
import { NightshiftError } from '../../core/errors.ts';
import type { ExecOptions, ExecResult, ExecTrace, Sandbox, SandboxLimits, WorkspaceView } from '../types.ts';
import { baseEnv, bwrapArgs, type RootEntry, WORKSPACE } from './bwrap.ts';
import {
  createExecCgroup,
  killCgroup,
  type LimitsEnforcement,
  oomKills,
  removeCgroup,
  type SandboxCgroup,
} from './cgroups.ts';
import { execTraceArgs, parseExecTrace } from './exec-trace/index.ts';
import { type HostTools, LAUNCHER } from './host.ts';
import { type HostOwner, type OverlayHolder, removeState, type StateLayout } from './overlay.ts';
import { type ProcessTree, startTree } from './process.ts';

/** Everything a LocalSandbox needs, prepared by the provider. */
export interface LocalSandboxParts {
  id: string;
  tools: HostTools;
  owner: HostOwner;
  layout: StateLayout;
  holder: OverlayHolder;
  cgroup: SandboxCgroup | undefined;
  limits: SandboxLimits;
  limitsEnforcement: LimitsEnforcement;
  env: Record<string, string>;
  rootLayout: RootEntry[];
  readOnlyPaths: string[];
  /** Host /etc entries shown inside. */
  etc: string[];
  /** bwrap arguments for .git protections, read-only and hidden paths, masked executables, sockets. */
  mounts: string[];
  /**
   * Where bwrap finds the state dir: its own path when the sandbox's uid may reach it, else
   * `/tmp`, where the launcher shows it in a mount namespace of each exec's own.
   */
  stateMount: string;
  /** The curated /etc assembled once (see `EtcTemplate`), shown with one bind; else one bind per entry. */
  etcDir?: string;
}

/** A sandbox of the local provider: bubblewrap over an overlay workspace, limited by a cgroup. */
export class LocalSandbox implements Sandbox {
  readonly id: string;
  readonly workspacePath = WORKSPACE;
  readonly view: WorkspaceView;
  /** Which kernel mechanism enforces `spec.limits` for this sandbox. */
  readonly limitsEnforcement: LimitsEnforcement;
  private readonly parts: LocalSandboxParts;
  private readonly running = new Set<ProcessTree>();
  private readonly cleanups = new Set<Promise<void>>();
  private execCount = 0;
  private destroyed = false;

  constructor(parts: LocalSandboxParts) {
    this.parts = parts;
    this.id = parts.id;
    this.limitsEnforcement = parts.limitsEnforcement;
    this.view = {
      path: parts.layout.merged,
      exec: (argv, options) => this.viewExec(argv, options),
    };
  }

  /**
   * The command that enters the holder's mount namespace (and its user namespace when not
   * root); `asOwner` also makes it the sandbox's owner, as root (nsenter's `-S`/`-G` set the
   * uid and gid and clear the supplementary groups, as `setpriv` would, one program fewer);
   * `wd` is nsenter's `--wd` option.
   */
  private enterArgs(options: { asOwner?: boolean; wd?: string } = {}): string[] {
    const { tools, owner, holder } = this.parts;
    if (!holder.alive()) {
      throw new NightshiftError(
        'SANDBOX_FAILED',
        `the workspace of sandbox ${this.id} is gone (its holder exited)`,
        {
          hint: 'create a new sandbox for the run',
        },
      );
    }
    const become = options.asOwner && owner.drop ? ['-S', String(owner.uid), '-G', String(owner.gid)] : [];
    const ns = owner.drop ? ['-m', ...become] : ['--preserve-credentials', '-U', '-m'];
    return [tools.nsenter, '-t', String(holder.pid), ...ns, ...(options.wd ? [options.wd] : []), '--'];
  }

  private assertUsable(): void {
    if (this.destroyed) throw new NightshiftError('SANDBOX_FAILED', `sandbox ${this.id} was destroyed`);
  }

  private rlimitArgs(): string[] {
    const { limits, tools } = this.parts;
    if (this.limitsEnforcement !== 'rlimit') return [];
    const args: string[] = [];
    if (limits.memoryBytes !== undefined) args.push(`--as=${limits.memoryBytes}`);
    if (limits.pids !== undefined) args.push(`--nproc=${limits.pids}`);
    return args.length > 0 ? [tools.prlimit, ...args, '--'] : [];
  }

  /** Runs `argv` inside the sandbox; see {@link Sandbox.exec}. */
  async exec(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    this.assertUsable();
    if (argv.length === 0) throw new NightshiftError('INVALID_INPUT', 'exec needs a command');
    const started = performance.now();
    const { tools, owner, layout, cgroup, stateMount } = this.parts;
    // Showing the state dir at its mount point needs root: then the drop comes after it.
    const showState = stateMount !== layout.stateDir;
    const enter = this.enterArgs({ asOwner: !showState });
    const execName = `exec-${++this.execCount}`;
    const execDirs = cgroup
      ? await createExecCgroup(cgroup, execName).catch((error: unknown) => {
          throw new NightshiftError(
            'SANDBOX_FAILED',
            `could not create the cgroup of an exec in ${this.id}`,
            {
              cause: error,
            },
          );
        })
      : [];
    const join =
      execDirs.length > 0 ? ['sh', LAUNCHER, 'join', ...execDirs.map((d) => `${d}/cgroup.procs`), '--'] : [];
    const drop =
      owner.drop && showState
        ? [tools.setpriv, '--reuid', String(owner.uid), '--regid', String(owner.gid), '--clear-groups', '--']
        : [];
    const cwd = posix.resolve(WORKSPACE, options.cwd ?? '.');
    const bwrap = bwrapArgs({
      bwrap: tools.bwrap,
      stateMount,
      rootLayout: this.parts.rootLayout,
      readOnlyPaths: this.parts.readOnlyPaths,
      etc: this.parts.etc,
      etcDir: this.parts.etcDir,
      mounts: this.parts.mounts,
      cwd,
      env: { ...baseEnv(), ...this.parts.env, ...options.env },
      argv,
    });
    const traceFile = tools.strace ? posix.join(layout.stateDir, 'traces', `${execName}.trace`) : null;
    if (traceFile) await mkdir(posix.dirname(traceFile), { recursive: true, mode: 0o700 });
    const command = [
      ...(traceFile ? execTraceArgs({ output: traceFile, strace: tools.strace }) : []),
      ...join,
      ...enter,
      ...(showState ? [tools.unshare, '-m', '--', 'sh', LAUNCHER, 'enter', layout.stateDir, '--'] : []),
      ...drop,
      ...this.rlimitArgs(),
      ...bwrap,
    ];
    const tree = startTree(command, {
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      stdin: options.stdin,
      onOutput: options.onOutput,
      killExtra: async () => {
        await Promise.all(execDirs.map((dir) => killCgroup(cgroup!.kind, dir)));
      },
    });
    this.running.add(tree);
    let timedOut = false;
    let cancelled = false;
    const timer =
      options.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            void tree.kill();
          }, options.timeoutMs)
        : undefined;
    const onAbort = (): void => {
      cancelled = true;
      void tree.kill();
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await tree.result;
      // bwrap's pid namespace is gone by now; this only catches what escaped it.
      await Promise.all(execDirs.map((dir) => killCgroup(cgroup!.kind, dir)));
      const oomKilled = cgroup && execDirs[0] ? (await oomKills(cgroup.kind, execDirs[0])) > 0 : false;
      return {
        exitCode: result.exitCode,
        signal: result.signal,
        timedOut,
        cancelled,
        oomKilled,
        durationMs: Math.round(performance.now() - started),
        stdout: result.stdout,
        stderr: result.stderr,
        trace: traceFile ? await readTrace(traceFile) : undefined,
      };
    } finally {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      this.running.delete(tree);
      // Removing a cgroup takes a few ms; the caller need not wait for it, destroy does.
      const removal = Promise.all(execDirs.map((dir) => removeCgroup(dir).catch(() => {}))).then(() => {
        this.cleanups.delete(removal);
      });
      this.cleanups.add(removal);
    }
  }

  private async viewExec(
    argv: string[],
    options: { env?: Record<string, string>; cwd?: string; stdin?: string } = {},
  ): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
    this.assertUsable();
    // nsenter opens its working directory before it enters the namespace: through the holder's
    // root, the path leads to the overlay the holder mounted (without a shell to `cd` there).
    const cwd = posix.resolve(this.parts.layout.merged, options.cwd ?? '.');
    const wd = `--wd=/proc/${this.parts.holder.pid}/root${cwd}`;
    const tree = startTree([...this.enterArgs({ wd }), ...argv], {
      env: { ...process.env, ...options.env },
      stdin: options.stdin,
      keepBytes: Number.POSITIVE_INFINITY,
    });
    this.running.add(tree);
    try {
      const result = await tree.result;
      return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
    } finally {
      this.running.delete(tree);
    }
  }

  /** Kills every process of every exec of this sandbox now. */
  async killAll(): Promise<void> {
    const trees = [...this.running];
    await Promise.all(trees.map((tree) => tree.kill()));
    const { cgroup } = this.parts;
    if (cgroup) await Promise.all(cgroup.dirs.map((dir) => killCgroup(cgroup.kind, dir)));
    await Promise.all(trees.map((tree) => tree.result.catch(() => undefined)));
  }

  /** Kills everything, unmounts the workspace and removes the cgroups; `discard` also removes the state dir. */
  async destroy(options: { discard?: boolean } = {}): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await this.killAll();
    await this.parts.holder.stop();
    await Promise.all([...this.cleanups]);
    const { cgroup } = this.parts;
    if (cgroup) for (const dir of cgroup.dirs) await removeCgroup(dir);
    if (options.discard) await removeState(this.parts.layout.stateDir);
  }
}

/** Parses and removes an exec's trace (it holds the launcher's arguments, environment included). */
async function readTrace(file: string): Promise<ExecTrace> {
  try {
    return parseExecTrace(await readFile(file, 'utf8'), { launcher: 'bwrap' });
  } catch {
    return { execs: [], refused: [] };
  } finally {
    await rm(file, { force: true });
  }
}
