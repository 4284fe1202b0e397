import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Sandbox } from '../../sandbox/types.ts';

/** What a CLI harness remembers of a conversation, in its session folder on the host. */
export interface SavedSession {
  harness: string;
  /** The CLI's own id of the conversation (Claude Code session id, Codex thread id). */
  sessionId: string;
  /** Token totals the CLI reported so far, for CLIs whose usage counts the whole conversation. */
  usage?: { inputTokens: number; outputTokens: number };
}

const STATE_FILE = 'session.json';
/** The CLI's config/home folder from the sandbox, as a tar archive. */
const ARCHIVE = 'home.tar';

export async function readSaved(sessionDir: string): Promise<SavedSession | null> {
  const text = await readFile(join(sessionDir, STATE_FILE), 'utf8').catch(() => null);
  if (text === null) return null;
  const value = JSON.parse(text) as Partial<SavedSession>;
  return typeof value.sessionId === 'string' && typeof value.harness === 'string'
    ? { harness: value.harness, sessionId: value.sessionId, usage: value.usage }
    : null;
}

/** Copies an earlier run's session folder into this one (once: an existing session wins). */
export async function adoptSession(from: string, sessionDir: string): Promise<void> {
  if (await readSaved(sessionDir)) return;
  await mkdir(sessionDir, { recursive: true });
  await cp(from, sessionDir, { recursive: true });
}

/**
 * Saves the CLI's folder `sandboxDir` from the sandbox into the session folder, with the
 * conversation id. Goes through `exec` (tar and base64 in the sandbox), so it works with any
 * sandbox provider.
 */
export async function saveSession(
  sandbox: Sandbox,
  sandboxDir: string,
  sessionDir: string,
  saved: SavedSession,
): Promise<void> {
  const chunks: string[] = [];
  const result = await sandbox.exec(['sh', '-c', 'cd "$1" && tar -cf - . | base64 -w0', 'sh', sandboxDir], {
    cwd: '/',
    onOutput: (stream, text) => {
      if (stream === 'stdout') chunks.push(text);
    },
  });
  if (result.exitCode !== 0) {
    throw new Error(`could not save the agent's session from ${sandboxDir}: ${result.stderr.trim()}`);
  }
  await mkdir(sessionDir, { recursive: true });
  await writeFile(join(sessionDir, ARCHIVE), Buffer.from(chunks.join(''), 'base64'));
  await writeFile(join(sessionDir, STATE_FILE), `${JSON.stringify(saved)}\n`);
}

/** Unpacks a saved session's folder into `sandboxDir`; false when there is nothing saved. */
export async function restoreSession(
  sandbox: Sandbox,
  sessionDir: string,
  sandboxDir: string,
): Promise<boolean> {
  const archive = await readFile(join(sessionDir, ARCHIVE)).catch(() => null);
  if (archive === null) return false;
  const result = await sandbox.exec(
    ['sh', '-c', 'mkdir -p "$1" && base64 -d | tar -xf - -C "$1"', 'sh', sandboxDir],
    { cwd: '/', stdin: archive.toString('base64') },
  );
  if (result.exitCode !== 0) {
    throw new Error(`could not restore the agent's session into ${sandboxDir}: ${result.stderr.trim()}`);
  }
  return true;
}
