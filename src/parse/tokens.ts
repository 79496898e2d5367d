// The statements as nginx's tokenizer emits them: [kind, value, line], kind
// being word, ";", "{" or "}". This is the form of the corpus oracles
// (*.tokens.json), so the parser can be compared with nginx word for word.
import type { Statement } from './ast.js';
import { parseStatements } from './loader.js';

export type Token = [kind: 'word' | ';' | '{' | '}', value: string, line: number];

export function toTokens(statements: Statement[], out: Token[] = []): Token[] {
  for (const st of statements) {
    if (st.kind !== 'directive') continue;
    out.push(['word', st.name, st.source.line]);
    const args = st.raw === undefined ? st.args : st.args.slice(0, -1);
    for (const arg of args) out.push(['word', arg.value, arg.source.line]);
    if (st.raw !== undefined) {
      out.push(['{', '{', st.end!.line]);
      luaAsNginxTokens(st.raw, st.end!.line, out);
      if (st.close) out.push(['}', '}', st.close.line]);
    } else if (st.block) {
      out.push(['{', '{', st.end!.line]);
      toTokens(st.block, out);
      if (st.close) out.push(['}', '}', st.close.line]);
    } else if (st.end) out.push([';', ';', st.end.line]);
  }
  return out;
}

/**
 * nginx without the lua module does not know a Lua body is raw: its tokenizer
 * reads the body as statements. Re-reading the raw body that way gives the
 * tokens nginx itself emits for it.
 */
function luaAsNginxTokens(raw: string, openLine: number, out: Token[]): void {
  const { statements } = parseStatements(raw, '', false);
  for (const [kind, value, line] of toTokens(statements)) out.push([kind, value, line + openLine - 1]);
}
