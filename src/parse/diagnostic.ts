// `file:line:col: error: message`, then the offending line and a caret under
// the column, as compilers print it.
import type { Diagnostic } from './ast.js';

const WINDOW = 120; // longest stretch of a line shown around the caret

export function formatDiagnostic(d: Diagnostic): string {
  const { file, line, col } = d.source;
  const head = `${file}:${line}:${col}: ${d.severity}: ${d.message}`;
  if (d.lineText === undefined) return head;
  const chars = Array.from(d.lineText.replace(/\r$/, ''));
  // Keep long (minified) lines readable: show a window that holds the column.
  const from = Math.max(0, Math.min(col - 1 - WINDOW / 2, chars.length - WINDOW));
  const shown = chars.slice(from, from + WINDOW);
  // Tabs stay tabs in the padding so the caret lines up under the character.
  const pad = shown.slice(0, col - 1 - from).map((c) => (c === '\t' ? '\t' : ' ')).join('');
  return `${head}\n${printable(shown.join(''))}\n${pad}^`;
}

/** Control characters (NUL…) would garble a terminal: show them as a visible mark. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '\u00bf');
}

/** Several diagnostics, one block each. */
export function formatDiagnostics(list: Diagnostic[]): string {
  return list.map(formatDiagnostic).join('\n');
}

/** The text of line `line` (1-based) of `text`. */
export function lineOf(text: string, line: number): string {
  let start = 0;
  for (let n = 1; n < line; n++) {
    const next = text.indexOf('\n', start);
    if (next < 0) return '';
    start = next + 1;
  }
  const end = text.indexOf('\n', start);
  return text.slice(start, end < 0 ? text.length : end);
}
