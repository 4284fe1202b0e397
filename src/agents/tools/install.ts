import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { NightshiftError } from '../../core/errors.ts';
import { type RunResult, runProcess } from '../../process/index.ts';
import { acquireDirLock } from './lock.ts';

/** Written last into an installed tool's folder: its presence means the install is complete. */
const MARKER = '.nightshift-tool.json';

export interface InstallOptions {
  /** The tools cache (see `toolsDir`). */
  dir: string;
  /** npm package name, e.g. `@openai/codex`. */
  name: string;
  /** The pinned version. */
  version: string;
  /** What npm installs; default `name@version` (tests install a packed tarball). */
  spec?: string;
  /** Environment of npm (registry settings come from here and the user's npmrc). */
  env?: NodeJS.ProcessEnv;
  /** Progress lines for people: "installing ...", "waiting for ...". */
  onProgress?: (message: string) => void;
  /** Gives up on npm (and on another process's install) after this long; default 10 minutes. */
  timeoutMs?: number;
}

export interface InstalledTool {
  /** `<dir>/<name>@<version>`. */
  dir: string;
  /** The package itself: `<dir>/<name>@<version>/node_modules/<name>`. */
  packageDir: string;
  /** False when this call installed it. */
  cached: boolean;
}

/** Where a tool version lives in the cache (installed or not). */
export function toolPath(dir: string, name: string, version: string): string {
  return join(dir, `${name}@${version}`);
}

/** The installed tool, or null when that version is not (completely) installed. */
export async function installedTool(
  dir: string,
  name: string,
  version: string,
): Promise<InstalledTool | null> {
  const path = toolPath(dir, name, version);
  const marker = await readFile(join(path, MARKER), 'utf8').catch(() => null);
  if (marker === null) return null;
  return { dir: path, packageDir: join(path, 'node_modules', name), cached: true };
}

/**
 * Installs `name@version` into the tools cache once: npm installs into a temporary folder next
 * to the final one, which is then renamed into place, so a half-done install is never used. A
 * lock makes concurrent calls (other runs, other processes) wait for the first one.
 */
export async function installTool(options: InstallOptions): Promise<InstalledTool> {
  const { dir, name, version } = options;
  const done = await installedTool(dir, name, version);
  if (done) return done;
  const final = toolPath(dir, name, version);
  await mkdir(dirname(final), { recursive: true });
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;
  const release = await acquireDirLock(`${final}.lock`, {
    timeoutMs,
    onWait: () => options.onProgress?.(`waiting for another install of ${name}@${version}`),
  }).catch((error: unknown) => {
    throw new NightshiftError(
      'HARNESS_UNAVAILABLE',
      `could not install ${name}@${version}: ${String(error)}`,
      {
        hint: `remove ${final}.lock if no other Nightshift process is installing it`,
      },
    );
  });
  try {
    const again = await installedTool(dir, name, version);
    if (again) return again;
    const temp = `${final}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      options.onProgress?.(`installing ${name}@${version} with npm into ${final}`);
      await npmInstall(temp, options.spec ?? `${name}@${version}`, options.env ?? process.env, timeoutMs);
      await writeFile(
        join(temp, MARKER),
        `${JSON.stringify({ name, version, installedAt: new Date().toISOString() })}\n`,
      );
      await rm(final, { recursive: true, force: true });
      await rename(temp, final);
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
    options.onProgress?.(`installed ${name}@${version}`);
    return { dir: final, packageDir: join(final, 'node_modules', name), cached: false };
  } finally {
    await release();
  }
}

async function npmInstall(
  prefix: string,
  spec: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<void> {
  const args = [
    'install',
    '--prefix',
    prefix,
    '--no-save',
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
    spec,
  ];
  let result: RunResult;
  try {
    result = await runProcess('npm', args, { env, stdin: 'ignore', timeoutMs });
  } catch (error) {
    throw new NightshiftError(
      'HARNESS_UNAVAILABLE',
      `could not run npm to install ${spec}: ${(error as Error).message}`,
      {
        hint:
          (error as NodeJS.ErrnoException).code === 'ENOENT'
            ? 'npm is not on PATH: install Node.js with npm (see docs/install.md)'
            : 'check that npm works: `npm --version`',
      },
    );
  }
  const { exitCode, signal, stderr } = result;
  if (exitCode === 0) return;
  throw installFailure(
    spec,
    stderr.slice(-8192),
    exitCode === null ? `was killed (${signal})` : `exited with ${exitCode}`,
  );
}

/** A failed `npm install`, with a hint matching its cause. */
function installFailure(spec: string, stderr: string, how: string): NightshiftError {
  const lines = stderr.split('\n').filter((line) => line.trim() && !/Unknown user config/.test(line));
  const detail = lines.slice(-6).join('\n');
  const hint = /E(NOTFOUND|CONNREFUSED|AI_AGAIN|TIMEDOUT|CONNRESET|NETUNREACH)|network|fetch failed/i.test(
    stderr,
  )
    ? 'the npm registry is unreachable from this machine: check the network, or point npm at a reachable registry (`npm config get registry`, NPM_CONFIG_REGISTRY)'
    : /E404|ETARGET|No matching version/i.test(stderr)
      ? `npm has no ${spec}: check the package name and version`
      : 'run the same `npm install` by hand to see what is wrong';
  return new NightshiftError('HARNESS_UNAVAILABLE', `npm install ${spec} ${how}:\n${detail}`, { hint });
}
