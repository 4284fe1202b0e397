import type { ModelCall } from '../egress/gateway/index.ts';
import type { EgressDecision } from '../egress/proxy/index.ts';
import type { NewAuditEntry } from './entries.ts';

/** The audit entry of one egress decision. */
export function egressEntry(decision: EgressDecision, runId: string | null, actor?: string): NewAuditEntry {
  const { host, port, method, allowed, reason } = decision;
  return { kind: 'egress', runId, actor, data: { host, port, method, allowed, reason } };
}

/** The audit entry of one metered model call. */
export function modelCallEntry(call: ModelCall, runId: string | null, actor?: string): NewAuditEntry {
  const { provider, model, inputTokens, outputTokens, costUsd } = call;
  return { kind: 'model.call', runId, actor, data: { provider, model, inputTokens, outputTokens, costUsd } };
}
