import { describe, expect, it } from 'vitest';
import { plural } from './plural.ts';

describe('plural', () => {
  it('uses the singular for one only', () => {
    expect([0, 1, 2].map((n) => plural(n, 'repo'))).toEqual(['0 repos', '1 repo', '2 repos']);
    expect(plural(1, 'fix round')).toBe('1 fix round');
  });
});
