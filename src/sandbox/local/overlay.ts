import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { invalidInput, NightshiftError } from '../../core/errors.ts';
import { pacer } from '../../core/pace.ts';
import { isDirectory, readOr, removeTree } from '../../core/sync-fs.ts';
import { identityFiles } from './bwrap.ts';
import { LAUNCHER, runHost } from './host.ts';
import { type Resident, startResident } from './resident.ts';

/** Who owns the workspace's files on the host: the dedicated sandbox uid under root, else ourselves. */
export interface HostOwner {
  uid: number;
  gid: number;
  /** True when Nightshift runs as root and the sandbox drops to `uid`. */
  drop: boolean;
}

/** Paths of one sandbox's state: the overlay's upper, work and merged dirs, plus home and tmp. */
export interface StateLayout {
  stateDir: string;
  baseDir: string;
  /** The overlay's upper dir: on the host disk, or (with `diskBytes`) in a tmpfs only the holder sees. */
  upper: string;
  work: string;
  merged: string;
}

/** How the holder mounts the sandbox's writable places. */
export interface HolderMounts {
  /** Size of the tmpfs holding the workspace's writes; undefined keeps them on the host disk, uncapped. */
  diskBytes?: number;
  /** Size of the `/tmp` tmpfs and of the home tmpfs. */
  tmpBytes: number;
  /** Writable places mounted without `noexec` (`/workspace`, `/tmp`, `/home/nightshift`). */
  exec: Set<string>;
}

/** Rejects paths the overlay mount options cannot carry. */
function assertMountablePath(what: string, path: string): void {
  if (/[,:\\\n]/.test(path)) {
    throw invalidInput(
      `${what} ${JSON.stringify(path)} contains a comma, colon, backslash or newline`,
      'move it to a path without those characters: the workspace overlay cannot mount it',
    );
  }
}

/**
 * Makes the shared base checkout owned by the sandbox uid, once. The marker sits next to the base
 * (never inside it, which would change the workspace); concurrent callers may both do it, which is
 * harmless since they write the same owner, and the marker is renamed into place atomically.
 */
