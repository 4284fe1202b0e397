import { lstatSync, readlinkSync } from 'node:fs';

/** The uid and gid the workload has inside the sandbox. */
export const SANDBOX_UID = 1000;
export const SANDBOX_USER = 'nightshift';
export const SANDBOX_HOME = '/home/nightshift';
export const WORKSPACE = '/workspace';
export const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** How a top-level directory such as `/bin` exists on the host: a symlink (merged /usr) or a real directory. */
export type RootEntry = { path: string; symlink: string } | { path: string; directory: true };

const ROOT_DIRS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/** Reads how `/bin`, `/lib`... exist on this host, so the sandbox can mirror them. */
export function hostRootLayout(): RootEntry[] {
  const entries: RootEntry[] = [];
  for (const path of ROOT_DIRS) {
    try {
      const stat = lstatSync(path);
      if (stat.isSymbolicLink()) entries.push({ path, symlink: readlinkSync(path) });
      else if (stat.isDirectory()) entries.push({ path, directory: true });
    } catch {}
  }
  return entries;
}

/** The synthetic /etc/passwd and /etc/group of the sandbox, so `id`, `whoami` and git know the user. */
export function identityFiles(): { passwd: string; group: string; hosts: string } {
  return {
    passwd: [
      'root:x:0:0:root:/root:/usr/sbin/nologin',
      `${SANDBOX_USER}:x:${SANDBOX_UID}:${SANDBOX_UID}:Nightshift:${SANDBOX_HOME}:/bin/sh`,
      'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
      '',
    ].join('\n'),
    group: ['root:x:0:', `${SANDBOX_USER}:x:${SANDBOX_UID}:`, 'nogroup:x:65534:', ''].join('\n'),
    hosts: '127.0.0.1\tlocalhost nightshift\n::1\tlocalhost ip6-localhost ip6-loopback\n',
  };
}

export interface BwrapCommand {
  bwrap: string;
  /** Where the sandbox's state dir is visible when bwrap starts (the launcher mounts it there). */
  stateMount: string;
  rootLayout: RootEntry[];
  /** Extra host paths shown read-only at the same place (toolchains in /opt...); never under /tmp. */
  readOnlyPaths: string[];
  /** The host `/etc` entries shown (see `etcEntries`); the rest of `/etc` is absent. */
  etc: string[];
  /** A directory showing just those entries (see `EtcTemplate`): bound once as /etc instead. */
  etcDir?: string;
  /** Arguments applied once the writable places are mounted (see `planMounts`). */
  mounts: string[];
  /** Working directory inside the sandbox (absolute). */
  cwd: string;
  env: Record<string, string>;
  argv: string[];
}

/** The environment every sandboxed process starts from, before the spec's and the exec's variables. */
export function baseEnv(): Record<string, string> {
  return {
    HOME: SANDBOX_HOME,
    USER: SANDBOX_USER,
    LOGNAME: SANDBOX_USER,
    PATH: SANDBOX_PATH,
    LANG: 'C.UTF-8',
    TMPDIR: '/tmp',
    HOSTNAME: 'nightshift',
  };
}

/**
 * bwrap arguments for one exec: every namespace unshared (so loopback-only networking), uid 1000
 * with no capabilities, no nested user namespaces, a read-only root with the host's /usr and a
 * curated /etc, and the state dir's `merged`, `home` and `tmp` as the only writable places (mounted
 * `noexec` by the holder unless allowed).
 */
export function bwrapArgs(command: BwrapCommand): string[] {
  const state = command.stateMount;
  const args = [
    '--unshare-all',
    '--unshare-user',
    '--uid',
    String(SANDBOX_UID),
    '--gid',
    String(SANDBOX_UID),
    '--hostname',
    'nightshift',
    '--disable-userns',
    '--cap-drop',
    'ALL',
    '--die-with-parent',
    '--new-session',
    '--tmpfs',
    '/',
    '--ro-bind',
    '/usr',
    '/usr',
  ];
  for (const entry of command.rootLayout) {
    if ('symlink' in entry) args.push('--symlink', entry.symlink, entry.path);
    else args.push('--ro-bind', entry.path, entry.path);
  }
  if (command.etcDir) args.push('--ro-bind', command.etcDir, '/etc');
  else for (const path of command.etc) args.push('--ro-bind', path, path);
  for (const name of ['passwd', 'group', 'hosts']) args.push('--ro-bind', `${state}/${name}`, `/etc/${name}`);
  for (const path of command.readOnlyPaths) args.push('--ro-bind', path, path);
  args.push('--dev', '/dev', '--proc', '/proc');
  args.push('--bind', `${state}/merged`, WORKSPACE);
  args.push('--bind', `${state}/home`, SANDBOX_HOME);
  args.push('--bind', `${state}/tmp`, '/tmp');
  args.push(...command.mounts);
  args.push('--remount-ro', '/');
  args.push('--chdir', command.cwd, '--clearenv');
  for (const [name, value] of Object.entries(command.env)) args.push('--setenv', name, value);
  return [command.bwrap, ...args, '--', ...command.argv];
}
