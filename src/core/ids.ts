import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * Sortable ids: a millisecond timestamp then random bits, in lower-case Crockford base32,
 * prefixed by the kind (`run_01j...`). Sorting ids sorts by creation time.
 */
export function newId(prefix: 'run' | 'repo' | 'chg' | 'wrk' | 'tok' | 'swm'): string {
  let time = Date.now();
  let head = '';
  for (let i = 0; i < 10; i++) {
    head = ALPHABET[time % 32] + head;
    time = Math.floor(time / 32);
  }
  let tail = '';
  for (const byte of randomBytes(10)) tail += ALPHABET[byte % 32];
  return `${prefix}_${head}${tail}`;
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
