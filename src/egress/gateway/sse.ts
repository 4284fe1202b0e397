/** One server-sent event block: its fields, and its exact text (terminating blank line included). */
export interface SseBlock {
  event?: string;
  /** `data:` lines joined with `\n`; `undefined` for a block without data (a comment, a keep-alive). */
  data?: string;
  raw: string;
}

/**
 * Incremental parser of a `text/event-stream` body: feed it text as it arrives, in chunks cut
 * anywhere (mid-line, between `\r` and `\n`), and it hands back each complete block with its
 * exact text, so a caller can forward blocks unchanged or leave one out.
 */
export function createSseParser(): {
  push(text: string): SseBlock[];
  end(): { blocks: SseBlock[]; rest: string };
} {
  let buffer = '';
  let block = '';
  let event: string | undefined;
  let data: string[] = [];

  function push(text: string, final = false): SseBlock[] {
    buffer += text;
    const blocks: SseBlock[] = [];
    let at = 0;
    for (;;) {
      const cr = buffer.indexOf('\r', at);
      const lf = buffer.indexOf('\n', at);
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      if (end === -1) break;
      // A `\r` at the very end may be the first half of `\r\n`: wait for the next chunk.
      if (buffer[end] === '\r' && end + 1 === buffer.length && !final) break;
      const next = buffer[end] === '\r' && buffer[end + 1] === '\n' ? end + 2 : end + 1;
      const line = buffer.slice(at, end);
      block += buffer.slice(at, next);
      at = next;
      if (line === '') {
        blocks.push({ event, data: data.length ? data.join('\n') : undefined, raw: block });
        block = '';
        event = undefined;
        data = [];
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    buffer = buffer.slice(at);
    return blocks;
  }

  /** At the end of the stream: the blocks still held back, and the text of an unfinished last block. */
  function end(): { blocks: SseBlock[]; rest: string } {
    const blocks = push('', true);
    const rest = block + buffer;
    block = '';
    buffer = '';
    return { blocks, rest };
  }

  return { push: (text) => push(text), end };
}
