/** What the network policy says about one destination. */
export interface EgressVerdict {
  allowed: boolean;
  /** The rule that matched (e.g. `*.npmjs.org:443`), for the decision record. */
  rule?: string;
  /** Why, in a few words; sent to the client when the destination is refused. */
  reason?: string;
}

/** The policy's allowlist: asked once per connection (CONNECT) or request (plain HTTP). */
export type EgressDecider = (host: string, port: number) => EgressVerdict | Promise<EgressVerdict>;

/** Resolves a name to IP addresses (default: `dns.promises.lookup(host, { all: true })`). */
export type EgressResolver = (host: string) => Promise<string[]>;

/**
 * One egress decision, reported once per CONNECT tunnel or plain HTTP request, refusals
 * included. Allowed ones are reported when they end, with the bytes that went through.
 */
export interface EgressDecision {
  /** Canonical host (`127.0.0.1` for `2130706433`); empty when the request could not be parsed. */
  host: string;
  port: number;
  /** `CONNECT` or the HTTP method; empty when the request could not be parsed. */
  method: string;
  /** Whether the proxy let the connection be attempted (policy and address checks passed). */
  allowed: boolean;
  reason: string;
  rule?: string;
  /** The IP address the proxy connected (or would have connected) to. */
  address?: string;
  /** Bytes from the sandbox to the destination (request body, or the tunnel's upstream bytes). */
  bytesOut?: number;
  /** Bytes from the destination to the sandbox (response body, or the tunnel's downstream bytes). */
  bytesIn?: number;
  /** The status the proxy answered with (200 for an established tunnel). */
  status: number;
  /** Set when an allowed connection failed (upstream refused, timed out, client hung up). */
  error?: string;
  durationMs: number;
}

/** Options of `startEgressProxy`. Give `socketPath`, `port`, or both. */
export interface EgressProxyOptions {
  /** Listen on this Unix socket (production: bind-mounted into the sandbox). */
  socketPath?: string;
  /** Permissions of the socket file (default 0o600; the sandbox's uid must be able to write it). */
  socketMode?: number;
  /** Listen on 127.0.0.1 at this port (0 for any free port; tests and benchmarks). */
  port?: number;
  decide: EgressDecider;
  onDecision?: (decision: EgressDecision) => void;
  /** Called with anything `onDecision` throws; the proxy keeps running. */
  onError?: (error: unknown) => void;
  resolve?: EgressResolver;
  /**
   * Addresses (CIDR ranges) exempt from the loopback/private/link-local refusal. ONLY for tests
   * that must reach an upstream on 127.0.0.1; production never sets it.
   */
  allowAddresses?: readonly string[];
  /** Largest request head accepted (default 16 KiB); larger ones get 431. */
  maxHeaderBytes?: number;
  /** A connection or tunnel with no traffic for this long is closed (default 60 s). */
  idleTimeoutMs?: number;
  /** Limit for resolving a name and connecting to it (default 10 s). */
  connectTimeoutMs?: number;
}

/** A running egress proxy. */
export interface EgressProxy {
  socketPath?: string;
  port?: number;
  /** Stops listening and destroys every open connection and tunnel. */
  close(): Promise<void>;
}
