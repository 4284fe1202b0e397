import { request } from 'node:http';
import { Readable } from 'node:stream';

/**
 * A `fetch` that sends every request to the HTTP server on a Unix socket, whatever the URL's
 * host: how the built-in agent reaches its run's model gateway, whose socket only Nightshift
 * (and the run's sandbox, through a bind mount) can open — no TCP port any local process could use.
 */
export function socketFetch(socketPath: string): typeof fetch {
  return async (input, init) => {
    const req = new Request(input, init);
    const body = req.body ? Buffer.from(await req.arrayBuffer()) : undefined;
    const url = new URL(req.url);
    return new Promise<Response>((resolve, reject) => {
      const outgoing = request(
        {
          socketPath,
          method: req.method,
          path: `${url.pathname}${url.search}`,
          headers: { ...Object.fromEntries(req.headers), host: url.host },
          signal: req.signal,
        },
        (res) => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
              headers.append(name, item);
            }
          }
          const status = res.statusCode ?? 502;
          const stream = status === 204 || status === 304 ? null : (Readable.toWeb(res) as ReadableStream);
          resolve(new Response(stream, { status, statusText: res.statusMessage, headers }));
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  };
}
