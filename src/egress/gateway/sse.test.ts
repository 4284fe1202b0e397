import { describe, expect, it } from 'vitest';
import { createSseParser } from './sse.ts';

const STREAM =
  'event: message_start\r\ndata: {"a":1}\r\n\r\n: keep-alive\n\ndata: line one\ndata: line two\n\nevent: done\rdata: [DONE]\r\r';

describe('SSE parser', () => {
  it('splits a stream into blocks with their fields and exact text', () => {
    const parser = createSseParser();

    const blocks = [...parser.push(STREAM), ...parser.end().blocks];

    expect(blocks).toEqual([
      { event: 'message_start', data: '{"a":1}', raw: 'event: message_start\r\ndata: {"a":1}\r\n\r\n' },
      { event: undefined, data: undefined, raw: ': keep-alive\n\n' },
      { event: undefined, data: 'line one\nline two', raw: 'data: line one\ndata: line two\n\n' },
      { event: 'done', data: '[DONE]', raw: 'event: done\rdata: [DONE]\r\r' },
    ]);
    expect(blocks.map((b) => b.raw).join('')).toBe(STREAM);
  });

  it('gives the same blocks however the stream is cut into chunks', () => {
    const reference = createSseParser();
    const whole = [...reference.push(STREAM), ...reference.end().blocks];

    for (let cut = 1; cut < STREAM.length; cut++) {
      const parser = createSseParser();
      const blocks = [
        ...parser.push(STREAM.slice(0, cut)),
        ...parser.push(STREAM.slice(cut)),
        ...parser.end().blocks,
      ];
      expect(blocks, `cut at ${cut}`).toEqual(whole);
    }
  });

  it('hands back an unfinished last block as it is', () => {
    const parser = createSseParser();

    parser.push('data: {"x":1}\n\ndata: partial');

    expect(parser.end()).toEqual({ blocks: [], rest: 'data: partial' });
  });
});
