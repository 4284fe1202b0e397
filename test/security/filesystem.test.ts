import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../src/audit/index.ts';
import { gitIn, makeRepo } from '../support/repos.ts';
import { type AttackLab, type AttackResult, addedFile, execOf, marker, openLab } from './support.ts';

/** Puts a fake secret at `path` on the host; the returned function removes it and any folder it made. */
function plantHostSecret(path: string, content: string): () => void {
  const made: string[] = [];
  for (let dir = dirname(path); !existsSync(dir); dir = dirname(dir)) made.unshift(dir);
  if (made[0]) mkdirSync(made[0], { recursive: true, mode: 0o700 });
  writeFileSync(path, content, { mode: 0o600 });
  return () => {
    rmSync(path, { force: true });
    if (made[0]) rmSync(made[0], { recursive: true, force: true });
  };
}

/** A path in `dir` nothing else uses: `preferred` when it is free, else a unique name beside it. */
function freePath(dir: string, preferred: string): string {
  return existsSync(join(dir, preferred)) ? join(dir, marker(preferred)) : join(dir, preferred);
}

describe('filesystem attacks', () => {
  let lab: AttackLab;
  const cleanups: (() => void)[] = [];

  beforeAll(async () => {
    lab = await openLab({ policy: 'resources:\n  disk: 64MiB\n', limits: { tmpBytes: 64 * 1024 * 1024 } });
  });

  afterAll(async () => {
    for (const cleanup of cleanups) cleanup();
    await lab?.close();
  });

  describe('writing outside the workspace', () => {
    const cases: [string, () => string][] = [
      ['/etc', () => '/etc'],
      ['/usr', () => '/usr/local'],
      ['/', () => '/'],
      ['another host directory', () => lab.dir],
    ];
    const names = cases.map(() => marker('planted'));
    const target = (index: number) => join(cases[index]![1](), names[index]!);
    let attack: AttackResult;

    beforeAll(async () => {
      attack = await lab.runAttacks(cases.map((_, index) => `touch ${target(index)}`));
    });

    it.each(cases.map(([where], index) => [where, index] as const))(
      'cannot write a file into %s',
      (_where, index) => {
        expect(existsSync(target(index))).toBe(false);
        expect(execOf(attack.audit, ['touch', target(index)])).toMatchObject({
          exitCode: 1,
          source: 'trace',
        });
      },
    );
  });

  it('cannot write through a symlink it plants to a host file', async () => {
    const victim = join(lab.dir, marker('victim'));
    writeFileSync(victim, 'original\n');

    const { audit } = await lab.runAttack(`ln -s ${victim} link && cp README.md link || true`);

    expect(readFileSync(victim, 'utf8')).toBe('original\n');
    expect(execOf(audit, ['cp', 'README.md', 'link'])).toMatchObject({ exitCode: 1 });
  });

  describe('reading secrets of the host', () => {
    const cases: [string, () => { path: string; secret: string }][] = [
      [
        '/etc/shadow',
        () => ({ path: '/etc/shadow', secret: readFileSync('/etc/shadow', 'utf8').split('\n')[0]! }),
      ],
      [
        'an ssh key in /root/.ssh',
        () => {
          const path = join(homedir(), '.ssh', marker('id_ed25519'));
          const secret = `-----BEGIN OPENSSH PRIVATE KEY----- ${marker('ssh')}`;
          cleanups.push(plantHostSecret(path, `${secret}\n`));
          return { path, secret };
        },
      ],
      [
        'cloud credentials in ~/.aws/credentials',
        () => {
          const path = freePath(join(homedir(), '.aws'), 'credentials');
          const secret = `aws_secret_access_key = ${marker('aws')}`;
          cleanups.push(plantHostSecret(path, `[default]\n${secret}\n`));
          return { path, secret };
        },
      ],
    ];
    let planted: { path: string; secret: string }[];
    let attack: AttackResult;

    beforeAll(async () => {
      planted = cases.map(([, plant]) => plant());
      attack = await lab.runAttacks(planted.map(({ path }, index) => `cat ${path} > stolen${index}.txt`));
    });

    it.each(cases.map(([what], index) => [what, index] as const))('cannot read %s', (_what, index) => {
      const { path, secret } = planted[index]!;

      expect(secret.length).toBeGreaterThan(4);
      expect(attack.output).not.toContain(secret);
      expect(attack.change?.diff ?? '').not.toContain(secret);
      expect(execOf(attack.audit, ['cat', path])).toMatchObject({ exitCode: 1 });
    });
  });

  it.each(['.nightshift/environment.yml', '.nightshift/policy.yml'])(
    'cannot make the engine read a host file through a link its repository commits as %s',
    async (file) => {
      const secret = marker('host-secret');
      const secretPath = join(lab.dir, marker('secret'));
      cleanups.push(plantHostSecret(secretPath, `${secret}: 1\n`));
      const repo = join(lab.dir, marker('linked'));
      await makeRepo(repo, { 'README.md': 'a project\n' });
      mkdirSync(join(repo, '.nightshift'), { recursive: true });
      symlinkSync(secretPath, join(repo, file));
      await gitIn(repo, 'add', '-A');
      await gitIn(repo, 'commit', '--quiet', '-m', 'link a host file');

      const attack = await lab.runAttackOn(repo, 'echo ran > ran.txt');

      // What the host file holds shows nowhere (a parse error would have quoted it).
      expect(JSON.stringify(attack.events)).not.toContain(secret);
      expect(attack.run.conclusion).not.toBe('success');
      expect(attack.run.reason).toContain('leads out of the repository');
      expect(attack.output).not.toContain('ran');
    },
  );

  it("cannot read Nightshift's own database, policy or run state in its home, nor break its audit chain", async () => {
    const db = join(lab.home, 'db');
    const hbaLine = readFileSync(join(db, 'pg_hba.conf'), 'utf8')
      .split('\n')
      .find((line) => line.trim() !== '' && !line.startsWith('#'));
    expect(hbaLine).toBeDefined();

    const { output, audit } = await lab.runAttack(
      [
        `ls -la ${lab.home} ${db} || true`,
        `cat ${db}/pg_hba.conf ${lab.home}/policy.yml || true`,
        'find / -maxdepth 4 -name pg_wal 2>/dev/null > found.txt || true',
        'cat found.txt',
      ].join('\n'),
    );
    const verification = await verifyAudit(lab.engine.store.db);

    expect(output).not.toContain(hbaLine);
    expect(output).not.toContain('pg_wal');
    expect(output).not.toContain('disk: 64MiB');
    expect(execOf(audit, ['ls', '-la', lab.home, db])).toMatchObject({ exitCode: 2 });
    expect(execOf(audit, ['cat', `${db}/pg_hba.conf`, `${lab.home}/policy.yml`])).toMatchObject({
      exitCode: 1,
    });
    expect(verification.ok).toBe(true);
  });

  it("cannot read another run's workspace while that run is going on", async () => {
    const secret = marker('other-run-secret');
    const other = await lab.start(`echo ${secret} > secret.txt && echo written && sleep 30`);
    for (;;) {
      const events = await lab.engine.store.events(other.run.id);
      if (events.some((e) => e.type === 'step.output' && e.data.text.includes('written'))) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const state = join(lab.home, 'runs', other.run.id);

    const { output, change, audit } = await lab.runAttack(
      [
        `ls ${state} || true`,
        `cat ${state}/upper/secret.txt || true`,
        'cat /proc/*/root/workspace/secret.txt > seen.txt 2>&1 || true',
        'find / -path /usr -prune -o -path /proc -prune -o -name secret.txt -print 2>/dev/null > found.txt || true',
      ].join('\n'),
    );
    await lab.engine.store.requestCancel(other.run.id, 'test');
    const ended = await other.finished();

    expect(output).not.toContain(secret);
    expect(change?.diff ?? '').not.toContain(secret);
    expect(addedFile(change, 'found.txt') ?? '').toBe('');
    expect(execOf(audit, ['ls', state])).toMatchObject({ exitCode: 2 });
    expect(execOf(audit, ['cat', `${state}/upper/secret.txt`])).toMatchObject({ exitCode: 1 });
    expect(ended.run.conclusion).toBe('cancelled');
  });

  it('fills its disk and /tmp only up to their caps, and the run goes on', async () => {
    const { run, output, change, audit } = await lab.runAttack(
      [
        'dd if=/dev/zero of=fill bs=1M count=100 2>&1 || true',
        'dd if=/dev/zero of=/tmp/fill bs=1M count=100 2>&1 || true',
        'rm -f fill /tmp/fill',
        'echo still here > after.txt',
      ].join('\n'),
    );

    expect(run.conclusion).toBe('success');
    expect(output.match(/No space left on device/g)).toHaveLength(2);
    expect(addedFile(change, 'after.txt')).toBe('still here');
    expect(execOf(audit, ['dd', 'if=/dev/zero', 'of=fill', 'bs=1M', 'count=100'])).toMatchObject({
      exitCode: 1,
    });
    expect(execOf(audit, ['dd', 'if=/dev/zero', 'of=/tmp/fill', 'bs=1M', 'count=100'])).toMatchObject({
      exitCode: 1,
    });
  });
});
