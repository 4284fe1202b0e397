/**
 * Globs over repository paths, as `publish.protected_paths` writes them. Node's
 * `path.matchesGlob` is still experimental on Node 20 (it prints a warning), so this is ours.
 */

/**
 * Compiles a glob to a regular expression matching whole paths relative to the repo root:
 * `**` matches any number of directories (none included), `*` anything within one path
 * segment, `?` one character other than `/`. Dotfiles are matched like any other file. A
 * leading `/` anchors nothing more (patterns are always relative to the root); a trailing `/`
 * means everything below that directory.
 *
 * @example globToRegExp('.github/workflows/**').test('.github/workflows/ci.yml') // true
 * @example globToRegExp('*.pem').test('keys/server.pem') // false: use '**\/*.pem'
 */
export function globToRegExp(glob: string): RegExp {
  let pattern = glob.trim().replace(/^\.?\/+/, '');
  if (pattern.endsWith('/')) pattern += '**';
  const segments = pattern.split('/');
  let source = '';
  for (const [index, segment] of segments.entries()) {
    const last = index === segments.length - 1;
    if (segment === '**') {
      source += last ? '.*' : '(?:[^/]*/)*';
      continue;
    }
    source += segmentSource(segment) + (last ? '' : '/');
  }
  return new RegExp(`^${source}$`);
}

function segmentSource(segment: string): string {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const char = segment[i]!;
    if (char === '*') {
      while (segment[i + 1] === '*') i++;
      source += '[^/]*';
    } else if (char === '?') {
      source += '[^/]';
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return source;
}

/** Normalizes a changed path: no leading `./` or `/`. */
export function normalizeRepoPath(path: string): string {
  return path.replace(/^(?:\.\/|\/)+/, '');
}

/**
 * Whether `path` (relative to the repo root) matches `glob`.
 *
 * @example matchesGlob('.github/workflows/ci.yml', '.github/**') // true
 */
export function matchesGlob(path: string, glob: string): boolean {
  return globToRegExp(glob).test(normalizeRepoPath(path));
}