export async function ensureBaseOwner(baseDir: string, owner: HostOwner): Promise<void> {
  if (!owner.drop) return;
  const marker = join(dirname(baseDir), `.${basename(baseDir)}.nightshift-owner`);
  const expected = `${owner.uid}:${owner.gid}\n`;
  if (readOr(() => readFileSync(marker, 'utf8'), '') === expected) return;
  try {
    await handOver(baseDir, owner, pacer());
  } catch (error) {
    throw new NightshiftError('SANDBOX_FAILED', `could not hand ${baseDir} to uid ${owner.uid}`, {
      cause: error,
    });
  }
  const temporary = `${marker}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temporary, expected);
  renameSync(temporary, marker);
}

/**
 * Gives `path` and everything under it to `owner`, except files with other hard links: a base's
 * git objects share their inodes with the repository they came from, whose owner must not
 * change. Those stay as they are when everyone may read them (git writes objects read-only for
 * all), and are replaced by an owned copy otherwise.
 */
async function handOver(path: string, owner: HostOwner, pace: () => Promise<void>): Promise<void> {
  await pace();
  const info = lstatSync(path);
  if (info.isDirectory()) {
    lchownSync(path, owner.uid, owner.gid);
    for (const name of readdirSync(path)) await handOver(join(path, name), owner, pace);
    return;
  }
  if (info.isFile() && info.nlink > 1) {
    if (info.mode & 0o004) return;
    const copy = `${path}.${randomBytes(4).toString('hex')}`;
    copyFileSync(path, copy);
    chmodSync(copy, info.mode & 0o777);
    renameSync(copy, path);
  }
  lchownSync(path, owner.uid, owner.gid);
}

/**
 * Creates the state dir's layout and the sandbox's identity files. The file system is called
 * synchronously here and in `ensureBaseOwner`: a few dozen small calls a sandbox, each a tenth
 * of its promise's CPU; a long walk gives the event loop turns (`pacer`).
 */
export async function prepareState(
  baseDirIn: string,
  stateDirIn: string,
  owner: HostOwner,
  diskBytes?: number,
): Promise<StateLayout> {
  if (!isDirectory(baseDirIn)) {
    throw invalidInput(
      `base dir ${baseDirIn} is not a directory`,
      'check out the repository before creating a sandbox',
    );
  }
  const baseDir = realpathSync(baseDirIn);
  mkdirSync(stateDirIn, { recursive: true });
  const stateDir = realpathSync(stateDirIn);
  assertMountablePath('base dir', baseDir);
  assertMountablePath('state dir', stateDir);
  const writes = diskBytes === undefined ? stateDir : join(stateDir, 'disk');
  const layout = {
    stateDir,
    baseDir,
    upper: join(writes, 'upper'),
    work: join(writes, 'work'),
    merged: join(stateDir, 'merged'),
  };
  // The unprivileged bwrap reaches the state dir only through its own mount of it, so it needs
  // search permission on the state dir itself but nothing on the directories above.
  chmodSync(stateDir, 0o711);
  // With diskBytes the holder creates upper and work in its tmpfs at `disk`.
  const dirs = diskBytes === undefined ? [layout.upper, layout.work] : [join(stateDir, 'disk')];
  for (const dir of [...dirs, layout.merged]) mkdirSync(dir, { recursive: true });
  for (const [dir, mode] of [
    ['home', 0o700],
    ['tmp', 0o1777],
  ] as const) {
    mkdirSync(join(stateDir, dir), { recursive: true });
    chmodSync(join(stateDir, dir), mode);
  }
  const identity = identityFiles();
  writeFileSync(join(stateDir, 'passwd'), identity.passwd, { mode: 0o644 });
  writeFileSync(join(stateDir, 'group'), identity.group, { mode: 0o644 });
  writeFileSync(join(stateDir, 'hosts'), identity.hosts, { mode: 0o644 });
  // Bound over hidden files and denied executables: empty, and neither readable nor executable.
  writeFileSync(join(stateDir, 'masked'), '', { mode: 0 });
  chmodSync(join(stateDir, 'masked'), 0);
  if (owner.drop) {
    for (const dir of [
      ...(diskBytes === undefined ? [layout.upper] : []),
      join(stateDir, 'home'),
      join(stateDir, 'tmp'),
    ]) {
      chownSync(dir, owner.uid, owner.gid);
    }
  }
  await ensureBaseOwner(baseDir, owner);
  return layout;
}

/**
 * The process holding the mount namespace where the workspace overlay is mounted. Every exec and
 * every view command enters that namespace, so all of them share one overlay instance (mounting the
 * same upper dir twice would be undefined behaviour). It lives until its stdin closes: on destroy,
 * or when Nightshift dies.
 */
export type OverlayHolder = Resident;

/** Mount options of the holder's mounts: the overlay's, and the tmpfs of the writes, /tmp and home. */
export function holderOptions(
  mounts: HolderMounts,
  owner: HostOwner,
): { overlay: string; disk: string | null; tmp: string; home: string } {
  const flags = (place: string): string => `nosuid,nodev${mounts.exec.has(place) ? '' : ',noexec'}`;
  // In the holder's user namespace (without root) the user is uid 0.
  const ids = owner.drop ? `uid=${owner.uid},gid=${owner.gid}` : 'uid=0,gid=0';
  return {
    overlay: `${flags('/workspace')}${owner.drop ? '' : ',userxattr'}`,
    disk: mounts.diskBytes === undefined ? null : `size=${mounts.diskBytes},mode=0711`,
    tmp: `size=${mounts.tmpBytes},mode=1777,${flags('/tmp')}`,
    home: `size=${mounts.tmpBytes},mode=0700,${ids},${flags('/home/nightshift')}`,
  };
}

/**
 * The holder's tmpfs mounts as an fstab (`mount -a -T` mounts them with one program instead of
 * one each), in order: the writes' (when capped), /tmp's, home's. A space or tab in a path is
 * written as fstab's octal escape.
 */
export function holderFstab(stateDir: string, options: ReturnType<typeof holderOptions>): string {
  const field = (path: string) => path.replaceAll(' ', '\\040').replaceAll('\t', '\\011');
  const line = (source: string, dir: string, opts: string) =>
    `${source} ${field(join(stateDir, dir))} tmpfs ${opts} 0 0\n`;
  return [
    options.disk === null ? '' : line('nightshift-disk', 'disk', options.disk),
    line('nightshift-tmp', 'tmp', options.tmp),
    line('nightshift-home', 'home', options.home),
  ].join('');
}

/**
 * Starts the holder running `launch.sh hold`, which mounts the size-capped tmpfs of /tmp, home
 * and (with `diskBytes`) the workspace's writes, then the overlay, all `nosuid,nodev` and
 * `noexec` unless allowed. `namespace` is the command that gives the holder its own mount
 * namespace (and, without root, user namespace): see `EtcTemplate.namespaceCommand`.
 */
export async function startHolder(
  namespace: string[],
  layout: StateLayout,
  owner: HostOwner,
  mounts: HolderMounts,
): Promise<OverlayHolder> {
  const options = holderOptions(mounts, owner);
  writeFileSync(join(layout.stateDir, 'fstab'), holderFstab(layout.stateDir, options), { mode: 0o600 });
  try {
    return await startResident([
      ...namespace,
      'sh',
      LAUNCHER,
      'hold',
      layout.baseDir,
      layout.stateDir,
      owner.drop ? `${owner.uid}:${owner.gid}` : '0:0',
      options.overlay,
      options.disk === null ? '' : 'disk',
    ]);
  } catch (error) {
    throw new NightshiftError(
      'SANDBOX_FAILED',
      `could not mount the workspace overlay: ${(error as Error).message}`,
      {
        hint: owner.drop
          ? 'the kernel must support overlayfs (see docs/sandbox.md)'
          : 'without root, overlayfs in a user namespace needs Linux 5.11 or later (see docs/sandbox.md)',
      },
    );
  }
}

/**
 * Removes the state dir, including the overlay's work dir that the kernel leaves unreadable.
 * The tree (a run's writes: a few files, or a whole `node_modules`) is removed with synchronous
 * calls, pacing the event loop, as `rm -rf` would.
 */
export async function removeState(stateDir: string): Promise<void> {
  try {
    await removeTree(stateDir);
  } catch {
    await runHost('chmod', ['-R', 'u+rwx', stateDir]);
    await rm(stateDir, { recursive: true, force: true });
  }
}
