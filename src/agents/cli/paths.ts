import { posix } from 'node:path';

/** A path an agent CLI reported, relative to `/workspace` when it is inside it. */
export function relativeToWorkspace(path: string): string {
  const absolute = posix.resolve('/workspace', path);
  return absolute.startsWith('/workspace/') ? absolute.slice('/workspace/'.length) : absolute;
}
