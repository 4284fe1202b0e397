import { lstatSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, posix, relative } from 'node:path';
import { invalidInput } from '../../core/errors.ts';
import type { SandboxSpec } from '../types.ts';
import { SANDBOX_HOME, WORKSPACE } from './bwrap.ts';
import { EXEC_PLACES } from './executables.ts';

/**
 * The host `/etc` entries a sandbox sees (the rest of `/etc` is not there): name resolution, TLS
 * certificates, the dynamic linker, time zone, locale, shell startup files and what toolchains
 * link into `/etc` (alternatives, Java, Python, Perl, Maven). Left out on purpose, since they
 * often hold credentials: `npmrc`, `pip.conf`, `gitconfig`, `wgetrc`, `ssh`, `netrc`, `shadow`.
 */
const ETC_ALLOWED = [
  /^alternatives$/,
  /^bash\.bashrc$/,
  /^ca-certificates(\.conf)?$/,
  /^crypto-policies$/,
  /^debian_version$/,
  /^gai\.conf$/,
  /^host\.conf$/,
  /^inputrc$/,
  /^java-[\w.-]+$/,
  /^ld\.so\.(cache|conf|conf\.d)$/,
  /^locale\.(alias|conf)$/,
  /^localtime$/,
  /^lsb-release$/,
  /^magic(\.mime)?$/,
  /^maven$/,
  /^mime\.types$/,
  /^nsswitch\.conf$/,
  /^os-release$/,
  /^perl$/,
  /^pki$/,
  /^profile(\.d)?$/,
  /^protocols$/,
  /^python3(\.\d+)?$/,
  /^resolv\.conf$/,
  /^rpc$/,
  /^services$/,
  /^shells$/,
  /^ssl$/,
  /^terminfo$/,
  /^timezone$/,
];

/** The host `/etc` entries shown in every sandbox, as absolute paths (only those that exist). */
export function etcEntries(etc = '/etc'): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(etc);
  } catch {
    return [];
  }
  return names
    .filter((name) => ETC_ALLOWED.some((pattern) => pattern.test(name)))
    .filter((name) => {
      try {
        statSync(join(etc, name));
        return true;
      } catch {
        return false;
      }
    })
    .map((name) => `/etc/${name}`)
    .sort();
}

function under(path: string, place: string): boolean {
  return path === place || path.startsWith(`${place}/`);
}

/** Writable places of the sandbox that start empty: nothing in them needs hiding or protecting. */
const SCRATCH = ['/tmp', SANDBOX_HOME];

function normalized(what: string, path: string): string {
  if (!posix.isAbsolute(path)) {
    throw invalidInput(`${what} ${JSON.stringify(path)} must be an absolute path inside the sandbox`);
  }
  return posix.normalize(path).replace(/(.)\/$/, '$1');
}

/** True when `rel` exists in `baseDir` with no symlink on the way (a symlink could point at host files). */
function inBaseWithoutSymlinks(baseDir: string, rel: string): 'file' | 'dir' | undefined {
  let current = baseDir;
  let kind: 'file' | 'dir' | undefined;
  for (const part of rel.split('/').filter(Boolean)) {
    current = join(current, part);
    try {
      const stat = lstatSync(current);
      if (stat.isSymbolicLink()) return undefined;
      kind = stat.isDirectory() ? 'dir' : 'file';
    } catch {
      return undefined;
    }
  }
  return kind;
}

