// Nightshift egress bridge: runs INSIDE a sandbox, which has no network but loopback. Listens
// on loopback ports and pipes every connection to a Unix socket bind-mounted from the host
// (the egress proxy, the model gateway). Node builtins only: it runs with the host's node.
//
//   node bridge.mjs 127.0.0.1:3128=/run/nightshift/egress.sock 127.0.0.1:4000=/run/nightshift/model.sock
//
// Prints `ready HOST:PORT ...` (the bound addresses, in argument order; port 0 picks one) once
// every port listens. Exits when its stdin closes or its parent process dies.
//
//   node bridge.mjs ROUTES... -- CMD ARGS...
//
// Exec mode (how every sandboxed command runs when the sandbox has a way out): once listening,
// runs CMD with this process's stdio and exits with its status; prints nothing itself.
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';

const USAGE = 'usage: node bridge.mjs HOST:PORT=SOCKET_PATH [HOST:PORT=SOCKET_PATH ...] [-- CMD ARGS...]';

function parseRoute(arg) {
  const match = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]):(\d{1,5})=(\/.+)$/.exec(arg);
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port > 65_535) return undefined;
  return { host: match[1] === '[::1]' ? '::1' : match[1], port, socketPath: match[3] };
}

function pipeTo(client, socketPath) {
  const upstream = connect({ path: socketPath, allowHalfOpen: true });
  const drop = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', drop);
  upstream.on('error', drop);
  // Ends travel through pipe() (half-close works); a client that is gone needs no upstream.
  client.on('close', () => upstream.destroy());
  client.pipe(upstream);
  upstream.pipe(client);
}

function listen(route) {
  return new Promise((resolve, reject) => {
    const server = createServer({ allowHalfOpen: true }, (client) => pipeTo(client, route.socketPath));
    server.once('error', reject);
    server.listen(route.port, route.host, () => resolve(server));
  });
}

/** Runs the command once the routes listen; this process lives (and bridges) until it ends. */
function runCommand(argv) {
  const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('error', (error) => {
    process.stderr.write(`${argv[0]}: ${error.code === 'ENOENT' ? 'command not found' : error.message}\n`);
    process.exit(error.code === 'ENOENT' ? 127 : 126);
  });
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15)));
}

async function main() {
  const args = process.argv.slice(2);
  const split = args.indexOf('--');
  const command = split === -1 ? null : args.slice(split + 1);
  const routes = (split === -1 ? args : args.slice(0, split)).map(parseRoute);
  if (routes.length === 0 || routes.includes(undefined) || command?.length === 0) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  if (command) {
    try {
      await Promise.all(routes.map(listen));
    } catch (error) {
      process.stderr.write(`bridge: cannot listen: ${error.message}\n`);
      process.exit(1);
    }
    return runCommand(command);
  }
  const exit = () => process.exit(0);
  process.stdin.on('end', exit);
  process.stdin.on('close', exit);
  process.stdin.on('error', exit);
  process.stdin.resume();
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) exit();
  }, 200).unref();

  let servers;
  try {
    servers = await Promise.all(routes.map(listen));
  } catch (error) {
    process.stderr.write(`bridge: cannot listen: ${error.message}\n`);
    process.exit(1);
  }
  const bound = servers.map((server) => {
    const { address, port } = server.address();
    return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  });
  process.stdout.write(`ready ${bound.join(' ')}\n`);
}

main();
