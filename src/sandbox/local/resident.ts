import { spawner } from '../../process/index.ts';

/** A launcher process that set something up, said `ready`, and holds it until stopped. */
export interface Resident {
  pid: number;
  alive(): boolean;
  /** Ends the process (closing its stdin, then SIGKILL) and waits for it. */
  stop(): Promise<void>;
}

/**
 * Starts `argv`, waits for it to print `ready`, and keeps it running without keeping this
 * process alive; it also ends when its stdin closes (Nightshift or its spawner died).
 * Rejects with its stderr when it exits or fails before being ready.
 */
export async function startResident(argv: string[]): Promise<Resident> {
  const [file, ...args] = argv;
  const child = spawner.spawn(file!, args, { stdin: 'pipe' });
  let stderr = '';
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('close', () => {
      exited = true;
      resolve();
    });
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const ready = new Promise<boolean>((resolve) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.includes('ready\n')) resolve(true);
    });
    child.once('error', (error: Error) => {
      stderr += error.message;
      resolve(false);
    });
    void exit.then(() => resolve(false));
  });
  if (!(await ready)) {
    child.kill('SIGKILL');
    throw new Error(stderr.trim() || `${file} exited before it was ready`);
  }
  child.unref();
  return {
    pid: child.pid!,
    alive: () => !exited,
    async stop() {
      if (exited) return;
      child.ref();
      child.stdin?.end();
      child.kill('SIGKILL');
      await exit;
    },
  };
}
