import { describe, expect, it } from 'vitest';
import { newId, shortId } from './ids.ts';

describe('newId', () => {
  it('makes ids that sort in the order they were made, also within one millisecond', () => {
    const ids = Array.from({ length: 2000 }, () => newId('run'));

    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) expect(id).toMatch(/^run_[0-9a-hjkmnp-tv-z]{20}$/);
  });

  it('keeps short ids distinct for ids made in the same millisecond', () => {
    const ids = Array.from({ length: 100 }, () => newId('run'));

    expect(new Set(ids.map(shortId)).size).toBe(ids.length);
  });
});
