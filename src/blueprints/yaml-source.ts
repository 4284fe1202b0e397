import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { Locator, PathSegment, Problem } from './problems.ts';

/** A YAML file parsed to plain data, with a way to find any path's line and column. */
export interface YamlSource {
  /** The parsed data, or undefined when the file had syntax errors. */
  data?: unknown;
  locate: Locator;
  errors: Problem[];
  warnings: Problem[];
}

/**
 * Parses YAML text, turning syntax errors and warnings into problems with line and column.
 * Duplicate keys are syntax errors.
 */
export function parseYamlSource(text: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const position = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  const locate: Locator = (path, options = {}) => {
    const offset = findOffset(doc.contents, path, options.key ?? false);
    return offset === undefined ? undefined : position(offset);
  };
  const toProblem = (error: { message: string; pos: [number, number] }): Problem => ({
    path: '',
    message: error.message.split('\n')[0]!,
    ...position(error.pos[0]),
  });

  const errors = doc.errors.map(toProblem);
  const warnings = doc.warnings.map(toProblem);
  if (errors.length > 0) return { locate, errors, warnings };
  return { data: doc.toJS({ maxAliasCount: 1000 }), locate, errors, warnings };
}

/**
 * Offset of the node at `path`, or of its key with `key`; when the path does not exist
 * (a missing key), the offset of the deepest node that does.
 */
function findOffset(root: unknown, path: PathSegment[], key: boolean): number | undefined {
  let node = root as Node | null | undefined;
  let offset = node?.range?.[0];
  for (const [index, segment] of path.entries()) {
    const last = index === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((item) => (isScalar(item.key) ? item.key.value : item.key) === segment);
      if (!pair) return offset;
      const keyNode = pair.key as Node | null;
      if (last && key && keyNode?.range) return keyNode.range[0];
      node = pair.value as Node | null;
      offset = node?.range?.[0] ?? keyNode?.range?.[0] ?? offset;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment] as Node | null | undefined;
      if (!node) return offset;
      offset = node.range?.[0] ?? offset;
    } else {
      return offset;
    }
  }
  return offset;
}

/**
 * A configuration file's text, or undefined when it does not exist. Any other read error
 * becomes the caller's typed error (fail closed: a file that exists is never skipped).
 */
export async function readOptionalFile(
  path: string,
  failure: (error: Error) => Error,
): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw failure(error as Error);
  }
}

/** The largest configuration file read from a repository. */
const MAX_REPO_FILE_BYTES = 1024 * 1024;

/**
 * A configuration file of a repository checkout (`relative` to `repoDir`), or undefined when it
 * has none. A repository is untrusted, and the file is read as Nightshift's user (root on a
 * server), so only a regular file inside the checkout, of at most 1 MiB, is read: a symbolic
 * link out of it (to /etc/shadow, to a host secret) or to a device (/dev/zero), and anything
 * else, becomes the caller's typed error, naming what it is. Read with synchronous calls: a
 * few a run, a tenth of the CPU of promises.
 */
export function readRepoFile(
  repoDir: string,
  relative: string,
  failure: (error: Error) => Error,
): string | undefined {
  const path = join(repoDir, relative);
  let real: string;
  let root: string;
  try {
    real = realpathSync(path);
    root = realpathSync(repoDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A link to nothing is no file, as git would check it out.
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw failure(error as Error);
  }
  if (!real.startsWith(root + sep)) {
    throw failure(new Error(`it leads out of the repository (to ${real}); it must be a file in it`));
  }
  let fd: number;
  try {
    fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    throw failure(error as Error);
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw failure(new Error('it is not a regular file'));
    if (info.size > MAX_REPO_FILE_BYTES) {
      throw failure(
        new Error(
          `it is ${info.size} bytes, more than the ${MAX_REPO_FILE_BYTES} a configuration file may be`,
        ),
      );
    }
    const buffer = Buffer.alloc(info.size);
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
