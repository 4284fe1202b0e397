/** The providers a gateway forwards to, as they appear in usage records. */
export type ProviderName = 'anthropic' | 'openai' | 'openai-compatible';

/** The wire API of a call: decides the error format and where usage is read from. */
export type ModelApi = 'anthropic' | 'openai';

/** Where the gateway forwards to and with which key. The key never leaves the host. */
export interface ProviderConfig {
  /** Anthropic: without `/v1` (default `https://api.anthropic.com`); OpenAI-shaped: with `/v1`. */
  baseUrl?: string;
  /** Required for `anthropic` and `openai`, optional for `openaiCompatible` (Ollama needs none). */
  apiKey?: string;
}

/** Prices in USD per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
}

/** One model call as the gateway metered it. */
export interface ModelCall {
  provider: ProviderName;
  /** The model the provider reported (else the one requested; `''` when neither is known). */
  model: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** False when the model is not in the price table: its cost counts as 0. */
  priced: boolean;
  stream: boolean;
  durationMs: number;
  /** HTTP status the client got (429 for a call refused by the budget, 502 when the provider was unreachable). */
  status: number;
  /** Why the call failed before or during the response, when it did. */
  error?: string;
}

/** Running totals of a gateway (one run). */
export interface UsageTotals {
  /** Model calls handled (forwarded, or failed on the way); calls refused by the budget are not counted. */
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** Calls whose model had no price (their cost counts as 0). */
  unpricedCalls: number;
}

/** A run's model budget; either limit, when reached, refuses further calls. */
export interface ModelBudget {
  /** Input plus output tokens. */
  tokens?: number;
  costUsd?: number;
}

/** Enough of a pino logger for the gateway's few warnings. */
export interface GatewayLogger {
  warn(meta: Record<string, unknown>, message: string): void;
}

export interface ModelGatewayOptions {
  providers: {
    anthropic?: ProviderConfig;
    openai?: ProviderConfig;
    /** Any OpenAI-compatible server (a local Ollama or vLLM); `baseUrl` required. Exclusive with `openai`. */
    openaiCompatible?: ProviderConfig;
  };
  /** Listen on this Unix socket (production: bind-mounted into the sandbox). */
  socketPath?: string;
  /** File mode of the socket; default 0o666, the directory holding it is what restricts access. */
  socketMode?: number;
  /** Listen on 127.0.0.1 at this port (0: any free one). */
  port?: number;
  /** Merged over the built-in table; keys are model names or prefixes of them. */
  prices?: Record<string, ModelPrice>;
  budget?: ModelBudget;
  /** Largest request body accepted, in bytes; default 32 MiB (Anthropic's own limit). */
  maxRequestBytes?: number;
  onUsage?: (call: ModelCall) => void;
  /** Called once, when the totals first reach the budget (or a call is refused, whichever is first). */
  onBudgetExceeded?: (totals: UsageTotals) => void;
  logger?: GatewayLogger;
}

export interface ModelGateway {
  socketPath?: string;
  port?: number;
  /** `http://127.0.0.1:PORT` when listening on a port. */
  url?: string;
  usage(): UsageTotals;
  close(): Promise<void>;
}
