import { describe, expect, it } from 'vitest';
import { formatDuration, formatSize, parseSize } from './units.ts';

describe('parseSize', () => {
  it.each([
    ['512MiB', 512 * 1024 ** 2],
    ['4GiB', 4 * 1024 ** 3],
    ['4gib', 4 * 1024 ** 3],
    ['4g', 4 * 1024 ** 3],
    ['4Gi', 4 * 1024 ** 3],
    ['1.5GiB', 1.5 * 1024 ** 3],
    ['10GB', 10 * 1000 ** 3],
    ['64 KiB', 64 * 1024],
    ['2TiB', 2 * 1024 ** 4],
    ['100', 100],
    ['100b', 100],
    [2048, 2048],
  ])('reads %j as %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['', 'lots', '4 gigs', '4ib', '-1GiB', '4PiB', 'GiB'])('rejects %j', (text) => {
    expect(parseSize(text)).toBeUndefined();
  });
});

describe('formatSize and formatDuration', () => {
  it.each([
    [4 * 1024 ** 3, '4GiB'],
    [1.5 * 1024 ** 3, '1.5GiB'],
    [512 * 1024 ** 2, '512MiB'],
    [3 * 1024 ** 2, '3MiB'],
    [1000, '1000B'],
  ])('writes %d bytes as %s', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });

  it.each([
    [1_800_000, '30m'],
    [7_200_000, '2h'],
    [90_000, '90s'],
    [1500, '1500ms'],
  ])('writes %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
