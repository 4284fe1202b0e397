import { randomBytes } from 'node:crypto';
import { dirname, isAbsolute } from 'node:path';
import { invalidInput, NightshiftError } from '../../core/errors.ts';
import { shortId } from '../../core/ids.ts';
import type { SandboxProvider, SandboxSpec } from '../types.ts';
import { hostRootLayout, type RootEntry, SANDBOX_PATH } from './bwrap.ts';
import {
  type CgroupHost,
  createSandboxCgroup,
  detectCgroupHost,
  type LimitsEnforcement,
  removeCgroup,
  sandboxCgroupName,
  sweepOrphanCgroups,
} from './cgroups.ts';
import { EtcTemplate, etcTemplateDir } from './etc-template.ts';
import { deniedFiles, EXEC_PLACES } from './executables.ts';
import {
  assertUserNamespaces,
  type HostTools,
  resolveHostTools,
  runHost,
  runningAsRoot,
  userNamespaceHint,
} from './host.ts';
import { closedAncestor, etcEntries, execPlaces, planMounts } from './mounts.ts';
import { type HostOwner, prepareState, startHolder } from './overlay.ts';
import { LocalSandbox } from './sandbox.ts';

export type { LimitsEnforcement } from './cgroups.ts';
export { LocalSandbox } from './sandbox.ts';

/** Where the provider reports what it could not do as asked (a pino logger fits). */
export interface SandboxLogger {
  warn(meta: Record<string, unknown>, message: string): void;
}

export interface LocalSandboxOptions {
  /** The bubblewrap binary (a name looked up on PATH, or a path). Default `bwrap`. */
  bwrapPath?: string;
  /** When Nightshift runs as root: the unprivileged host uid (and gid) sandboxes run as. Default 61000. */
  hostUid?: number;
  hostGid?: number;
  /**
   * Extra host paths shown read-only inside every sandbox at the same place (e.g. `/opt/toolchains`).
   * Absolute, outside /tmp, and readable by the sandbox's host uid.
   */
  readOnlyPaths?: string[];
  /**
   * Host paths no sandbox may see, such as the Nightshift home (`$NIGHTSHIFT_HOME`). The sandbox's
   * root shows only /usr, a curated /etc and `readOnlyPaths`, so these matter when they lie inside
   * one of those; there they are replaced by an empty read-only directory or file.
   */
  hiddenPaths?: string[];
  /** Size of `/tmp` and of the home directory when the spec sets no `limits.tmpBytes`. Default 512 MiB. */
  tmpBytes?: number;
  /**
   * Trace every program the sandbox runs (execve, from the host side with strace) and return it
   * as `ExecResult.trace`: the audit log's kernel-backed record of what ran. Default false.
   */
  traceExecs?: boolean;
  /** `off` skips cgroups and limits with rlimits only (for hosts where cgroups misbehave). Default `auto`. */
  cgroups?: 'auto' | 'off';
  log?: SandboxLogger;
}

/** Default size of `/tmp` and of the home directory. */
export const DEFAULT_TMP_BYTES = 512 * 1024 * 1024;

const consoleLogger: SandboxLogger = {
  warn: (meta, message) => console.warn(`nightshift: ${message}`, meta),
};

/**
 * The local sandbox provider: bubblewrap namespaces over an overlayfs workspace, with memory and
 * process limits from a cgroup per sandbox (v1 or v2), or rlimits where no cgroup is writable.
 *
 * @example
 * const provider = new LocalSandboxProvider();
 * await provider.check();
 * const sandbox = await provider.create({ runId, baseDir, stateDir, limits: { memoryBytes: 2 ** 30 } });
 * const result = await sandbox.exec(['npm', 'test'], { timeoutMs: 600_000 });
 * await sandbox.destroy({ discard: true });
 */
export class LocalSandboxProvider implements SandboxProvider {
  readonly name = 'local';
  private readonly options: LocalSandboxOptions;
  private readonly log: SandboxLogger;
  private checked: Promise<HostTools> | undefined;
  private cgroupHost: Promise<CgroupHost> | undefined;
  private readonly rootLayout: RootEntry[] = hostRootLayout();
  private readonly etc: string[] = etcEntries();
  private readonly deniedCache = new Map<string, string[]>();
  private warnedRlimit = false;
  private warnedEtc = false;
  /** The curated /etc's templates, by the directory they are mounted on (one per runs dir). */
  private readonly etcTemplates = new Map<string, EtcTemplate>();
  private warnedCpu = false;

