import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Where Nightshift keeps its state: `$NIGHTSHIFT_HOME`, default `~/.nightshift`. */
export function resolveHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.NIGHTSHIFT_HOME || join(homedir(), '.nightshift'));
}

/**
 * Nightshift's per-user cache of what it can make again: `$NIGHTSHIFT_CACHE_DIR`, default
 * `$XDG_CACHE_HOME/nightshift` (`~/.cache/nightshift`). Only its owner should be able to write
 * there: a new embedded database starts from the template it finds.
 */
export function resolveCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(
    env.NIGHTSHIFT_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'nightshift'),
  );
}

/** The layout of a Nightshift home. Only paths: creating them is the owner's job. */
export function homePaths(home: string) {
  return {
    home,
    database: join(home, 'db'),
    mirrors: join(home, 'mirrors'),
    bases: join(home, 'bases'),
    runs: join(home, 'runs'),
    sessions: join(home, 'sessions'),
    demo: join(home, 'demo'),
    lock: join(home, 'engine.lock'),
    socket: join(home, 'engine.sock'),
  };
}
export type HomePaths = ReturnType<typeof homePaths>;
