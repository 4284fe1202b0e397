/** Sizes (`512MiB`, `4GiB`) and durations (`30m`) as policies write them and as explain prints them. */

const SIZE_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)(b?)\s*$/i;
const POWERS = { '': 0, k: 1, m: 2, g: 3, t: 4 } as const;

/**
 * Parses a size into bytes: a number of bytes, or a number with a unit. `KiB`/`MiB`/`GiB`/`TiB`
 * and the short `k`/`m`/`g`/`t` (as Docker writes them) are powers of 1024; `KB`/`MB`/`GB`/`TB`
 * are powers of 1000. Units are case-insensitive. Undefined when the text is not a size.
 *
 * @example parseSize('4GiB') // 4294967296
 * @example parseSize('1.5g') // 1610612736
 */
export function parseSize(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? Math.round(text) : undefined;
  const match = SIZE_PATTERN.exec(text);
  if (!match) return undefined;
  const [, digits, prefix, binary, byte] = match as unknown as [string, string, string, string, string];
  const power = POWERS[prefix.toLowerCase() as keyof typeof POWERS];
  // `4i` or `4ib` without a prefix is not a size; `4b` is bytes.
  if (binary && !prefix) return undefined;
  const decimal = prefix !== '' && binary === '' && byte !== '';
  return Math.round(Number(digits) * (decimal ? 1000 : 1024) ** power);
}

/**
 * Formats bytes with the largest binary unit that keeps it a whole number (or one decimal).
 *
 * @example formatSize(4 * 1024 ** 3) // '4GiB'
 */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (
    unit < units.length - 1 &&
    value >= 1024 &&
    (value / 1024) * 10 === Math.round((value / 1024) * 10)
  ) {
    value /= 1024;
    unit++;
  }
  return `${value}${units[unit]}`;
}

/**
 * Formats milliseconds the way policies write durations.
 *
 * @example formatDuration(1_800_000) // '30m'
 * @example formatDuration(5_400_000) // '90m'
 */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
