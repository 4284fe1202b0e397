import { round, summarize } from '../support/stats.ts';
import { BREAKDOWN_PARTS, type Breakdown, type BreakdownPart } from './breakdown.ts';

/** The samples of one invocation (milliseconds). */
export interface Samples {
  files: number;
  iterations: number;
  nightshift: { true: number[]; change: number[] };
  baseline: { true: number[]; change: number[] };
  /** The baseline script reusing one clone: the git work without writing out the files. */
  floor: { true: number[]; change: number[] };
  breakdowns: { true: Breakdown[]; change: Breakdown[] };
  /** `workspace.ready` ms of the warm-up run (mirror clone and base checkout) and of the measured runs. */
  provisioning: { uncached: number; cached: number[] };
}

export interface VariantFigures {
  variant: string;
  medianMs: number;
  p90Ms: number;
  /** Median over the median of its baseline; null for a baseline. */
  ratio: number | null;
  /** Median over the median of the reused-clone floor; null for a baseline. */
  floorRatio: number | null;
}

/** The figures `--json` prints. */
export interface Figures {
  files: number;
  iterations: number;
  variants: VariantFigures[];
  /** Median Nightshift run minus median baseline run. */
  overheadMs: { true: number; change: number };
  /** Median Nightshift run minus median reused-clone floor run. */
  overheadOverFloorMs: { true: number; change: number };
  provisioning: { uncachedMs: number; cachedMedianMs: number; cachedP90Ms: number };
  /** Median of each part of the Nightshift runs' wall time. */
  breakdownMs: { true: Record<BreakdownPart, number>; change: Record<BreakdownPart, number> };
}

export function figuresOf(samples: Samples): Figures {
  const ratioOf = (median: number, other?: number[]) =>
    other ? Math.round((median / summarize(other).median) * 100) / 100 : null;
  const variant = (name: string, values: number[], baseline?: number[], floor?: number[]) => {
    const { median, p90 } = summarize(values);
    const ratio = ratioOf(median, baseline);
    return { variant: name, medianMs: median, p90Ms: p90, ratio, floorRatio: ratioOf(median, floor) };
  };
  const minus = (a: number[], b: number[]) => round(summarize(a).median - summarize(b).median);
  const { nightshift, baseline, floor } = samples;
  const cached = summarize(samples.provisioning.cached);
  return {
    files: samples.files,
    iterations: samples.iterations,
    variants: [
      variant('nightshift, `true`', nightshift.true, baseline.true, floor.true),
      variant('baseline, `true`', baseline.true),
      variant('floor (reused clone), `true`', floor.true),
      variant('nightshift, one-file change', nightshift.change, baseline.change, floor.change),
      variant('baseline, one-file change', baseline.change),
      variant('floor (reused clone), change', floor.change),
    ],
    overheadMs: {
      true: minus(nightshift.true, baseline.true),
      change: minus(nightshift.change, baseline.change),
    },
    overheadOverFloorMs: {
      true: minus(nightshift.true, floor.true),
      change: minus(nightshift.change, floor.change),
    },
    provisioning: {
      uncachedMs: samples.provisioning.uncached,
      cachedMedianMs: cached.median,
      cachedP90Ms: cached.p90,
    },
    breakdownMs: { true: medians(samples.breakdowns.true), change: medians(samples.breakdowns.change) },
  };
}

function medians(breakdowns: Breakdown[]): Record<BreakdownPart, number> {
  const entries = BREAKDOWN_PARTS.map((part) => [part, summarize(breakdowns.map((b) => b[part])).median]);
  return Object.fromEntries(entries) as Record<BreakdownPart, number>;
}

/** The figures as a table for people. */
export function formatFigures(figures: Figures): string {
  const lines = [
    `run overhead: ${figures.files} files, ${figures.iterations} iterations of each variant, interleaved`,
    '',
    `${'variant'.padEnd(32)}${'median ms'.padStart(11)}${'p90 ms'.padStart(10)}${'vs baseline'.padStart(13)}${'vs floor'.padStart(10)}`,
  ];
  const times = (ratio: number | null) => (ratio === null ? '' : `${ratio.toFixed(2)}x`);
  for (const v of figures.variants) {
    const cells = [v.medianMs.toFixed(1).padStart(11), v.p90Ms.toFixed(1).padStart(10)];
    cells.push(times(v.ratio).padStart(13), times(v.floorRatio).padStart(10));
    lines.push(`${v.variant.padEnd(32)}${cells.join('')}`);
  }
  const { overheadMs, overheadOverFloorMs: floor, provisioning } = figures;
  lines.push(
    '',
    `platform overhead per run (median nightshift - median baseline): ${overheadMs.true.toFixed(1)} ms with \`true\`, ${overheadMs.change.toFixed(1)} ms with a one-file change`,
    `over the reused-clone floor (median nightshift - median floor): ${floor.true.toFixed(1)} ms with \`true\`, ${floor.change.toFixed(1)} ms with a one-file change`,
    `workspace provisioning (workspace.ready): ${provisioning.cachedMedianMs.toFixed(1)} ms median, ${provisioning.cachedP90Ms.toFixed(1)} ms p90 with the base cached; ${provisioning.uncachedMs.toFixed(1)} ms for the first (uncached) run`,
    '',
    'where a nightshift run spends its time (median ms of each part; medians need not add up):',
    `${'part'.padEnd(20)}${'`true`'.padStart(10)}${'change'.padStart(10)}`,
  );
  for (const part of BREAKDOWN_PARTS) {
    const cells = [figures.breakdownMs.true[part], figures.breakdownMs.change[part]];
    lines.push(`${part.padEnd(20)}${cells.map((ms) => ms.toFixed(1).padStart(10)).join('')}`);
  }
  return lines.join('\n');
}
