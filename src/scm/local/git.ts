import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NightshiftError } from '../../core/errors.ts';
import { type RunResult, runProcess } from '../../process/index.ts';

/**
 * Config every git process we start reads as its "global" config, in place of the user's
 * `~/.gitconfig`. It is a file (not `-c`) because git drops `-c` settings when it starts
 * `upload-pack`/`receive-pack` for a local clone or push, and those must see it too:
 * hooks off everywhere, and repositories owned by another uid accepted (we may run as root).
 */
const GLOBAL_CONFIG =
  '[safe]\n\tdirectory = *\n[core]\n\thooksPath = /dev/null\n[receive]\n\tautogc = false\n';

/** The same without turning hooks off: for a push whose receiving repository runs its own. */
const RECEIVE_HOOKS_CONFIG = '[safe]\n\tdirectory = *\n[receive]\n\tautogc = false\n';

/** Flags for a git process that reads a work tree we do not own or trust. */
export const UNTRUSTED_TREE_FLAGS = ['-c', 'safe.directory=*', '-c', 'core.hooksPath=/dev/null'];

export interface GitOptions {
  cwd?: string;
  /** Added to the runner's environment (e.g. GIT_INDEX_FILE, GIT_AUTHOR_NAME). */
  env?: Record<string, string>;
  input?: string;
  /** Keep at most this many bytes of stdout; `truncated` is then true. */
  maxStdoutBytes?: number;
  /** Exit codes that are not failures (default: only 0). */
  okExitCodes?: number[];
  /**
   * Lets the local repository this command pushes to run its own hooks, as any push would:
   * the config its `receive-pack` inherits then leaves hooks on. The command itself still runs
   * none (git does not hand its `-c core.hooksPath=/dev/null` on).
   */
  receiveHooks?: boolean;
}

export interface GitResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** True when stdout was longer than `maxStdoutBytes` and was cut. */
  truncated: boolean;
}

/** Runs git with an argv array (never a shell), hooks disabled and user/system config ignored. */
export interface Git {
  (args: string[], options?: GitOptions): Promise<GitResult>;
  /** The environment every git call gets; pass it to git run elsewhere (e.g. through a WorkspaceView). */
  readonly env: Record<string, string>;
}

/**
 * Creates a git runner whose private config file lives in `stateDir`.
 * Failures throw GitCommandError (SCM_FAILED) carrying git’s stderr.
 *
 * @example
 * const git = await createGit('/home/me/.nightshift/tmp');
 * const { stdout } = await git(['rev-parse', 'HEAD'], { cwd: repoDir });
 */
export async function createGit(stateDir: string): Promise<Git> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const configFile = join(stateDir, 'gitconfig');
  const receiveHooksFile = join(stateDir, 'gitconfig-receive-hooks');
  await Promise.all([
    writeFile(configFile, GLOBAL_CONFIG, { mode: 0o600 }),
    writeFile(receiveHooksFile, RECEIVE_HOOKS_CONFIG, { mode: 0o600 }),
  ]);
  const env = gitEnv(configFile);
  const receiveHooksEnv = { ...env, GIT_CONFIG_GLOBAL: receiveHooksFile };
  const run = (args: string[], options: GitOptions = {}) =>
    runGit(args, options.receiveHooks ? receiveHooksEnv : env, options);
  return Object.assign(run, { env });
}

function gitEnv(configFile: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    // An inherited GIT_DIR, GIT_INDEX_FILE ... (e.g. when started from a git hook) would redirect our calls.
    if (value !== undefined && !key.startsWith('GIT_')) env[key] = value;
  }
  return {
    ...env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: configFile,
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
    LC_ALL: 'C',
  };
}

async function runGit(
  args: string[],
  baseEnv: Record<string, string>,
  options: GitOptions,
): Promise<GitResult> {
  let result: RunResult;
  try {
    result = await runProcess('git', ['-c', 'core.hooksPath=/dev/null', ...args], {
      cwd: options.cwd,
      env: { ...baseEnv, ...options.env },
      input: options.input,
      maxStdoutBytes: options.maxStdoutBytes,
    });
  } catch (error) {
    throw new NightshiftError('SCM_FAILED', `could not start git: ${(error as Error).message}`, {
      hint: 'install git (e.g. `apt-get install git`) and make sure it is on PATH',
      cause: error,
    });
  }
  const { stdout, stderr, exitCode, signal, truncated } = result;
  if (exitCode === 0 || (exitCode !== null && options.okExitCodes?.includes(exitCode))) {
    return { stdout, stderr, exitCode, truncated };
  }
  throw new GitCommandError(args, stderr, exitCode, signal);
}

/** SCM_FAILED for a git command that exited badly; the message ends with git's stderr. */
export class GitCommandError extends NightshiftError {
  /** The git arguments, e.g. `['fetch', '--prune', ...]`. */
  readonly args: string[];
  readonly stderr: string;
  /** Exit code, or null when git was killed by a signal. */
  readonly exitCode: number | null;

  constructor(args: string[], stderr: string, exitCode: number | null, signal: NodeJS.Signals | null = null) {
    const how = signal ? `was killed by ${signal}` : `exited with ${exitCode}`;
    const detail = stderr.trim();
    super('SCM_FAILED', `git ${commandName(args)} ${how}${detail ? `: ${detail}` : ''}`, {
      hint: 'git’s own message ends the error; check that the repository exists and is readable',
    });
    this.name = 'GitCommandError';
    this.args = args;
    this.stderr = stderr;
    this.exitCode = exitCode;
  }
}

/** The git subcommand of an argv, skipping global options such as `-c k=v` and `--git-dir X`. */
function commandName(args: string[]): string {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-c' || arg === '-C' || arg === '--git-dir' || arg === '--work-tree') i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return args.join(' ');
}
