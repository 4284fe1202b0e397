/** Order statistics of samples (milliseconds). */

/** The value below which `p` percent of the samples fall (nearest rank; `p` = 50 is the median). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  if (p === 50 && sorted.length % 2 === 0) {
    const mid = sorted.length / 2;
    return (sorted[mid - 1]! + sorted[mid]!) / 2;
  }
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** The median of the samples. */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Median and 90th percentile, rounded to 0.1 ms. */
export function summarize(values: readonly number[]): { median: number; p90: number; n: number } {
  return { median: round(median(values)), p90: round(percentile(values, 90)), n: values.length };
}

/** Rounds to 0.1. */
export function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** `value` as a multiple of `baseline`, to 0.01. */
export function ratioOf(value: number, baseline: number): number {
  return Math.round((value / baseline) * 100) / 100;
}
