import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AttackLab, type AttackResult, denials, execOf, openLab, shellQuote } from './support.ts';

const LOADER = '/lib64/ld-linux-x86-64.so.2';

describe('executable attacks', () => {
  let lab: AttackLab;

  beforeAll(async () => {
    lab = await openLab({ policy: 'executables:\n  deny: [wget, gdb]\n' });
  });

  afterAll(async () => {
    await lab?.close();
  });

  it('cannot run a denied program, and the run says the policy refused it', async () => {
    const { run, output, audit } = await lab.runAttack('wget -q -O- http://example.com/');

    expect(run.conclusion).toBe('failure');
    expect(run.reason).toMatch(/the policy kept it from running wget$/);
    expect(output).toContain('Permission denied');
    expect(denials(audit).map((d) => d.what)).toContain('exec wget');
  });

  describe('running a denied program another way', () => {
    const cases: [string, string[], RegExp | number][] = [
      ['by absolute path', ['/usr/bin/wget', '--version'], /^exec \/usr\/bin\/wget$/],
      ['through a symlink of its own', ['./fetch', '--version'], /^exec \.\/fetch$/],
      ['when it is gdb, attaching to a process', ['gdb', '-batch', '-p', '1'], /^exec .*gdb$/],
      ['through the dynamic loader', [LOADER, '/usr/bin/wget', '--version'], 127],
    ];
    let attack: AttackResult;

    beforeAll(async () => {
      attack = await lab.runAttacks([
        'ln -s /usr/bin/wget ./fetch',
        ...cases.map(([, argv]) => shellQuote(argv)),
      ]);
    });

    it.each(cases)('cannot run it %s', (_how, argv, evidence) => {
      expect(attack.output).not.toMatch(/GNU Wget|GNU gdb/);
      if (typeof evidence === 'number')
        expect(execOf(attack.audit, argv)).toMatchObject({ exitCode: evidence });
      else
        expect(denials(attack.audit).map((d) => d.what)).toEqual(
          expect.arrayContaining([expect.stringMatching(evidence)]),
        );
    });
  });

  describe('copying a denied program under another name', () => {
    const cases: [string, string[]][] = [
      ['cp', ['cp', '/usr/bin/wget', './fetch1']],
      ['cat', ['cat', '/usr/bin/wget']],
      ['python', ['python3', '-c', 'import shutil; shutil.copy("/usr/bin/wget", "fetch2")']],
      ['a hard link', ['ln', '/usr/bin/wget', './fetch3']],
    ];
    let attack: AttackResult;

    beforeAll(async () => {
      attack = await lab.runAttacks([
        ...cases.map(([, argv]) => `${shellQuote(argv)} > copy.out`),
        'chmod +x fetch1 fetch2 fetch3 copy.out',
      ]);
    });

    it.each(cases)('cannot copy it with %s', (_how, argv) => {
      expect(attack.change?.diff ?? '').not.toMatch(/ b\/fetch\d/);
      expect(attack.change?.diff ?? '').not.toContain('Binary files');
      expect(execOf(attack.audit, argv)?.exitCode).toBeGreaterThan(0);
    });
  });

  describe('running a program it wrote', () => {
    const cases: [string, string, string | number][] = [
      ['a binary downloaded into the workspace', './tool', 'exec ./tool'],
      ['a binary downloaded into /tmp', '/tmp/tool', 'exec /tmp/tool'],
      ['a binary downloaded into the home directory', '/home/nightshift/tool', 'exec /home/nightshift/tool'],
      ['a script it made executable', './run.sh', 'exec ./run.sh'],
      ['a downloaded binary through the dynamic loader', `${LOADER} ./tool`, 127],
    ];
    let attack: AttackResult;

    beforeAll(async () => {
      attack = await lab.runAttacks([
        'for path in ./tool /tmp/tool /home/nightshift/tool; do cp /usr/bin/id $path && chmod +x $path; done',
        "printf '#!/bin/sh\\necho escaped\\n' > run.sh && chmod +x run.sh",
        ...cases.map(([, command]) => command),
      ]);
    });

    it.each(cases)('cannot run %s', (_what, command, evidence) => {
      expect(attack.output).not.toMatch(/uid=|escaped/);
      if (typeof evidence === 'number')
        expect(execOf(attack.audit, command.split(' '))).toMatchObject({ exitCode: evidence });
      else
        expect(denials(attack.audit)).toContainEqual({
          what: evidence,
          reason: expect.stringContaining('EACCES'),
        });
    });

    it('is told the dynamic loader cannot map it', () => {
      expect(attack.output).toContain('failed to map segment');
    });
  });

  // Known gap (docs/sandbox.md, "Known gaps"): memfd_create + execve of /proc/self/fd/N bypasses noexec.
  it.fails('cannot run a downloaded binary from memory (memfd_create)', async () => {
    const code = [
      'import os',
      'fd = os.memfd_create("tool")',
      'os.write(fd, open("/usr/bin/id", "rb").read())',
      'os.execv(f"/proc/self/fd/{fd}", ["tool", "-u"])',
    ].join('\n');

    const { output, audit } = await lab.runAttack(`python3 -c '${code}' > uid.txt || true\ncat uid.txt`);

    expect(output).not.toContain('1000');
    expect(execOf(audit, ['tool', '-u'])).toBeUndefined();
  });
});
