// @ts-check
// The spawner helper: a small Node process that starts host programs for the Nightshift process
// that forked it, and relays their output, exit and errors over the IPC channel.
//
// Why: Node forks the whole calling process for every program it starts, and the engine holds
// the embedded database (hundreds of MiB), so each fork copied that many page tables and stalled
// its event loop for 10-30 ms. This helper stays small, so its forks cost a millisecond.
//
// Messages in (from the parent):
//   { t: 'spawn', id, file, args, cwd, env, stdin, detached }
//   { t: 'stdin', id, data } | { t: 'stdin-end', id }
//   { t: 'kill', id, signal, group }   group: signal the whole process group (detached children)
//   { t: 'release', id }               the parent wants no more output: close our ends of the pipes
// Messages out:
//   { t: 'spawned', id, pid } | { t: 'error', id, error } | { t: 'out', id, fd, data }
//   { t: 'exit', id, code, signal } | { t: 'close', id, code, signal }
// The helper exits when the IPC channel closes (its parent exited); children's pipes close with it.
import { spawn } from 'node:child_process';

/** @type {Map<number, { child: import('node:child_process').ChildProcess, exited: boolean }>} */
const children = new Map();

/** @param {object} message */
function send(message) {
  if (process.connected) process.send?.(message);
}

/** @param {Error & { code?: string, errno?: number, syscall?: string, path?: string }} error */
function plainError(error) {
  const { message, code, errno, syscall, path } = error;
  return { message, code, errno, syscall, path };
}

/** @param {{ id: number, file: string, args: string[], cwd?: string, env: NodeJS.ProcessEnv, stdin: 'pipe' | 'ignore', detached: boolean }} m */
function start(m) {
  let child;
  try {
    child = spawn(m.file, m.args, {
      cwd: m.cwd,
      env: m.env,
      detached: m.detached,
      stdio: [m.stdin, 'pipe', 'pipe'],
    });
  } catch (error) {
    send({ t: 'error', id: m.id, error: plainError(/** @type {Error} */ (error)) });
    send({ t: 'close', id: m.id, code: null, signal: null, failed: true });
    return;
  }
  const entry = { child, exited: false };
  children.set(m.id, entry);
  let spawnFailed = false;
  child.once('error', (error) => {
    if (child.pid === undefined) spawnFailed = true;
    send({ t: 'error', id: m.id, error: plainError(error) });
  });
  if (child.pid !== undefined) send({ t: 'spawned', id: m.id, pid: child.pid });
  for (const fd of /** @type {const} */ ([1, 2])) {
    const stream = fd === 1 ? child.stdout : child.stderr;
    stream?.on('data', (data) => send({ t: 'out', id: m.id, fd, data }));
  }
  child.stdin?.on('error', () => {});
  child.once('exit', (code, signal) => {
    entry.exited = true;
    send({ t: 'exit', id: m.id, code, signal });
  });
  child.once('close', (code, signal) => {
    children.delete(m.id);
    send({ t: 'close', id: m.id, code, signal, failed: spawnFailed });
  });
}

/** @param {{ t: string, id: number, data?: Uint8Array, signal?: NodeJS.Signals, group?: boolean }} m */
function handle(m) {
  if (m.t === 'spawn') {
    start(/** @type {any} */ (m));
    return;
  }
  const entry = children.get(m.id);
  if (!entry) return;
  const { child } = entry;
  if (m.t === 'stdin' && m.data) child.stdin?.write(m.data);
  else if (m.t === 'stdin-end') child.stdin?.end();
  else if (m.t === 'release') {
    child.stdout?.destroy();
    child.stderr?.destroy();
  } else if (m.t === 'kill' && !entry.exited && child.pid !== undefined) {
    // Once the child is reaped its pid (and group id) may be someone else's: never signal then.
    try {
      if (m.group) process.kill(-child.pid, m.signal ?? 'SIGTERM');
      else child.kill(m.signal ?? 'SIGTERM');
    } catch {}
  }
}

process.on('message', handle);
process.on('disconnect', () => process.exit(0));
send({ t: 'ready' });
