import type { Sandbox } from '../../sandbox/types.ts';
import type { FileOptions } from './files.ts';
import { capture, DEFAULT_OUTPUT_CHARS, truncate } from './output.ts';
import { globToRegExp, relativePath, ToolInputError, workspacePath } from './paths.ts';

/** Most file names `list_files` returns. */
const MAX_FILES = 1000;
/** Most matching lines `grep` returns. */
const MAX_MATCHES = 500;

/** Files tracked or not ignored by git under the directory; every file but `.git` when git cannot say. */
const LIST_SCRIPT = [
  'cd "$1" || exit 2',
  'git ls-files -co --exclude-standard 2>/dev/null && exit 0',
  'find . -type f -not -path "*/.git/*" | sed "s|^\\./||"',
].join('\n');

/**
 * Workspace files under `path` (default the whole workspace), relative to the workspace,
 * honouring `.gitignore`; `pattern` is a glob (`*.ts`, `src/**\/*.test.ts`) relative to `path`.
 */
export async function listFiles(
  sandbox: Sandbox,
  input: { path?: string; pattern?: string },
  options: FileOptions = {},
): Promise<string> {
  const absolute = workspacePath(input.path ?? '.');
  const result = await capture(sandbox, ['sh', '-c', LIST_SCRIPT, 'sh', absolute], {
    signal: options.signal,
  });
  if (result.exitCode !== 0) {
    throw new ToolInputError(
      `cannot list ${input.path ?? '.'}: ${result.stderr.trim() || 'not a directory'}`,
    );
  }
  const base = relativePath(absolute);
  const match = input.pattern ? globToRegExp(input.pattern) : null;
  const files = [...new Set(result.stdout.split('\n'))]
    .filter((file) => file !== '' && (!match || match.test(file)))
    .map((file) => (base === '.' ? file : `${base}/${file}`))
    .sort();
  if (files.length === 0) return 'no files found';
  const shown = files.slice(0, MAX_FILES).join('\n');
  const more =
    files.length > MAX_FILES ? `\n[${files.length - MAX_FILES} more files; narrow the path or pattern]` : '';
  return truncate(shown, options.maxChars ?? DEFAULT_OUTPUT_CHARS) + more;
}

/**
 * Lines matching a regular expression (POSIX extended) in workspace files under `path`, as
 * `file:line:text`; `glob` limits the file names searched (`*.ts`). Binary files and `.git` are skipped.
 */
export async function grepFiles(
  sandbox: Sandbox,
  input: { pattern: string; path?: string; glob?: string; ignoreCase?: boolean },
  options: FileOptions = {},
): Promise<string> {
  const target = relativePath(workspacePath(input.path ?? '.'));
  const argv = ['grep', '-rnIE', '--exclude-dir=.git', '--color=never'];
  if (input.ignoreCase) argv.push('-i');
  if (input.glob) argv.push(`--include=${input.glob}`);
  argv.push('-e', input.pattern);
  if (target !== '.') argv.push('--', target);
  const result = await capture(sandbox, argv, { signal: options.signal });
  if (result.exitCode === 1) return 'no matches';
  if (result.exitCode !== 0 && result.stdout === '') {
    throw new ToolInputError(`grep failed: ${result.stderr.trim() || `exit ${result.exitCode}`}`);
  }
  const lines = result.stdout.split('\n').filter((line) => line !== '');
  const shown = lines.slice(0, MAX_MATCHES).join('\n');
  const more =
    lines.length > MAX_MATCHES
      ? `\n[${lines.length - MAX_MATCHES} more matches; narrow the pattern or path]`
      : '';
  return truncate(shown, options.maxChars ?? DEFAULT_OUTPUT_CHARS) + more;
}
