import { posix } from 'node:path';

/** Where the workspace is inside every sandbox. */
export const WORKSPACE = '/workspace';

/** A tool input the model can correct (a path outside the workspace, an ambiguous edit): its message goes back to the model. */
export class ToolInputError extends Error {
  readonly code = 'TOOL_INPUT_INVALID';

  constructor(message: string) {
    super(message);
    this.name = 'ToolInputError';
  }
}

/**
 * The absolute sandbox path of `path` (relative to `/workspace`, or absolute inside it).
 * Refuses anything that resolves outside the workspace, `..` escapes included; the sandbox
 * would refuse writes there anyway, this keeps reads of the rest of the sandbox out too.
 *
 * @example
 * workspacePath('src/a.ts') // '/workspace/src/a.ts'
 * workspacePath('../etc/passwd') // throws ToolInputError
 */
export function workspacePath(path: string): string {
  if (path.includes('\0')) throw new ToolInputError(`the path ${JSON.stringify(path)} contains a NUL byte`);
  const trimmed = path.trim() === '' ? '.' : path.trim();
  const absolute = posix.resolve(WORKSPACE, trimmed);
  if (absolute !== WORKSPACE && !absolute.startsWith(`${WORKSPACE}/`)) {
    throw new ToolInputError(
      `${path} is outside the workspace: give a path relative to ${WORKSPACE} (e.g. src/index.ts)`,
    );
  }
  return absolute;
}

/** `path` as the model should see it: relative to the workspace (`.` for the workspace itself). */
export function relativePath(absolute: string): string {
  return absolute === WORKSPACE ? '.' : posix.relative(WORKSPACE, absolute);
}

/**
 * A glob as a regular expression over workspace-relative paths: `**` any depth, `*` and `?`
 * within one segment, `{a,b}` alternatives. A glob without `/` matches file names at any depth.
 */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  let inBraces = false;
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (char === '{') {
      inBraces = true;
      source += '(?:';
    } else if (char === '}' && inBraces) {
      inBraces = false;
      source += ')';
    } else if (char === ',' && inBraces) source += '|';
    else source += char.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp(glob.includes('/') ? `^${source}$` : `(?:^|/)${source}$`);
}
