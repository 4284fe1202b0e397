/** One file of a unified diff. */
export interface DiffFile {
  path: string;
  lines: DiffLine[];
  added: number;
  removed: number;
}

export interface DiffLine {
  kind: 'hunk' | 'add' | 'del' | 'ctx';
  text: string;
  oldNo: number | null;
  newNo: number | null;
}

/** Splits `git diff` output into files with numbered lines. */
export function parseDiff(diff: string): DiffFile[] {
  const files: DiffFile[] = [];
  let file: DiffFile | null = null;
  let oldNo = 0;
  let newNo = 0;
  for (const line of diff.split('\n')) {
    if (line.startsWith('diff --git ')) {
      const path = /^diff --git a\/(.+) b\/(.+)$/.exec(line)?.[2] ?? line.slice(11);
      file = { path, lines: [], added: 0, removed: 0 };
      files.push(file);
    } else if (!file) {
    } else if (line.startsWith('@@')) {
      const m = /^@@ -(\d+)(?:,\d+)? \+(\d+)/.exec(line);
      oldNo = Number(m?.[1] ?? 0);
      newNo = Number(m?.[2] ?? 0);
      file.lines.push({ kind: 'hunk', text: line, oldNo: null, newNo: null });
    } else if (file.lines.length === 0) {
      // Headers before the first hunk (index, ---, +++, mode changes) are not shown.
    } else if (line.startsWith('+')) {
      file.added++;
      file.lines.push({ kind: 'add', text: line.slice(1), oldNo: null, newNo: newNo++ });
    } else if (line.startsWith('-')) {
      file.removed++;
      file.lines.push({ kind: 'del', text: line.slice(1), oldNo: oldNo++, newNo: null });
    } else if (line.startsWith(' ')) {
      file.lines.push({ kind: 'ctx', text: line.slice(1), oldNo: oldNo++, newNo: newNo++ });
    }
  }
  return files;
}

/** Pairs removed and added lines for the side-by-side view. */
export function sideBySide(lines: DiffLine[]): [DiffLine | null, DiffLine | null][] {
  const rows: [DiffLine | null, DiffLine | null][] = [];
  let dels: DiffLine[] = [];
  let adds: DiffLine[] = [];
  const flush = () => {
    for (let i = 0; i < Math.max(dels.length, adds.length); i++)
      rows.push([dels[i] ?? null, adds[i] ?? null]);
    dels = [];
    adds = [];
  };
  for (const line of lines) {
    if (line.kind === 'del') dels.push(line);
    else if (line.kind === 'add') adds.push(line);
    else {
      flush();
      rows.push([line, line]);
    }
  }
  flush();
  return rows;
}

const KEYWORDS = new Set(
  'const let var function return if else for while do switch case break continue new class extends import export from default async await try catch finally throw typeof instanceof in of def elif lambda pass with as yield fn pub struct enum impl use mod match true false null undefined None True False nil this self type interface package func go defer echo then fi esac'.split(
    ' ',
  ),
);

/** A light syntax highlighter: strings, comments, numbers and common keywords, per line. */
export function highlight(text: string): { cls: string | null; text: string }[] {
  const out: { cls: string | null; text: string }[] = [];
  const re =
    /(\/\/.*$|#.*$|--\s.*$)|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`)|(\b\d[\d_.]*\b)|([A-Za-z_$][\w$]*)/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const cls = m[1] ? 'tok-c' : m[2] ? 'tok-s' : m[3] ? 'tok-n' : KEYWORDS.has(m[4]!) ? 'tok-k' : null;
    if (cls === null) continue;
    if (m.index > last) out.push({ cls: null, text: text.slice(last, m.index) });
    out.push({ cls, text: m[0] });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push({ cls: null, text: text.slice(last) });
  return out;
}
