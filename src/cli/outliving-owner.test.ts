import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRepo, tempDir } from '../../test/support/repos.ts';
import type { Client } from './client.ts';
import { openClient } from './context.ts';
import { OwnerGone } from './http.ts';
import { outlivingOwner } from './outliving-owner.ts';
import { remoteClient } from './remote-client.ts';

/**
 * Commands sharing a home: the first owns it, later ones use its socket. When the owner's own
 * command ends between two calls of another, that other command opens the home itself and
 * carries on. (In CI, one of three `nightshift logs` started at once printed an error; before
 * this, the next call failed with `write EPIPE` or `connect ENOENT`.)
 */
describe('a command using the socket of a process that stops', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const open = (command: string) =>
    openClient({ home: join(dir, 'home') }, { worker: false, command: `nightshift ${command}` });

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    await makeRepo(join(dir, 'repo'), { 'README.md': '# shared home\n' });
  });

  afterAll(async () => {
    await cleanup?.();
  });

  it('reads and writes through the home it opens itself once the owner stopped, sending each call once', async () => {
    const owner = await open('run');
    const other = await open('logs');
    expect([owner.mode, other.mode]).toEqual(['embedded', 'remote']);
    const run = await other.submit({ repo: join(dir, 'repo'), script: 'true' });

    await owner.close();
    const details = await other.run(run.id);
    const queued = await other.submit({ repo: join(dir, 'repo'), script: 'true' });
    const listed = await other.runs({});
    const fleets = await other.fleets.list();

    expect(other.mode).toBe('embedded');
    expect(details.run.id).toBe(run.id);
    expect(listed.map((r) => r.id)).toEqual([queued.id, run.id]);
    expect(fleets).toEqual([]);
    expect((await other.auditVerify()).ok).toBe(true);
    await other.close();
  });
});

/** What is sent again after the socket's owner went away, against a socket that breaks requests. */
describe('resending a call after the owner went away', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let breaker: Server;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    // Reads each request, then drops the connection without answering: an owner dying mid-call.
    breaker = createServer((socket) => socket.once('data', () => socket.destroy()));
    await new Promise<void>((resolve) => breaker.listen(join(dir, 'breaking.sock'), resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => breaker.close(resolve));
    await cleanup?.();
  });

  /** A client of `socket` whose reopening is counted and answers from `next`. */
  function clientOf(socket: string, next: Partial<Client>) {
    let reopened = 0;
    const client = outlivingOwner(remoteClient({ socketPath: join(dir, socket) }), async () => {
      reopened++;
      return { ...remoteClient({ socketPath: join(dir, 'none.sock') }), ...next } as Client;
    });
    return { client, reopened: () => reopened };
  }

  it('sends a write again when it never arrived (nothing listened)', async () => {
    const { client, reopened } = clientOf('gone.sock', { cancel: async () => ({ id: 'run_x' }) as never });

    const cancelled = await client.cancel('run_x', null);

    expect(cancelled).toEqual({ id: 'run_x' });
    expect(reopened()).toBe(1);
  });

  it('does not send a write again that may have arrived (the connection broke mid-call)', async () => {
    const { client, reopened } = clientOf('breaking.sock', {
      cancel: async () => ({ id: 'run_x' }) as never,
    });

    await expect(client.cancel('run_x', null)).rejects.toMatchObject({ code: 'OWNER_GONE' });

    expect(reopened()).toBe(0);
  });

  it('sends a read again, whatever became of it', async () => {
    const { client, reopened } = clientOf('breaking.sock', { listTokens: async () => [] });

    expect(await client.listTokens()).toEqual([]);

    expect(reopened()).toBe(1);
  });

  it('starts a stream again that had given nothing', async () => {
    const { client, reopened } = clientOf('gone.sock', {
      async *auditExport() {
        yield 'a\n';
      },
    });

    const given: string[] = [];
    for await (const line of client.auditExport({})) given.push(line);

    expect(given).toEqual(['a\n']);
    expect(reopened()).toBe(1);
  });

  it('does not start a stream again that had given something (it would repeat it)', async () => {
    let reopened = 0;
    const broken = outlivingOwner(
      {
        ...remoteClient({ socketPath: join(dir, 'gone.sock') }),
        async *auditExport() {
          yield 'a\n';
          throw new OwnerGone('the owner stopped mid-stream', true);
        },
      },
      async () => {
        reopened++;
        return remoteClient({ socketPath: join(dir, 'none.sock') });
      },
    );

    const partial: string[] = [];
    await expect(async () => {
      for await (const line of broken.auditExport({})) partial.push(line);
    }).rejects.toMatchObject({ code: 'OWNER_GONE' });

    expect(partial).toEqual(['a\n']);
    expect(reopened).toBe(0);
  });

  it('gives up after three owners in a row went away', async () => {
    const { client, reopened } = clientOf('breaking.sock', {});

    await expect(client.listTokens()).rejects.toMatchObject({ code: 'OWNER_GONE' });

    expect(reopened()).toBe(3);
  });
});
