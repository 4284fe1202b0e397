import { describe, expect, it } from 'vitest';
import { checkAuditEntry, type NewAuditEntry } from './entries.ts';

describe('audit entries', () => {
  it('accepts the names of the secrets a setup step used', () => {
    const entry = checkAuditEntry({
      kind: 'secret.used',
      runId: 'run_a',
      data: { names: ['NPM_TOKEN', 'pypi_password'] },
    });

    expect(entry.data).toEqual({ names: ['NPM_TOKEN', 'pypi_password'] });
  });

  it.each([
    ['a NAME=value pair', { names: ['NPM_TOKEN=npm_abcdef0123456789'] }],
    ['a GitHub token as a name', { names: ['ghp_1234567890abcdefghijklmnopqrstuvwxyz'] }],
    ['an OpenAI key as a name', { names: ['sk-proj-abc123'] }],
    ['an AWS access key id as a name', { names: ['AKIAIOSFODNN7EXAMPLE'] }],
    ['a value with spaces or symbols', { names: ['correct horse battery staple'] }],
    ['a long opaque string', { names: ['x'.repeat(200)] }],
    ['a value smuggled in an extra field', { names: ['NPM_TOKEN'], value: 'npm_abcdef' }],
    ['a values map instead of names', { names: [], values: { NPM_TOKEN: 'npm_abcdef' } }],
  ])('refuses a secret.used entry carrying %s', (_case, data) => {
    const entry = { kind: 'secret.used', data } as unknown as NewAuditEntry;

    expect(() => checkAuditEntry(entry)).toThrow(/invalid secret\.used audit entry/);
  });

  it('refuses an unknown kind with the list of kinds', () => {
    const entry = { kind: 'shell', data: {} } as unknown as NewAuditEntry;

    expect(() => checkAuditEntry(entry)).toThrow(/unknown audit entry kind "shell"/);
  });
});
