import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { readOr } from '../../core/sync-fs.ts';
import type { LocalTarget } from './deliver.ts';
import type { Git } from './git.ts';

/** How a local repository takes a run's branch: written directly, or pushed so it sees the push. */
export interface LocalReceive {
  /** It has `receive.*` or `transfer.*` settings, or a hook a push runs: the branch is pushed. */
  push: boolean;
  /**
   * The push runs the repository's hooks: only when Nightshift's user owns it. Another user's
   * hooks would run as Nightshift's user (root, say); their settings still apply.
   */
  hooks: boolean;
  /** A push refuses the branch a work tree has checked out (`receive.denyCurrentBranch` unset or true). */
  refusesCheckedOut: boolean;
}

/** The hooks `git receive-pack` runs in the repository it receives into. */
const PUSH_HOOKS = [
  'pre-receive',
  'update',
  'proc-receive',
  'push-to-checkout',
  'reference-transaction',
  'post-receive',
  'post-update',
];

/**
 * Finds out whether a push to `target` would do more than write the ref: whether the
 * repository's own config (not Nightshift's) has a `receive.*` or `transfer.*` setting, and
 * whether its hooks dir (`core.hooksPath`, else `hooks/`) holds an executable hook a push
 * runs. One `git config` process, and one read of the hooks dir when there is no setting.
 * A `core.hooksPath` Nightshift cannot place (`~user/`, `%(prefix)/`, no value) counts as hooks.
 * The hooks of a repository another user owns never run (git's `safe.directory` reasoning).
 */
export async function localReceive(git: Git, target: LocalTarget): Promise<LocalReceive> {
  const settings = await receiveSettings(git, target.gitDir);
  const hooks = ownedByUs(target.gitDir);
  const refusesCheckedOut = refuses(settings.get('receive.denycurrentbranch'));
  if ([...settings.keys()].some((key) => key !== 'core.hookspath'))
    return { push: true, hooks, refusesCheckedOut };
  if (!hooks) return { push: false, hooks, refusesCheckedOut };
  const dir = hooksDir(target.gitDir, settings.get('core.hookspath'), git.env.HOME);
  return { push: dir === null || hasPushHook(dir), hooks, refusesCheckedOut };
}

/** Whether the user Nightshift runs as owns the git dir. */
function ownedByUs(gitDir: string): boolean {
  const uid = process.getuid?.();
  return uid === undefined || statSync(gitDir).uid === uid;
}

/**
 * Words a config file must hold to set anything `receiveSettings` looks for: the sections and
 * key (names are matched ignoring case), an include, or per-worktree config.
 */
const MAY_SET = /receive|transfer|hookspath|include|worktreeconfig/i;

/**
 * The repository's `receive.*`, `transfer.*` and `core.hooksPath` settings (lower-cased keys;
 * null for a key without a value), from its own config files: the global file and `-c` flags
 * every Nightshift git call has are left out. The last value of a key wins, as in git. A
 * config file without any of their words sets none of them: then no git process is started.
 */
async function receiveSettings(git: Git, gitDir: string): Promise<Map<string, string | null>> {
  const settings = new Map<string, string | null>();
  const config = readOr<string | null>(() => readFileSync(join(gitDir, 'config'), 'utf8'), null);
  if (config !== null && !MAY_SET.test(config)) return settings;
  const { stdout } = await git(
    [
      '--git-dir',
      gitDir,
      'config',
      '--null',
      '--show-scope',
      '--get-regexp',
      '^(receive|transfer)\\.|^core\\.hookspath$',
    ],
    // 1: no key matched.
    { okExitCodes: [1] },
  );
  // Each entry is `scope NUL key [LF value] NUL`.
  const fields = stdout.split('\0');
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] !== 'local' && fields[i] !== 'worktree') continue;
    const entry = fields[i + 1]!;
    const newline = entry.indexOf('\n');
    if (newline === -1) settings.set(entry, null);
    else settings.set(entry.slice(0, newline), entry.slice(newline + 1));
  }
  return settings;
}

/** Whether a push is refused the checked-out branch, by `receive.denyCurrentBranch` as git reads it. */
function refuses(value: string | null | undefined): boolean {
  if (value === undefined || value === null) return true;
  const word = value.toLowerCase();
  if (word === 'ignore' || word === 'warn' || word === 'updateinstead') return false;
  return !['false', 'no', 'off', '0', ''].includes(word);
}

/**
 * Where a push to the repository finds its hooks; null when Nightshift cannot tell. A relative
 * `core.hooksPath` is relative to the git dir: git runs a push's hooks there (githooks(5)).
 */
function hooksDir(gitDir: string, value: string | null | undefined, home: string | undefined): string | null {
  if (value === undefined) return join(gitDir, 'hooks');
  if (!value || value.startsWith('%(prefix)/')) return null;
  if (value === '~' || value.startsWith('~/')) return home ? join(home, value.slice(1)) : null;
  if (value.startsWith('~')) return null;
  return isAbsolute(value) ? value : resolve(gitDir, value);
}

/** Whether `dir` holds a hook a push runs: git runs only executable ones. */
function hasPushHook(dir: string): boolean {
  const names = readOr((): string[] => readdirSync(dir), []);
  return PUSH_HOOKS.some(
    (name) =>
      names.includes(name) &&
      readOr(() => {
        accessSync(join(dir, name), constants.X_OK);
        return true;
      }, false),
  );
}
