import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** The time and random part of the last id made in this process (see `newId`). */
let last = { time: 0, tail: [] as number[] };

/**
 * Sortable ids: a millisecond timestamp then random bits, in lower-case Crockford base32,
 * prefixed by the kind (`run_01j...`). Sorting ids sorts by creation time, also within one
 * millisecond of one process: an id made in the same millisecond as the last one (or while
 * the clock went back) has the last one's random part plus one.
 */
export function newId(prefix: 'run' | 'repo' | 'chg' | 'wrk' | 'tok' | 'swm'): string {
  let time = Date.now();
  let tail: number[];
  if (time <= last.time) {
    time = last.time;
    tail = [...last.tail];
    let i = tail.length - 1;
    while (i >= 0 && tail[i] === 31) tail[i--] = 0;
    if (i >= 0) tail[i]! += 1;
  } else {
    tail = [...randomBytes(10)].map((byte) => byte % 32);
  }
  last = { time, tail };
  let head = '';
  for (let i = 0; i < 10; i++) {
    head = ALPHABET[time % 32] + head;
    time = Math.floor(time / 32);
  }
  return `${prefix}_${head}${tail.map((digit) => ALPHABET[digit]).join('')}`;
}

/** The last 8 characters of an id: random, short enough for branch names and tables. */
export function shortId(id: string): string {
  return id.slice(-8);
}

/** A branch-safe slug of free text: lower case, dashes, at most `max` characters. */
export function slugify(text: string, max = 40): string {
  const slug = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/g, '');
  return slug || 'run';
}
