import type { DiffStat } from '../../core/run.ts';
import type { Git } from './git.ts';

/** Longest diff kept for a change; a longer one is cut at a line end and marked. */
export const MAX_DIFF_BYTES = 5 * 1024 * 1024;

const DIFF_FLAGS = ['--no-color', '--no-ext-diff', '--no-textconv'];

/** Files, insertions and deletions between two commits; a binary file counts as changed with 0/0. */
export async function diffStat(git: Git, gitDir: string, base: string, head: string): Promise<DiffStat> {
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
export async function fullDiff(
  git: Git,
  gitDir: string,
  base: string,
  head: string,
  maxBytes = MAX_DIFF_BYTES,
): Promise<string> {
  const { stdout, truncated } = await git(['--git-dir', gitDir, 'diff', ...DIFF_FLAGS, base, head], {
    maxStdoutBytes: maxBytes,
  });
  if (!truncated) return stdout;
  const cut = stdout.lastIndexOf('\n');
  const kept = cut >= 0 ? stdout.slice(0, cut + 1) : '';
  return `${kept}[diff truncated by Nightshift at ${maxBytes} bytes; see the branch for the whole change]\n`;
}
