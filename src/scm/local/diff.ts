import type { DiffStat } from '../../core/run.ts';
import type { Git } from './git.ts';

/** Longest diff kept for a change; a longer one is cut at a line end and marked. */
export const MAX_DIFF_BYTES = 5 * 1024 * 1024;

const DIFF_FLAGS = ['--no-color', '--no-ext-diff', '--no-textconv', '--no-renames'];

/** Runs git in the private git dir whose index holds the staged files. */
export type StagedGit = (args: string[], options?: { maxStdoutBytes?: number }) => ReturnType<Git>;

/** What the staged files change against the base commit. */
export interface StagedDiff {
  /** Paths a nested repository would be committed at (as a gitlink), each ending in `/`. */
  nested: string[];
  diffstat: DiffStat;
  /** The unified diff, at most `maxBytes` long (then ending with a marker line). */
  diff: string;
}

/**
 * The staged files' change against `base`, from one git process: `--raw --numstat -z
 * --patch` prints the raw records (modes, for the nested repositories), the NUL-ended numstat
 * records, an empty record, then the patch. A file is changed when it has a raw record.
 */
export async function stagedDiff(
  git: StagedGit,
  base: string,
  maxBytes = MAX_DIFF_BYTES,
): Promise<StagedDiff> {
  const against = ['--cached', base, '--'];
  const { stdout, truncated } = await git(
    ['diff', ...DIFF_FLAGS, '--raw', '--numstat', '-z', '--patch', ...against],
    { maxStdoutBytes: 2 * maxBytes },
  );
  if (stdout === '') return { nested: [], diffstat: parseNumstat(''), diff: '' };
  const end = stdout.indexOf('\0\0');
  if (end >= 0) {
    const patch = stdout.slice(end + 2);
    const cut = truncated || Buffer.byteLength(patch) > maxBytes;
    return {
      ...parseRecords(stdout.slice(0, end + 1)),
      diff: cut ? truncatedDiff(Buffer.from(patch).subarray(0, maxBytes).toString('utf8'), maxBytes) : patch,
    };
  }
  // The records alone longer than the limit: ask for each part separately.
  const [records, full] = await Promise.all([
    git(['diff', ...DIFF_FLAGS, '--raw', '--numstat', '-z', ...against]),
    git(['diff', ...DIFF_FLAGS, ...against], { maxStdoutBytes: maxBytes }),
  ]);
  return {
    ...parseRecords(records.stdout),
    diff: full.truncated ? truncatedDiff(full.stdout, maxBytes) : full.stdout,
  };
}

/**
 * Parses `git diff --raw --numstat -z --no-renames`: per file a raw record
 * (`:<old mode> <new mode> <old> <new> <status>\0<path>\0`), then per file a numstat record
 * (`<ins>\t<del>\t<path>\0`, `-` for binary).
 */
function parseRecords(output: string): Omit<StagedDiff, 'diff'> {
  const fields = output.split('\0');
  const nested: string[] = [];
  let i = 0;
  for (; i + 1 < fields.length && fields[i]!.startsWith(':'); i += 2) {
    const [oldMode, newMode] = fields[i]!.slice(1).split(' ');
    if (newMode === '160000' && oldMode !== '160000') nested.push(`${fields[i + 1]}/`);
  }
  return { nested, diffstat: parseNumstat(fields.slice(i).join('\0')) };
}

/** Parses `git diff --numstat -z --no-renames`: `<ins>\t<del>\t<path>\0` per file, `-` for binary. */
function parseNumstat(output: string): DiffStat {
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

/** `diff` cut at its last line end, with a line saying so. */
function truncatedDiff(diff: string, maxBytes: number): string {
  const cut = diff.lastIndexOf('\n');
  const kept = cut >= 0 ? diff.slice(0, cut + 1) : '';
  return `${kept}[diff truncated by Nightshift at ${maxBytes} bytes; see the branch for the whole change]\n`;
}
