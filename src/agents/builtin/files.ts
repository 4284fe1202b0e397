import type { Sandbox } from '../../sandbox/types.ts';
import { capture, DEFAULT_OUTPUT_CHARS, truncate } from './output.ts';
import { ToolInputError, workspacePath } from './paths.ts';

/** Lines `read_file` shows when the model gives no range. */
const DEFAULT_READ_LINES = 2000;

export interface FileOptions {
  signal?: AbortSignal;
  /** Cap on what goes back to the model, in characters. */
  maxChars?: number;
}

/** The whole text of a workspace file, read inside the sandbox. */
async function readWhole(sandbox: Sandbox, path: string, signal?: AbortSignal): Promise<string> {
  const absolute = workspacePath(path);
  const result = await capture(sandbox, ['cat', '--', absolute], { signal });
  if (result.exitCode !== 0) {
    throw new ToolInputError(
      `cannot read ${path}: ${result.stderr.trim() || `cat exited ${result.exitCode}`}`,
    );
  }
  if (result.overflowed) throw new ToolInputError(`${path} is too large to read whole (over 8 MiB)`);
  return result.stdout;
}

/**
 * Lines of a workspace file: `offset` is the first line (from 1), `limit` how many. Without a
 * range, the first 2000 lines; a note after the text says when there is more.
 */
export async function readFile(
  sandbox: Sandbox,
  input: { path: string; offset?: number; limit?: number },
  options: FileOptions = {},
): Promise<string> {
  const text = await readWhole(sandbox, input.path, options.signal);
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const first = Math.max(1, input.offset ?? 1);
  const count = Math.max(1, input.limit ?? DEFAULT_READ_LINES);
  const shown = lines.slice(first - 1, first - 1 + count);
  const last = first - 1 + shown.length;
  let body = shown.join('\n');
  if (shown.length > 0 && (last < lines.length || text.endsWith('\n'))) body += '\n';
  if (lines.length === 0) return `(${input.path} is empty)`;
  if (shown.length === 0) return `(${input.path} has ${lines.length} lines; none from line ${first})`;
  const partial = first > 1 || last < lines.length;
  const note = partial
    ? `\n[lines ${first}-${last} of ${lines.length}; pass offset and limit for others]`
    : '';
  return truncate(body, options.maxChars ?? DEFAULT_OUTPUT_CHARS) + note;
}

/** Writes `content` to a workspace file inside the sandbox (creating folders); says whether it was new. */
export async function writeFile(
  sandbox: Sandbox,
  input: { path: string; content: string },
  options: FileOptions = {},
): Promise<{ kind: 'added' | 'modified' }> {
  const absolute = workspacePath(input.path);
  const script =
    'if [ -e "$1" ]; then echo modified; else echo added; fi; mkdir -p -- "$(dirname -- "$1")" && cat > "$1"';
  const result = await capture(sandbox, ['sh', '-c', script, 'sh', absolute], {
    stdin: input.content,
    signal: options.signal,
  });
  if (result.exitCode !== 0) {
    throw new ToolInputError(
      `cannot write ${input.path}: ${result.stderr.trim() || `exit ${result.exitCode}`}`,
    );
  }
  return { kind: result.stdout.startsWith('modified') ? 'modified' : 'added' };
}

/**
 * Replaces `oldString` with `newString` in a workspace file. `oldString` must occur exactly once
 * (or `replaceAll` be set); otherwise nothing changes and the error says what to do.
 */
export async function editFile(
  sandbox: Sandbox,
  input: { path: string; oldString: string; newString: string; replaceAll?: boolean },
  options: FileOptions = {},
): Promise<{ replacements: number }> {
  const { path, oldString, newString } = input;
  if (oldString === '') {
    throw new ToolInputError('old_string is empty: to create a file or replace all of it, use write_file');
  }
  if (oldString === newString)
    throw new ToolInputError('old_string and new_string are the same: nothing to do');
  const text = await readWhole(sandbox, path, options.signal);
  const parts = text.split(oldString);
  const count = parts.length - 1;
  if (count === 0) {
    throw new ToolInputError(
      `old_string was not found in ${path}: read the file and copy the text exactly, whitespace and indentation included`,
    );
  }
  if (count > 1 && !input.replaceAll) {
    throw new ToolInputError(
      `old_string occurs ${count} times in ${path}: include more surrounding lines so it occurs once, or set replace_all to change every one`,
    );
  }
  await writeFile(sandbox, { path, content: parts.join(newString) }, options);
  return { replacements: count };
}
