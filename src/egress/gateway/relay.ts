import type { IncomingMessage, ServerResponse } from 'node:http';
import { redact } from './body.ts';
import { clientHeaders } from './headers.ts';
import { createSseParser, type SseBlock } from './sse.ts';
import { readUsage, type UsageReading } from './usage.ts';

/** Largest successful JSON body kept in memory to read its usage; it is forwarded whole regardless. */
const MAX_METERED_JSON = 64 * 1024 * 1024;

export interface RelayOptions {
  /** Read usage from the body as it passes. */
  metered: boolean;
  /** Leave out the usage-only Chat Completions chunk the gateway asked for on the client's behalf. */
  dropUsageChunk: boolean;
  /** Redacted from error bodies, should a provider ever echo it. */
  apiKey?: string;
  reading: UsageReading;
}

/** A Chat Completions chunk that only carries usage: `choices` empty, `usage` set. */
function isUsageOnlyChunk(payload: unknown): boolean {
  const chunk = payload as { choices?: unknown; usage?: unknown } | null;
  return (
    Array.isArray(chunk?.choices) &&
    chunk.choices.length === 0 &&
    typeof chunk.usage === 'object' &&
    !!chunk.usage
  );
}

function parse(data: string | undefined): unknown {
  if (data === undefined || data === '[DONE]') return undefined;
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

/**
 * Sends a provider's response to the client and resolves with its status when it has all been
 * sent. Success bodies are streamed chunk by chunk as they arrive (SSE is never buffered), with
 * backpressure, while usage is read from them; error bodies (small) are buffered to redact the key.
 */
export function relayResponse(
  upstream: IncomingMessage,
  res: ServerResponse,
  options: RelayOptions,
): Promise<number> {
  const status = upstream.statusCode ?? 502;
  const sse = String(upstream.headers['content-type'] ?? '').startsWith('text/event-stream');
  return new Promise((resolve, reject) => {
    upstream.on('error', reject);
    upstream.on('close', () => {
      if (!upstream.complete) reject(new Error('the provider closed the connection mid-response'));
    });
    if (status >= 400) {
      const chunks: Buffer[] = [];
      upstream.on('data', (chunk: Buffer) => chunks.push(chunk));
      upstream.on('end', () => {
        res.writeHead(status, clientHeaders(upstream.headers, false));
        res.end(redact(Buffer.concat(chunks).toString('utf8'), options.apiKey));
        resolve(status);
      });
      return;
    }
    const rewrite = sse && options.dropUsageChunk;
    res.writeHead(status, clientHeaders(upstream.headers, !rewrite));
    res.flushHeaders();
    const parser = createSseParser();
    const decoder = new TextDecoder();
    const json: Buffer[] = [];
    let jsonSize = 0;

    function write(data: Buffer | string): void {
      if (data.length > 0 && !res.write(data)) {
        upstream.pause();
        res.once('drain', () => upstream.resume());
      }
    }

    function meter(blocks: SseBlock[]): SseBlock[] {
      return blocks.filter((block) => {
        const payload = parse(block.data);
        if (options.metered) readUsage(options.reading, payload);
        return !(options.dropUsageChunk && isUsageOnlyChunk(payload));
      });
    }

    upstream.on('data', (chunk: Buffer) => {
      if (sse) {
        const kept = meter(parser.push(decoder.decode(chunk, { stream: true })));
        write(rewrite ? kept.map((block) => block.raw).join('') : chunk);
        return;
      }
      if (options.metered && jsonSize + chunk.length <= MAX_METERED_JSON) json.push(chunk);
      jsonSize += chunk.length;
      write(chunk);
    });
    upstream.on('end', () => {
      if (sse) {
        const last = parser.push(decoder.decode());
        const { blocks, rest } = parser.end();
        const kept = meter([...last, ...blocks]);
        if (rewrite) write(kept.map((block) => block.raw).join('') + rest);
      } else if (options.metered) {
        readUsage(options.reading, parse(Buffer.concat(json).toString('utf8')));
      }
      res.end(() => resolve(status));
    });
  });
}
