// Nightshift run tools MCP server: runs INSIDE a sandbox, started by an agent CLI (Claude Code,
// Codex, OpenCode) as a stdio MCP server. It speaks MCP (JSON-RPC 2.0, one message per line) on
// stdin and stdout, answers `initialize` and `ping` itself, and forwards `tools/list` and
// `tools/call`, each over a connection of its own, to the run's sub-run socket that the host
// bind-mounted into the sandbox. It holds no capability of its own: the host, which knows whose
// socket it is, checks every call against the run's policy. Node builtins only (it runs with the
// host's node).
//
//   node mcp-server.mjs /run/nightshift/runs.sock
//
// Exits with status 2 on bad arguments, and once its stdin has ended and every request is answered.
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const SUPPORTED_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'];
const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const METHOD_NOT_FOUND = -32601;
const INTERNAL_ERROR = -32603;

const args = process.argv.slice(2);
if (args.length !== 1 || !args[0].startsWith('/')) {
  process.stderr.write(
    'usage: node mcp-server.mjs SOCKET_PATH (the run’s sub-run socket, an absolute path)\n',
  );
  process.exit(2);
}
const socketPath = args[0];

function send(message) {
  process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
}

/** One request to the host over a connection of its own; resolves with its JSON-RPC response. */
function ask(method, params) {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let received = '';
    socket.setEncoding('utf8');
    socket.on('connect', () =>
      socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method, params })}\n`),
    );
    socket.on('data', (chunk) => {
      received += chunk;
      const end = received.indexOf('\n');
      if (end === -1) return;
      socket.end();
      try {
        resolve(JSON.parse(received.slice(0, end)));
      } catch {
        reject(new Error('the answer is not JSON'));
      }
    });
    socket.on('error', (error) => reject(error));
    socket.on('close', () => reject(new Error('the connection closed without an answer')));
  });
}

let pending = 0;
let inputEnded = false;

/** Forwards a tools request: only the fields MCP defines for it, nothing else of the client's message. */
async function forward(id, method, params) {
  pending++;
  const forwarded = method === 'tools/call' ? { name: params?.name, arguments: params?.arguments ?? {} } : {};
  try {
    const answer = await ask(method, forwarded);
    send(answer.error ? { id, error: answer.error } : { id, result: answer.result });
  } catch (error) {
    send({
      id,
      error: {
        code: INTERNAL_ERROR,
        message: `the run's sub-run service at ${socketPath} did not answer (${error.message}); the run may be ending`,
      },
    });
  }
  pending--;
  if (inputEnded && pending === 0) process.exit(0);
}

function handle(message) {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return send({
      id: null,
      error: { code: INVALID_REQUEST, message: 'expected one JSON-RPC request object per line' },
    });
  }
  const { id, method, params } = message;
  // Responses and notifications (notifications/initialized, notifications/cancelled) need no answer.
  if (typeof method !== 'string' || id === undefined || id === null) return;
  switch (method) {
    case 'initialize': {
      const asked = params?.protocolVersion;
      return send({
        id,
        result: {
          protocolVersion: SUPPORTED_VERSIONS.includes(asked) ? asked : SUPPORTED_VERSIONS[0],
          capabilities: { tools: {} },
          serverInfo: { name: 'nightshift', version: '1.0.0' },
        },
      });
    }
    case 'ping':
      return send({ id, result: {} });
    case 'tools/list':
    case 'tools/call':
      return forward(id, method, params);
    default:
      return send({
        id,
        error: { code: METHOD_NOT_FOUND, message: `${method} is not supported: this server has tools only` },
      });
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
lines.on('line', (line) => {
  if (line.trim() === '') return;
  let message;
  try {
    message = JSON.parse(line);
  } catch {
    return send({ id: null, error: { code: PARSE_ERROR, message: 'the line is not JSON' } });
  }
  handle(message);
});
// Requests still being answered are answered first.
lines.on('close', () => {
  inputEnded = true;
  if (pending === 0) process.exit(0);
});
