import type { IncomingMessage } from 'node:http';

/** One Server-Sent Events message. */
export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

/** Parses a `text/event-stream` response into messages (comments and `retry:` are skipped). */
export async function* readSse(res: IncomingMessage): AsyncIterable<SseMessage> {
  res.setEncoding('utf8');
  let buffered = '';
  for await (const chunk of res) {
    buffered += chunk;
    let end = buffered.search(/\r?\n\r?\n/);
    while (end >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end).replace(/^\r?\n\r?\n/, '');
      const message = parseBlock(block);
      if (message) yield message;
      end = buffered.search(/\r?\n\r?\n/);
    }
  }
}

function parseBlock(block: string): SseMessage | null {
  let id: string | undefined;
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length > 0 || event !== 'message' ? { id, event, data: data.join('\n') } : null;
}
