import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Where Nightshift keeps its state: `$NIGHTSHIFT_HOME`, default `~/.nightshift`. */
export function resolveHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.NIGHTSHIFT_HOME || join(homedir(), '.nightshift'));
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
