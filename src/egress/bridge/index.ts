import { fileURLToPath } from 'node:url';

/** The bridge program (plain JavaScript, node builtins only), to run inside the sandbox. */
export const BRIDGE_SCRIPT = fileURLToPath(new URL('./bridge.mjs', import.meta.url));

/** Where the egress proxy listens inside the sandbox, by default (the usual proxy port). */
export const SANDBOX_PROXY_PORT = 3128;

/** Where the egress proxy's socket is bind-mounted inside the sandbox, by default. */
export const SANDBOX_EGRESS_SOCKET = '/run/nightshift/egress.sock';

/** One loopback port inside the sandbox and the Unix socket its connections are piped to. */
export interface BridgeRoute {
  port: number;
  /** Path of the socket as the sandbox sees it (the bind mount's target). */
  socketPath: string;
  /** Loopback address to listen on (default 127.0.0.1). */
  host?: string;
}

/**
 * The argv that starts the bridge inside the sandbox: `node bridge.mjs 127.0.0.1:3128=/run/...`.
 * Keep its stdin a pipe and close it to stop the bridge; it prints `ready ...` once listening.
 *
 * @example
 * bridgeCommand(process.execPath, [
 *   { port: SANDBOX_PROXY_PORT, socketPath: SANDBOX_EGRESS_SOCKET },
 *   { port: 4000, socketPath: '/run/nightshift/model.sock' },
 * ]);
 */
export function bridgeCommand(
  node: string,
  routes: readonly BridgeRoute[],
  script = BRIDGE_SCRIPT,
): string[] {
  return [node, script, ...routes.map((r) => `${r.host ?? '127.0.0.1'}:${r.port}=${r.socketPath}`)];
}

/**
 * The environment variables that send a sandboxed process's HTTP(S) traffic through the egress
 * proxy on the sandbox's loopback, in the spellings tools read (curl, git, npm, pip, Go, Python
 * requests, undici with `NODE_USE_ENV_PROXY`). Loopback stays direct, so the model gateway's
 * port inside the sandbox is reached without the proxy.
 */
export function egressEnv(port: number = SANDBOX_PROXY_PORT): Record<string, string> {
  const proxy = `http://127.0.0.1:${port}`;
  const noProxy = 'localhost,127.0.0.1,::1';
  return {
    HTTP_PROXY: proxy,
    HTTPS_PROXY: proxy,
    ALL_PROXY: proxy,
    http_proxy: proxy,
    https_proxy: proxy,
    all_proxy: proxy,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
    NODE_USE_ENV_PROXY: '1',
  };
}