/** What a sandbox path is on the host, for paths outside the writable places. */
function hostKind(path: string): 'file' | 'dir' | undefined {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

export interface MountPlanInput {
  spec: Pick<SandboxSpec, 'filesystem' | 'sockets' | 'files' | 'executables'>;
  baseDir: string;
  stateDir: string;
  /** Where the launcher shows the state dir while bwrap starts. */
  stateMount: string;
  /** Host paths hidden from every sandbox (the provider's `hiddenPaths`). */
  hostHidden: string[];
  /** Host files masked so they cannot run (from `deniedFiles`). */
  denied: string[];
  /** Host paths bound into the sandbox at the same place (/usr, /etc entries, read-only paths). */
  visibleRoots: string[];
}

/**
 * bwrap arguments applied after the workspace, home and /tmp are in place: `.git` protections,
 * read-only and hidden paths, masked executables, sockets. Computed once per sandbox.
 */
export function planMounts(input: MountPlanInput): string[] {
  const { spec, baseDir, stateMount } = input;
  const args: string[] = [];
  const masked = `${stateMount}/masked`;
  const merged = `${stateMount}/merged`;
  if (inBaseWithoutSymlinks(baseDir, '.git') === 'dir') {
    // .git becomes a mount point, so it cannot be renamed or replaced to get writable hooks.
    args.push('--bind', `${merged}/.git`, `${WORKSPACE}/.git`);
    args.push('--ro-bind', `${merged}/.git/hooks`, `${WORKSPACE}/.git/hooks`);
    args.push('--ro-bind-try', `${merged}/.git/config`, `${WORKSPACE}/.git/config`);
  }
  for (const raw of spec.filesystem?.readOnly ?? []) {
    const path = normalized('read-only path', raw);
    if (!under(path, WORKSPACE) || path === WORKSPACE) {
      if (path === WORKSPACE) args.push('--remount-ro', WORKSPACE);
      continue;
    }
    const rel = relative(WORKSPACE, path);
    if (inBaseWithoutSymlinks(baseDir, rel)) args.push('--ro-bind', `${merged}/${rel}`, path);
  }
  // Masking a path nothing shows would create it (and its parents) in the sandbox's root.
  const visible = (path: string): boolean => input.visibleRoots.some((root) => under(path, root));
  const hide = (path: string, kind: 'file' | 'dir' | undefined): void => {
    if (kind === 'file') args.push('--ro-bind', masked, path);
    else if (kind === 'dir') args.push('--tmpfs', path, '--remount-ro', path);
  };
  for (const raw of spec.filesystem?.hidden ?? []) {
    const path = normalized('hidden path', raw);
    if (SCRATCH.some((place) => under(path, place))) continue;
    if (under(path, WORKSPACE)) hide(path, inBaseWithoutSymlinks(baseDir, relative(WORKSPACE, path)));
    else if (visible(path)) hide(path, hostKind(path));
  }
  for (const path of input.hostHidden) if (visible(path)) hide(path, hostKind(path));
  for (const file of input.denied) args.push('--ro-bind', masked, file);
  for (const socket of spec.sockets ?? []) {
    const target = normalized('socket target', socket.target);
    if (under(target, WORKSPACE)) {
      throw invalidInput(
        `socket target ${target} is in the workspace`,
        'mount sockets outside /workspace, e.g. under /run/nightshift',
      );
    }
    args.push('--bind', hostSource(socket.path, input.stateDir, stateMount), target);
  }
  for (const file of spec.files ?? []) {
    const target = normalized('file target', file.target);
    if (SCRATCH.some((place) => under(target, place)) || under(target, WORKSPACE)) {
      throw invalidInput(`file target ${target} is in a writable place`, 'show files under /run/nightshift');
    }
    args.push('--ro-bind', hostSource(file.path, input.stateDir, stateMount), target);
  }
  return args;
}

/**
 * Where bwrap finds a host socket or file: state dir paths through the launcher's mount, others
 * as they are, which bwrap (running as the sandbox's uid) must be able to reach.
 */
function hostSource(path: string, stateDir: string, stateMount: string): string {
  if (!isAbsolute(path)) throw invalidInput(`host path ${JSON.stringify(path)} must be absolute`);
  if (under(path, stateDir)) return posix.join(stateMount, relative(stateDir, path));
  if (under(path, '/tmp')) {
    throw invalidInput(
      `${path} is under /tmp, which the launcher replaces while bwrap starts`,
      "put it in the sandbox's state dir or outside /tmp",
    );
  }
  const closed = closedAncestor(path);
  if (closed) {
    throw invalidInput(
      `${path} cannot be shown in the sandbox: its sandboxed user may not enter ${closed} (mode ${modeOf(closed)})`,
      'keep host files shown in sandboxes in directories anyone may enter, such as /var/cache/nightshift (for agent CLIs: set NIGHTSHIFT_TOOLS_DIR)',
    );
  }
  return path;
}

/**
 * The first directory on the way to `path` that other users may not enter, when Nightshift runs
 * as root (bwrap then runs as the sandbox's own uid, an "other" to every host directory).
 */
export function closedAncestor(path: string, asRoot = process.getuid?.() === 0): string | undefined {
  if (!asRoot) return undefined;
  let dir = posix.dirname(path);
  const ancestors: string[] = [];
  while (dir !== '/') {
    ancestors.unshift(dir);
    dir = posix.dirname(dir);
  }
  return ancestors.find((place) => {
    const mode = statSync(place, { throwIfNoEntry: false })?.mode;
    return mode !== undefined && (mode & 0o001) === 0;
  });
}

function modeOf(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

/** Checks `executables.allowExecFrom`: only the writable places can be named. */
export function execPlaces(allow: string[] | undefined): Set<string> {
  const places = new Set<string>();
  for (const raw of allow ?? []) {
    const path = normalized('allowExecFrom entry', raw);
    if (!(EXEC_PLACES as readonly string[]).includes(path)) {
      throw invalidInput(
        `allowExecFrom entry ${path} is not one of ${EXEC_PLACES.join(', ')}`,
        'executing is decided per writable place; everything outside them is read-only and executable',
      );
    }
    places.add(path);
  }
  return places;
}