  constructor(options: LocalSandboxOptions = {}) {
    for (const path of options.hiddenPaths ?? []) {
      if (!isAbsolute(path)) throw invalidInput(`hidden path ${JSON.stringify(path)} must be absolute`);
    }
    for (const path of options.readOnlyPaths ?? []) {
      if (!isAbsolute(path) || path === '/tmp' || path.startsWith('/tmp/')) {
        throw invalidInput(
          `read-only path ${JSON.stringify(path)} must be absolute and outside /tmp`,
          'the launcher shows the sandbox state at /tmp while bwrap starts: move the directory elsewhere (e.g. /opt)',
        );
      }
    }
    this.options = options;
    this.log = options.log ?? consoleLogger;
  }

  /**
   * The host uid and gid sandboxed processes run as: a dedicated uid under root (as strict as
   * without root), else ourselves. Sockets given in `spec.sockets` must be connectable by it.
   */
  hostOwner(): { uid: number; gid: number } {
    const { uid, gid } = this.owner();
    return { uid, gid };
  }

  private owner(): HostOwner {
    if (runningAsRoot()) {
      const uid = this.options.hostUid ?? 61000;
      return { uid, gid: this.options.hostGid ?? uid, drop: true };
    }
    return { uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1, drop: false };
  }

  /** Which mechanism will enforce limits for sandboxes created by this provider. */
  async limitsEnforcement(): Promise<LimitsEnforcement> {
    return (await this.detectCgroups()).kind;
  }

  /** Where sandbox cgroups go; found once, when the cgroups left by dead processes are also removed. */
  private detectCgroups(): Promise<CgroupHost> {
    this.cgroupHost ??=
      this.options.cgroups === 'off'
        ? Promise.resolve({ kind: 'rlimit', reason: 'cgroups are turned off in the provider options' })
        : detectCgroupHost().then(async (host) => {
            const swept = host.kind === 'rlimit' ? 0 : await sweepOrphanCgroups(host);
            if (swept > 0)
              this.log.warn(
                { sandboxes: swept },
                'removed the cgroups of sandboxes left by processes that stopped',
              );
            return host;
          });
    return this.cgroupHost;
  }

  /**
   * Throws SANDBOX_UNAVAILABLE, with a hint, when bubblewrap, util-linux or user namespaces are
   * missing; also finds the sandboxes' cgroups (removing those of processes that stopped).
   */
  async check(): Promise<void> {
    await Promise.all([this.ready(), this.detectCgroups()]);
  }

  private ready(): Promise<HostTools> {
    if (!this.checked) {
      this.checked = this.probe();
      this.checked.catch(() => {
        this.checked = undefined;
      });
    }
    return this.checked;
  }

  private async probe(): Promise<HostTools> {
    const tools = await resolveHostTools(this.options.bwrapPath ?? 'bwrap', this.options.traceExecs);
    await assertUserNamespaces();
    const owner = this.owner();
    const drop = owner.drop
      ? [tools.setpriv, '--reuid', String(owner.uid), '--regid', String(owner.gid), '--clear-groups', '--']
      : [];
    const layout: string[] = [];
    for (const entry of this.rootLayout) {
      if ('symlink' in entry) layout.push('--symlink', entry.symlink, entry.path);
      else layout.push('--ro-bind', entry.path, entry.path);
    }
    const argv = [
      ...drop,
      tools.bwrap,
      ...['--unshare-all', '--unshare-user', '--disable-userns', '--cap-drop', 'ALL', '--die-with-parent'],
      ...['--tmpfs', '/', '--ro-bind', '/usr', '/usr', ...layout, '--proc', '/proc', '--dev', '/dev', 'true'],
    ];
    const result = await runHost(argv[0]!, argv.slice(1));
    if (result.exitCode !== 0) {
      throw new NightshiftError(
        'SANDBOX_UNAVAILABLE',
        `bubblewrap cannot start a sandbox here: ${result.stderr.trim()}`,
        {
          hint: await userNamespaceHint(),
        },
      );
    }
    return tools;
  }

