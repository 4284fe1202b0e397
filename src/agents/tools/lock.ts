import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** True when a process with this pid exists (ours or another user's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes a lock directory (`mkdir` is atomic), waiting while another live process holds it; a
 * lock left by a process that died is taken over. Returns the release function.
 */
export async function acquireDirLock(
  path: string,
  options: { timeoutMs: number; onWait?: () => void },
): Promise<() => Promise<void>> {
  const deadline = Date.now() + options.timeoutMs;
  let waited = false;
  for (;;) {
    try {
      await mkdir(path);
      await writeFile(join(path, 'pid'), String(process.pid));
      return () => rm(path, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number(await readFile(join(path, 'pid'), 'utf8').catch(() => ''));
    // A lock without a pid file may be one being created right now: only a dead owner is stale.
    if (owner > 0 && !alive(owner)) {
      await rm(path, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for the lock ${path} (held by pid ${owner || '?'})`);
    if (!waited) options.onWait?.();
    waited = true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
