/** `n` and the noun, plural unless `n` is 1: `1 repo`, `3 repos`, `0 files`. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