  /** Creates a sandbox: prepares the state dir, mounts the workspace overlay, creates the cgroup. */
  async create(spec: SandboxSpec): Promise<LocalSandbox> {
    const tools = await this.ready();
    const owner = this.owner();
    const id = `sbx_${shortId(spec.runId)}${randomBytes(4).toString('hex')}`;
    const limits = spec.limits ?? {};
    const exec = execPlaces(spec.executables?.allowExecFrom);
    const layout = await prepareState(spec.baseDir, spec.stateDir, owner, limits.diskBytes);
    const pathDirs = (spec.env?.PATH ?? SANDBOX_PATH).split(':');
    // bwrap, as the sandbox's uid, reaches the state dir by its own path when it may enter every
    // directory on the way; else each exec first shows it at /tmp in a mount namespace of its own.
    const stateMount = closedAncestor(layout.stateDir) ? '/tmp' : layout.stateDir;
    const mounts = planMounts({
      spec,
      baseDir: layout.baseDir,
      stateDir: layout.stateDir,
      stateMount,
      hostHidden: this.options.hiddenPaths ?? [],
      denied: this.denied(spec.executables?.deny ?? [], pathDirs),
      visibleRoots: [
        '/usr',
        ...this.rootLayout.filter((entry) => 'directory' in entry).map((entry) => entry.path),
        ...this.etc,
        ...(this.options.readOnlyPaths ?? []),
      ],
    });
    const host = await this.detectCgroups();
    if (host.kind === 'rlimit' && !this.warnedRlimit) {
      this.warnedRlimit = true;
      this.log.warn(
        { reason: host.reason },
        'sandbox limits fall back to rlimits: memory is capped per process (address space), processes per user',
      );
    }
    const cgroup =
      host.kind === 'rlimit' ? undefined : await createSandboxCgroup(host, sandboxCgroupName(id), limits);
    if (limits.cpu !== undefined && !cgroup?.cpuLimited && !this.warnedCpu) {
      this.warnedCpu = true;
      this.log.warn({ cpu: limits.cpu }, 'sandbox cpu limit not enforced: no writable cgroup cpu controller');
    }
    const { namespace, etcDir } = await this.holderNamespace(tools, owner, layout.stateDir, stateMount);
    let holder: Awaited<ReturnType<typeof startHolder>>;
    try {
      holder = await startHolder(namespace, layout, owner, {
        diskBytes: limits.diskBytes,
        tmpBytes: limits.tmpBytes ?? this.options.tmpBytes ?? DEFAULT_TMP_BYTES,
        exec,
      });
    } catch (error) {
      if (cgroup) for (const dir of cgroup.dirs) await removeCgroup(dir).catch(() => {});
      throw error;
    }
    return new LocalSandbox({
      id,
      tools,
      owner,
      layout,
      holder,
      cgroup,
      limits,
      limitsEnforcement: host.kind,
      env: spec.env ?? {},
      rootLayout: this.rootLayout,
      readOnlyPaths: this.options.readOnlyPaths ?? [],
      etc: this.etc,
      mounts,
      stateMount,
      etcDir,
    });
  }

  /**
   * How a holder gets its namespaces: inside the curated /etc's template when bwrap can reach
   * the state dir's parent (one bind then shows /etc), else on its own (a bind per entry).
   */
  private async holderNamespace(
    tools: HostTools,
    owner: HostOwner,
    stateDir: string,
    stateMount: string,
  ): Promise<{ namespace: string[]; etcDir?: string }> {
    const alone = { namespace: [tools.unshare, ...(owner.drop ? ['-m'] : ['-r', '-m']), '--'] };
    if (stateMount !== stateDir || this.etc.length === 0) return alone;
    const dir = etcTemplateDir(dirname(stateDir));
    let template = this.etcTemplates.get(dir);
    if (!template) {
      template = new EtcTemplate(tools, owner, dir, this.etc);
      this.etcTemplates.set(dir, template);
    }
    try {
      return { namespace: await template.namespaceCommand(), etcDir: dir };
    } catch (error) {
      if (!this.warnedEtc) {
        this.warnedEtc = true;
        this.log.warn(
          { dir, err: (error as Error).message },
          'could not assemble the sandbox /etc once; binding it per exec',
        );
      }
      return alone;
    }
  }

  /** Host files to mask for a deny list; the host's /usr rarely changes, so it is computed once. */
  private denied(deny: string[], pathDirs: string[]): string[] {
    if (deny.length === 0) return [];
    const key = JSON.stringify([deny, pathDirs]);
    let files = this.deniedCache.get(key);
    if (!files) {
      files = deniedFiles(deny, pathDirs, EXEC_PLACES);
      this.deniedCache.set(key, files);
    }
    return files;
  }
}
