import type { GatewayLogger, ModelBudget, ModelCall, UsageTotals } from './types.ts';

/** Running totals of one gateway, its budget, and the callbacks that report them. */
export interface UsageMeter {
  totals(): UsageTotals;
  /** True once either limit of the budget is reached. */
  spent(): boolean;
  /** Adds a finished call to the totals and reports it. */
  record(call: ModelCall): void;
  /** Reports a call refused because the budget is spent. */
  refuse(call: ModelCall): void;
}

/**
 * Keeps the totals and calls `onBudgetExceeded` exactly once: when a recorded call makes the
 * totals reach the budget, or when a call is refused (a budget of 0), whichever comes first.
 * A throwing callback is logged, never allowed to break the gateway.
 */
export function createUsageMeter(options: {
  budget?: ModelBudget;
  onUsage?: (call: ModelCall) => void;
  onBudgetExceeded?: (totals: UsageTotals) => void;
  logger?: GatewayLogger;
}): UsageMeter {
  const totals: UsageTotals = { calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, unpricedCalls: 0 };
  let announced = false;

  function spent(): boolean {
    const { tokens, costUsd } = options.budget ?? {};
    if (tokens !== undefined && totals.inputTokens + totals.outputTokens >= tokens) return true;
    return costUsd !== undefined && totals.costUsd >= costUsd;
  }

  function safely(what: string, callback: () => void): void {
    try {
      callback();
    } catch (error) {
      options.logger?.warn({ callback: what, error: String(error) }, 'model gateway callback failed');
    }
  }

  function announce(): void {
    if (announced || !spent()) return;
    announced = true;
    const snapshot = { ...totals };
    safely('onBudgetExceeded', () => options.onBudgetExceeded?.(snapshot));
  }

  return {
    totals: () => ({ ...totals }),
    spent,
    record(call) {
      totals.calls += 1;
      totals.inputTokens += call.inputTokens;
      totals.outputTokens += call.outputTokens;
      totals.costUsd += call.costUsd;
      if (!call.priced && call.inputTokens + call.outputTokens > 0) totals.unpricedCalls += 1;
      safely('onUsage', () => options.onUsage?.(call));
      announce();
    },
    refuse(call) {
      safely('onUsage', () => options.onUsage?.(call));
      announce();
    },
  };
}
