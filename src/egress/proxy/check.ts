import type { Agent } from 'node:http';
import type { Socket } from 'node:net';
import { type Cidr, forbiddenReason, inAnyCidr } from './address.ts';
import type { EgressTarget } from './target.ts';
import type { EgressDecider, EgressDecision, EgressResolver } from './types.ts';

/** What the request handlers share: the policy, the resolver and the bookkeeping of a proxy. */
export interface ProxyContext {
  decide: EgressDecider;
  resolve: EgressResolver;
  allowRanges: readonly Cidr[];
  report: (decision: EgressDecision) => void;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  agent: Agent;
  /** Upstream sockets of open tunnels, destroyed by `close()`. */
  upstreams: Set<Socket>;
}

/** The outcome of the checks: the address to connect to, or the refusal to send. */
export type CheckResult =
  | { ok: true; address: string; rule?: string; reason: string }
  | { ok: false; status: number; reason: string; rule?: string; address?: string };

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Runs the checks every connection goes through, in this order: the policy's allowlist (before
 * any DNS query, so a refused name is never even looked up), then resolution by the proxy
 * itself, then the address check on EVERY resolved address. The caller connects to the
 * returned address, never to the name again, so DNS rebinding has no window.
 */
export async function checkTarget(target: EgressTarget, ctx: ProxyContext): Promise<CheckResult> {
  const where = `${target.host}:${target.port}`;
  let verdict: Awaited<ReturnType<EgressDecider>>;
  try {
    verdict = await ctx.decide(target.host, target.port);
  } catch (error) {
    return { ok: false, status: 403, reason: `policy check failed for ${where}: ${String(error)}` };
  }
  if (!verdict.allowed) {
    const reason = verdict.reason ?? `${where} is not allowed by the network policy`;
    return { ok: false, status: 403, reason, rule: verdict.rule };
  }
  let addresses: string[];
  if (target.isIp) {
    addresses = [target.host];
  } else {
    try {
      addresses = await withTimeout(
        ctx.resolve(target.host),
        ctx.connectTimeoutMs,
        `resolving ${target.host}`,
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return {
        ok: false,
        status: 502,
        reason: `cannot resolve ${target.host}: ${message}`,
        rule: verdict.rule,
      };
    }
    if (addresses.length === 0) {
      return { ok: false, status: 502, reason: `${target.host} has no addresses`, rule: verdict.rule };
    }
  }
  for (const address of addresses) {
    if (inAnyCidr(address, ctx.allowRanges)) continue;
    const kind = forbiddenReason(address);
    if (kind === undefined) continue;
    const reason = target.isIp
      ? `${address} is a ${kind} address; the sandbox may not reach it`
      : `${target.host} resolves to ${address}, a ${kind} address; the sandbox may not reach it`;
    return { ok: false, status: 403, reason, rule: verdict.rule, address };
  }
  const reason = verdict.reason ?? (verdict.rule ? `allowed by ${verdict.rule}` : 'allowed');
  return { ok: true, address: addresses[0]!, rule: verdict.rule, reason };
}

/** The fields every decision about one target shares. */
export type DecisionBase = Pick<EgressDecision, 'host' | 'port' | 'method' | 'rule' | 'address'>;

/**
 * Ends a request whose checks refused it (sending the refusal with `refuse`) or whose client
 * hung up meanwhile, reporting the decision; false when the caller should connect upstream.
 */
export function endsBeforeConnect(
  ctx: ProxyContext,
  base: DecisionBase,
  checked: CheckResult,
  clientGone: boolean,
  refuse: (status: number, reason: string) => void,
  durationMs: number,
): boolean {
  if (!checked.ok) {
    refuse(checked.status, checked.reason);
    ctx.report({ ...base, allowed: false, reason: checked.reason, status: checked.status, durationMs });
    return true;
  }
  if (clientGone) {
    ctx.report({
      ...base,
      allowed: true,
      reason: checked.reason,
      status: 499,
      error: 'client hung up',
      durationMs,
    });
    return true;
  }
  return false;
}
