import type { Queryable } from './db.ts';

/** Model usage of one step of a run with one model, as the model gateway metered it. */
export interface StepUsage {
  step: string;
  provider: string;
  model: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface UsageTotals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

interface UsageRow {
  step: string;
  provider: string;
  model: string;
  calls: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}

/** Sums usage rows (of one run, or of many for a report). */
export function totalUsage(rows: readonly Omit<StepUsage, 'step' | 'provider' | 'model'>[]): UsageTotals {
  return rows.reduce(
    (sum, row) => ({
      calls: sum.calls + row.calls,
      inputTokens: sum.inputTokens + row.inputTokens,
      outputTokens: sum.outputTokens + row.outputTokens,
      costUsd: sum.costUsd + row.costUsd,
    }),
    { calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 },
  );
}

/** Tokens and cost per run and step; written by the executor for every metered model call. */
export function usageQueries(db: Queryable) {
  return {
    async add(runId: string, call: Omit<StepUsage, 'calls'>): Promise<void> {
      await db.query(
        `INSERT INTO run_usage (run_id, step, provider, model, calls, input_tokens, output_tokens, cost_usd)
         VALUES ($1, $2, $3, $4, 1, $5, $6, $7)
         ON CONFLICT (run_id, step, provider, model) DO UPDATE SET
           calls = run_usage.calls + 1,
           input_tokens = run_usage.input_tokens + excluded.input_tokens,
           output_tokens = run_usage.output_tokens + excluded.output_tokens,
           cost_usd = run_usage.cost_usd + excluded.cost_usd`,
        [runId, call.step, call.provider, call.model, call.inputTokens, call.outputTokens, call.costUsd],
      );
    },

    /** The run's usage by step and model, in the order the steps first used a model. */
    async forRun(runId: string): Promise<StepUsage[]> {
      const rows = await db.query<UsageRow>(
        `SELECT step, provider, model, calls, input_tokens::int AS input_tokens,
                output_tokens::int AS output_tokens, cost_usd
         FROM run_usage WHERE run_id = $1 ORDER BY step, provider, model`,
        [runId],
      );
      return rows.map((row) => ({
        step: row.step,
        provider: row.provider,
        model: row.model,
        calls: Number(row.calls),
        inputTokens: Number(row.input_tokens),
        outputTokens: Number(row.output_tokens),
        costUsd: Number(row.cost_usd),
      }));
    },
  };
}
