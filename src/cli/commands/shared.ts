import { resolve } from 'node:path';

/** A repo location as the engine wants it: URLs unchanged, paths absolute (the engine may run elsewhere). */
export function repoLocation(location: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(location) ? location : resolve(location);
}
