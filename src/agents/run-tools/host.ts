import { chmod, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { z } from 'zod';
import { messageWithHint } from '../../core/errors.ts';
import type { SubRunInfo, SubRunTools } from '../types.ts';
import { describeRun, RUN_TOOLS, type RunToolName } from './definitions.ts';
import { listedTools, parseArguments, parseRequest, type Request, RPC } from './requests.ts';

/** The longest request line accepted (a prompt for a sub-run fits many times over). */
const MAX_REQUEST_BYTES = 256 * 1024;
/** Connections open at once; the in-sandbox MCP server opens one per call. */
const MAX_CONNECTIONS = 16;
/** The most of a refusal's reason recorded (it may quote what the sandbox sent). */
const MAX_REASON_CHARS = 500;

export interface RunToolsHostOptions {
  /** Where to listen: a path in the run's state directory, bind-mounted into its sandbox only. */
  socketPath: string;
  /** The run's sub-run tools; every call goes through them (and their policy checks). */
  tools: SubRunTools;
  /** Records a request refused before it reached a tool (a `policy.denied` event and audit entry). */
  refused(reason: string): void;
}

export interface RunToolsHost {
  socketPath: string;
  close(): Promise<void>;
}

type Answer = { result: unknown } | { error: { code: number; message: string } };

function toolResult(text: string, isError: boolean) {
  return { result: { content: [{ type: 'text', text }], isError } };
}

/** Runs a tool on arguments that passed its input schema; anything else is refused and recorded. */
async function call<T extends z.ZodType>(
  name: RunToolName,
  schema: T,
  args: unknown,
  run: (input: z.output<T>) => Promise<SubRunInfo>,
  options: RunToolsHostOptions,
): Promise<Answer> {
  const parsed = parseArguments(schema, args);
  if ('problems' in parsed) {
    const reason = `a ${name} call with wrong arguments (${parsed.problems})`;
    options.refused(reason);
    return toolResult(`refused: ${reason}`, true);
  }
  try {
    return toolResult(describeRun(await run(parsed.value)), false);
  } catch (error) {
    return toolResult(messageWithHint(error), true);
  }
}

async function answer(request: Request, options: RunToolsHostOptions): Promise<Answer> {
  if (request.method === 'tools/list') return { result: { tools: listedTools() } };
  const { name, arguments: args } = request.params;
  const { tools } = options;
  if (name === 'start_run') {
    return call(name, RUN_TOOLS.start_run.input, args, (input) => tools.start(input), options);
  }
  if (name === 'run_status') {
    return call(name, RUN_TOOLS.run_status.input, args, (input) => tools.status(input.id), options);
  }
  const reason = `a call of ${JSON.stringify(name)}, which is not a tool of this server (${Object.keys(RUN_TOOLS).join(', ')})`;
  options.refused(reason);
  return { error: { code: RPC.invalidParams, message: `refused: ${reason}` } };
}

/**
 * One connection: newline-delimited JSON-RPC requests, answered in order. A request that is not
 * a well-formed `tools/list` or `tools/call` (never sent by the MCP server, so it was written by
 * something else in the sandbox) is refused, recorded, and ends the connection.
 */
function serve(socket: Socket, options: RunToolsHostOptions): void {
  let buffered = '';
  let queue = Promise.resolve();
  let closing = false;
  const write = (id: unknown, body: Answer) => {
    if (!socket.destroyed) socket.write(`${JSON.stringify({ jsonrpc: '2.0', id, ...body })}\n`);
  };
  const refuse = (code: number, reason: string) => {
    closing = true;
    options.refused(reason);
    write(null, {
      error: { code, message: `refused: ${reason}; this socket only answers the run's MCP server` },
    });
    // Nothing more is read from a connection that sent this: closed once the answer is out.
    socket.end(() => socket.destroy());
  };
  const tooLong = (text: string) => Buffer.byteLength(text) > MAX_REQUEST_BYTES;
  const take = (line: string) => {
    if (closing || line.trim() === '') return;
    if (tooLong(line)) return refuse(RPC.invalidRequest, `a request longer than ${MAX_REQUEST_BYTES} bytes`);
    const request = parseRequest(line);
    if ('reason' in request) return refuse(request.code, request.reason);
    queue = queue
      .then(async () => write(request.id, await answer(request, options)))
      .catch(() => {
        socket.destroy();
      });
  };
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    if (closing) return;
    const lines = (buffered + chunk).split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) take(line);
    if (tooLong(buffered)) take(buffered);
  });
  // The client may send its request and half-close at once: answer, then close.
  socket.on('end', () => {
    take(buffered);
    buffered = '';
    queue = queue.then(() => {
      socket.end();
    });
  });
  socket.on('error', () => socket.destroy());
}

/**
 * Starts the host side of a run's sub-run tools: a Unix socket that the run's sandbox (and no
 * other) sees, answering the in-sandbox MCP server's `tools/list` and `tools/call` with the run's
 * `SubRunTools`. Requests name no run: whoever reaches this socket acts for this run only.
 *
 * @example
 * const host = await startRunToolsHost({ socketPath: join(stateDir, 'runs.sock'), tools, refused: audit });
 */
export async function startRunToolsHost(options: RunToolsHostOptions): Promise<RunToolsHost> {
  const refused = (reason: string) =>
    options.refused(reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS)}…` : reason);
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serve(socket, { ...options, refused });
  });
  server.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const host: RunToolsHost = {
    socketPath: options.socketPath,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await unlink(options.socketPath).catch(() => {});
    },
  };
  // The sandbox may run under another uid; only its mount namespace shows it the socket.
  await chmod(options.socketPath, 0o666).catch(async (error: unknown) => {
    await host.close();
    throw error;
  });
  return host;
}
