import { useState } from 'preact/hooks';
import { type DiffLine, highlight, parseDiff, sideBySide } from '../diff.ts';
import { Empty } from '../ui.tsx';

function Code(props: { line: DiffLine | null }) {
  if (!props.line) return <td class="code blank" />;
  return (
    <td class={`code ${props.line.kind}`}>
      {highlight(props.line.text).map((part, i) =>
        part.cls ? (
          <span key={i} class={part.cls}>
            {part.text}
          </span>
        ) : (
          part.text
        ),
      )}
    </td>
  );
}

/** The change's diff, per file, unified or side by side. */
export function DiffView(props: { diff: string }) {
  const files = parseDiff(props.diff);
  const [mode, setMode] = useState<'unified' | 'split'>(innerWidth < 700 ? 'unified' : 'split');
  if (files.length === 0) return <Empty>The diff is empty.</Empty>;
  return (
    <div class="diff">
      <fieldset class="segmented plain">
        <legend class="sr-only">Diff layout</legend>
        <button type="button" aria-pressed={mode === 'unified'} onClick={() => setMode('unified')}>
          Unified
        </button>
        <button type="button" aria-pressed={mode === 'split'} onClick={() => setMode('split')}>
          Side by side
        </button>
      </fieldset>
      {files.map((file) => (
        <details open key={file.path} class="diff-file">
          <summary>
            <code>{file.path}</code> <span class="add">+{file.added}</span>{' '}
            <span class="del">−{file.removed}</span>
          </summary>
          <div class="scroll">
            <table class={`diff-table ${mode}`}>
              <tbody>
                {mode === 'unified'
                  ? file.lines.map((line, i) => (
                      <tr key={i} class={line.kind}>
                        <td class="no">{line.oldNo ?? ''}</td>
                        <td class="no">{line.newNo ?? ''}</td>
                        {line.kind === 'hunk' ? <td class="code hunk">{line.text}</td> : <Code line={line} />}
                      </tr>
                    ))
                  : sideBySide(file.lines).map(([left, right], i) =>
                      left?.kind === 'hunk' ? (
                        <tr key={i} class="hunk">
                          <td class="code hunk" colSpan={4}>
                            {left.text}
                          </td>
                        </tr>
                      ) : (
                        <tr key={i}>
                          <td class="no">{left?.oldNo ?? ''}</td>
                          <Code line={left?.kind === 'add' ? null : left} />
                          <td class="no">{right?.newNo ?? ''}</td>
                          <Code line={right?.kind === 'del' ? null : right} />
                        </tr>
                      ),
                    )}
              </tbody>
            </table>
          </div>
        </details>
      ))}
    </div>
  );
}
