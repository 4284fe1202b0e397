/**
 * Problems found in a configuration file (a blueprint, an environment), each with the
 * dot-path of the offending value and, when known, where it is in the file.
 */

/** One segment of a path into parsed data: a mapping key or a list index. */
export type PathSegment = string | number;

/** A problem in a configuration file: `steps[2].run: expected a string` at line 7, column 10. */
export interface Problem {
  /** Dot-path of the value, such as `steps[2].run`; empty for the whole file. */
  path: string;
  message: string;
  /** 1-based line in the file, when the value could be located. */
  line?: number;
  /** 1-based column in the file, when the value could be located. */
  column?: number;
}

/** Finds the line and column of the value (or, with `key`, of the mapping key) at `path`. */
export type Locator = (
  path: PathSegment[],
  options?: { key?: boolean },
) => { line: number; column: number } | undefined;

/**
 * Formats a path as users write it: `steps[2].agent.prompt`, `env["a.b"]`.
 *
 * @example formatPath(['steps', 2, 'run']) // 'steps[2].run'
 */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Builds a problem at `path`, located in the file by `locate` when possible. */
export function problemAt(
  path: PathSegment[],
  message: string,
  locate?: Locator,
  options: { key?: boolean } = {},
): Problem {
  const position = locate?.(path, options);
  return position ? { path: formatPath(path), message, ...position } : { path: formatPath(path), message };
}

/** Orders problems by where they are in the file; problems without a position keep their order, last. */
export function sortProblems(problems: Problem[]): Problem[] {
  return problems
    .map((problem, index) => ({ problem, index }))
    .sort(
      (a, b) =>
        (a.problem.line ?? Number.MAX_SAFE_INTEGER) - (b.problem.line ?? Number.MAX_SAFE_INTEGER) ||
        (a.problem.column ?? 0) - (b.problem.column ?? 0) ||
        a.index - b.index,
    )
    .map(({ problem }) => problem);
}

/**
 * Formats one problem as `file:line:col path: message`, the way compilers do, so editors
 * and terminals can jump to it.
 *
 * @example formatProblem({ path: 'steps[2].run', message: 'expected a string', line: 7, column: 10 }, 'fix.yml')
 * // 'fix.yml:7:10 steps[2].run: expected a string'
 */
export function formatProblem(problem: Problem, file?: string): string {
  const where = [file, problem.line, problem.line !== undefined ? problem.column : undefined]
    .filter((part) => part !== undefined && part !== '')
    .join(':');
  const what = problem.path ? `${problem.path}: ${problem.message}` : problem.message;
  return where ? `${where} ${what}` : what;
}

/** Suggests the candidate closest to `word` when it is close enough to be a likely typo. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best === undefined) return undefined;
  const allowed = Math.max(1, Math.floor(Math.max(word.length, best.length) / 3));
  const isPrefix = word.length >= 3 && (best.startsWith(word) || word.startsWith(best));
  return bestDistance <= allowed || isPrefix ? best : undefined;
}

/** Appends ` (did you mean \`x\`?)` when a close candidate exists. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const suggestion = suggest(word, candidates);
  return suggestion ? ` (did you mean \`${suggestion}\`?)` : '';
}

function editDistance(a: string, b: string): number {
  // Optimal string alignment: insertions, deletions, substitutions and swaps of neighbours.
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        current[j] = Math.min(current[j]!, beforePrevious[j - 2]! + 1);
      }
    }
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length]!;
}
