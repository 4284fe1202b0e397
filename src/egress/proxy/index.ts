export { type Cidr, forbiddenReason, inAnyCidr, parseCidr, parseIp } from './address.ts';
export { startEgressProxy, systemResolver } from './server.ts';
export { canonicalHost, type EgressTarget, parseConnectTarget, parseHttpTarget } from './target.ts';
export type {
  EgressDecider,
  EgressDecision,
  EgressProxy,
  EgressProxyOptions,
  EgressResolver,
  EgressVerdict,
} from './types.ts';
