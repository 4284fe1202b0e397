import type { DiffStat } from '../../core/run.ts';
import type { Git } from './git.ts';

/** Longest diff kept for a change; a longer one is cut at a line end and marked. */
export const MAX_DIFF_BYTES = 5 * 1024 * 1024;

const DIFF_FLAGS = ['--no-color', '--no-ext-diff', '--no-textconv'];

/** Files, insertions and deletions between two commits; a binary file counts as changed with 0/0. */
async function diffStat(git: Git, gitDir: string, base: string, head: string): Promise<DiffStat> {
  const { stdout } = await git([
    '--git-dir',
    gitDir,
    'diff',
    ...DIFF_FLAGS,
    '--numstat',
    '-z',
    '--no-renames',
    base,
    head,
  ]);
  return parseNumstat(stdout);
}

/** Parses `git diff --numstat -z --no-renames`: `<ins>\t<del>\t<path>\0` per file, `-` for binary. */
export function parseNumstat(output: string): DiffStat {
  const perFile: DiffStat['perFile'] = [];
  for (const record of output.split('\0')) {
    if (!record) continue;
    const [ins, del, ...rest] = record.split('\t');
    perFile.push({ path: rest.join('\t'), insertions: count(ins), deletions: count(del) });
  }
  return {
    files: perFile.length,
    insertions: perFile.reduce((sum, file) => sum + file.insertions, 0),
    deletions: perFile.reduce((sum, file) => sum + file.deletions, 0),
    perFile,
  };
}

function count(field: string | undefined): number {
  const n = Number(field);
  return Number.isInteger(n) ? n : 0;
}

/** The unified diff between two commits, at most `maxBytes` long (then ending with a marker line). */
async function fullDiff(
  git: Git,
  gitDir: string,
  base: string,
  head: string,
  maxBytes = MAX_DIFF_BYTES,
): Promise<string> {
  const { stdout, truncated } = await git(['--git-dir', gitDir, 'diff', ...DIFF_FLAGS, base, head], {
    maxStdoutBytes: maxBytes,
  });
  return truncated ? truncatedDiff(stdout, maxBytes) : stdout;
}

/**
 * The diffstat and the unified diff (at most `maxBytes`) between two commits, from one git
 * process: `--numstat -z --patch` prints the NUL-ended numstat records, an empty record, then
 * the patch.
 */
export async function changeDiff(
  git: Git,
  gitDir: string,
  base: string,
  head: string,
  maxBytes = MAX_DIFF_BYTES,
): Promise<{ diffstat: DiffStat; diff: string }> {
  const { stdout, truncated } = await git(
    ['--git-dir', gitDir, 'diff', ...DIFF_FLAGS, '--numstat', '-z', '--no-renames', '--patch', base, head],
    { maxStdoutBytes: 2 * maxBytes },
  );
  const end = stdout.indexOf('\0\0');
  if (end < 0) {
    // Numstat records alone longer than the limit: ask for each part separately.
    const [diffstat, diff] = await Promise.all([
      diffStat(git, gitDir, base, head),
      fullDiff(git, gitDir, base, head, maxBytes),
    ]);
    return { diffstat, diff };
  }
  const patch = stdout.slice(end + 2);
  const cut = truncated || Buffer.byteLength(patch) > maxBytes;
  return {
    diffstat: parseNumstat(stdout.slice(0, end + 1)),
    diff: cut ? truncatedDiff(Buffer.from(patch).subarray(0, maxBytes).toString('utf8'), maxBytes) : patch,
  };
}

/** `diff` cut at its last line end, with a line saying so. */
function truncatedDiff(diff: string, maxBytes: number): string {
  const cut = diff.lastIndexOf('\n');
  const kept = cut >= 0 ? diff.slice(0, cut + 1) : '';
  return `${kept}[diff truncated by Nightshift at ${maxBytes} bytes; see the branch for the whole change]\n`;
}
