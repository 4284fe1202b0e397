import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NightshiftError } from '../../core/errors.ts';
import { runProcess } from '../../process/index.ts';

/** Path of the launcher script shipped beside this file. */
export const LAUNCHER = fileURLToPath(new URL('./launch.sh', import.meta.url));

/** Host programs the local sandbox runs, resolved to absolute paths. */
export interface HostTools {
  bwrap: string;
  unshare: string;
  nsenter: string;
  setpriv: string;
  prlimit: string;
  /** Present when exec tracing is on (`traceExecs`). */
  strace?: string;
}

const INSTALL_BWRAP = 'run `apt-get install bubblewrap` (see docs/install.md)';
const INSTALL_UTIL_LINUX = 'run `apt-get install util-linux` (see docs/install.md)';

/** True when Nightshift runs as root (the sandbox then drops to a dedicated host uid). */
export function runningAsRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Finds `name` on PATH (or checks it when it is a path); undefined when it is not executable. */
export async function findExecutable(name: string): Promise<string | undefined> {
  const candidates = name.includes('/')
    ? [name]
    : (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin')
        .split(delimiter)
        .filter((dir) => isAbsolute(dir))
        .map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** Resolves every host program the sandbox needs, or throws SANDBOX_UNAVAILABLE saying which is missing. */
export async function resolveHostTools(bwrapPath: string, traceExecs = false): Promise<HostTools> {
  const bwrap = await findExecutable(bwrapPath);
  if (!bwrap) {
    throw new NightshiftError(
      'SANDBOX_UNAVAILABLE',
      `bubblewrap is not installed (no executable "${bwrapPath}")`,
      {
        hint: INSTALL_BWRAP,
      },
    );
  }
  const tools: Partial<HostTools> = { bwrap };
  for (const name of ['unshare', 'nsenter', 'setpriv', 'prlimit'] as const) {
    const found = await findExecutable(name);
    if (!found) {
      throw new NightshiftError('SANDBOX_UNAVAILABLE', `${name} (util-linux) is not installed`, {
        hint: INSTALL_UTIL_LINUX,
      });
    }
    tools[name] = found;
  }
  if (traceExecs) {
    tools.strace = await findExecutable('strace');
    if (!tools.strace) {
      throw new NightshiftError('SANDBOX_UNAVAILABLE', 'strace is not installed (exec tracing needs it)', {
        hint: 'run `apt-get install strace`, or set NIGHTSHIFT_TRACE_EXECS=0 to run without exec tracing',
      });
    }
  }
  return tools as HostTools;
}

async function readSysctl(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** Throws SANDBOX_UNAVAILABLE when a sysctl turns user namespaces off. */
export async function assertUserNamespaces(): Promise<void> {
  if ((await readSysctl('/proc/sys/user/max_user_namespaces')) === '0') {
    throw new NightshiftError(
      'SANDBOX_UNAVAILABLE',
      'user namespaces are disabled (user.max_user_namespaces = 0)',
      {
        hint: 'run `sysctl -w user.max_user_namespaces=15000` (see docs/sandbox.md)',
      },
    );
  }
  if ((await readSysctl('/proc/sys/kernel/unprivileged_userns_clone')) === '0') {
    throw new NightshiftError(
      'SANDBOX_UNAVAILABLE',
      'unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0)',
      { hint: 'run `sysctl -w kernel.unprivileged_userns_clone=1` (see docs/sandbox.md)' },
    );
  }
}

/** A hint for a failed bwrap smoke test, naming the likely cause on this host. */
export async function userNamespaceHint(): Promise<string> {
  if ((await readSysctl('/proc/sys/kernel/apparmor_restrict_unprivileged_userns')) === '1') {
    return 'AppArmor restricts unprivileged user namespaces: allow them for bwrap or run `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` (see docs/sandbox.md)';
  }
  return 'bubblewrap could not create its namespaces here; inside a container, allow user namespaces (see docs/sandbox.md)';
}

/** Runs a short host command and returns its exit code and output (never throws for a non-zero exit). */
export async function runHost(
  file: string,
  args: string[],
  timeoutMs = 10_000,
): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  const { exitCode, stdout, stderr } = await runProcess(file, args, { timeoutMs, stdin: 'ignore' });
  return { exitCode, stdout, stderr };
}
