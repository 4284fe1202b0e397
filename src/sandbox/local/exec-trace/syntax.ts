/** A parsed argument of a syscall line: a string, an array, or any other text as printed. */
export type TraceValue =
  | { string: string; truncated: boolean }
  | { array: TraceValue[]; truncated: boolean }
  | { raw: string };

export interface TraceCall {
  name: string;
  args: TraceValue[];
  /** The return value, or null for `?` (the call did not return, e.g. a successful exit). */
  ret: number | null;
  errno: string | null;
  /** The text after the return value (e.g. `/* 4299 in strace's PID NS *\/`). */
  tail: string;
}

/** Parses `name(args) = ret [ERRNO (text)]` as strace prints it. */
export function parseCall(text: string): TraceCall | null {
  const open = text.indexOf('(');
  if (open <= 0) return null;
  const name = text.slice(0, open);
  if (!/^[a-z_0-9]+$/.test(name)) return null;
  const scanner = { text, at: open + 1 };
  const args: TraceValue[] = [];
  skipSpaces(scanner);
  if (text[scanner.at] === ')') scanner.at += 1;
  else {
    for (;;) {
      args.push(readValue(scanner, ',)'));
      skipSpaces(scanner);
      const c = text[scanner.at];
      scanner.at += 1;
      if (c === ')') break;
      if (c !== ',') return null;
      skipSpaces(scanner);
    }
  }
  const result = /^\s*=\s*(-?\d+|\?|0x[0-9a-f]+)(?:\s+(E[A-Z0-9]+))?(.*)$/s.exec(text.slice(scanner.at));
  if (!result) return null;
  const ret = result[1] === '?' ? null : Number(result[1]);
  return { name, args, ret, errno: result[2] ?? null, tail: result[3]?.trim() ?? '' };
}

interface Scanner {
  text: string;
  at: number;
}

function skipSpaces(s: Scanner): void {
  while (s.text[s.at] === ' ') s.at += 1;
}

function readValue(s: Scanner, stops: string): TraceValue {
  skipSpaces(s);
  const c = s.text[s.at];
  if (c === '"') return readString(s);
  if (c === '[') {
    s.at += 1;
    const items: TraceValue[] = [];
    let truncated = false;
    skipSpaces(s);
    while (s.at < s.text.length && s.text[s.at] !== ']') {
      if (s.text.startsWith('...', s.at)) {
        truncated = true;
        s.at += 3;
      } else items.push(readValue(s, ',]'));
      skipSpaces(s);
      if (s.text[s.at] === ',') s.at += 1;
      skipSpaces(s);
    }
    s.at += 1;
    return { array: items, truncated };
  }
  const start = s.at;
  let depth = 0;
  while (s.at < s.text.length) {
    const ch = s.text[s.at]!;
    if (ch === '"') {
      readString(s);
      continue;
    }
    if (ch === '/' && s.text[s.at + 1] === '*') {
      const end = s.text.indexOf('*/', s.at + 2);
      s.at = end < 0 ? s.text.length : end + 2;
      continue;
    }
    if (depth === 0 && stops.includes(ch)) break;
    if (ch === '(' || ch === '[' || ch === '{') depth += 1;
    if (ch === ')' || ch === ']' || ch === '}') depth -= 1;
    s.at += 1;
  }
  return { raw: s.text.slice(start, s.at).trim() };
}

const ESCAPES: Record<string, number> = {
  n: 10,
  t: 9,
  r: 13,
  v: 11,
  f: 12,
  a: 7,
  b: 8,
  '\\': 92,
  '"': 34,
  "'": 39,
};

/** A C string as strace prints it (escapes, octal and hex bytes), decoded as UTF-8. */
function readString(s: Scanner): { string: string; truncated: boolean } {
  s.at += 1;
  const bytes: number[] = [];
  while (s.at < s.text.length && s.text[s.at] !== '"') {
    const ch = s.text[s.at]!;
    if (ch !== '\\') {
      bytes.push(...Buffer.from(ch, 'utf8'));
      s.at += 1;
      continue;
    }
    const next = s.text[s.at + 1] ?? '';
    const octal = /^[0-7]{1,3}/.exec(s.text.slice(s.at + 1, s.at + 4));
    const hex = /^x([0-9a-fA-F]{2})/.exec(s.text.slice(s.at + 1, s.at + 4));
    if (octal) {
      bytes.push(Number.parseInt(octal[0], 8));
      s.at += 1 + octal[0].length;
    } else if (hex) {
      bytes.push(Number.parseInt(hex[1]!, 16));
      s.at += 4;
    } else {
      bytes.push(ESCAPES[next] ?? next.charCodeAt(0));
      s.at += 2;
    }
  }
  s.at += 1;
  const truncated = s.text.startsWith('...', s.at);
  if (truncated) s.at += 3;
  return { string: Buffer.from(bytes).toString('utf8'), truncated };
}
