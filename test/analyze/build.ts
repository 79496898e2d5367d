// Builds analysis inputs by hand: a small tree of statements is rendered to
// nginx text (one directive per line) and to the AST nodes the parser would
// give for it, with the same line/col, so one case can be checked by `analyze`
// and by real `nginx -t` alike.
import type { Arg, Directive, ParsedConfig, Statement } from '../../src/parse/ast.js';

export interface Node {
  name: string;
  args?: string[];
  block?: Node[];
  /** Raw body of a *_by_lua_block (kept by the parser as a last argument too). */
  raw?: string;
  freeform?: boolean;
}

export const d = (name: string, args: string[] = [], block?: Node[]): Node =>
  block ? { name, args, block } : { name, args };

export interface Built {
  text: string;
  config: ParsedConfig;
}

const FILE = 'test.conf';

export function build(nodes: Node[], context = 'main'): Built {
  const lines: string[] = [];
  const root = renderAll(nodes, 0, lines);
  const config: ParsedConfig = {
    files: [{ file: FILE, status: 'ok', errors: [], parsed: root }],
    root,
    context,
    errors: [],
    warnings: [],
  };
  return { text: lines.join('\n') + '\n', config };
}

function renderAll(nodes: Node[], depth: number, lines: string[]): Statement[] {
  return nodes.map((n) => render(n, depth, lines));
}

function render(n: Node, depth: number, lines: string[]): Directive {
  const indent = '  '.repeat(depth);
  const line = lines.length + 1;
  const col = indent.length + 1;
  const args: Arg[] = [];
  let text = indent + n.name;
  for (const a of n.args ?? []) {
    text += ' ';
    args.push({ value: a, quote: null, source: { file: FILE, line, col: text.length + 1 } });
    text += a;
  }
  const directive: Directive = { kind: 'directive', name: n.name, args, source: { file: FILE, line, col } };
  if (n.raw !== undefined) {
    lines.push(`${text} {${n.raw}}`);
    directive.raw = n.raw;
    directive.args = [...args, { value: n.raw, quote: null, source: { file: FILE, line, col: text.length + 2 } }];
    return directive;
  }
  if (!n.block) {
    lines.push(text + ';');
    return directive;
  }
  lines.push(text + ' {');
  directive.block = renderAll(n.block, depth + 1, lines);
  if (n.freeform) directive.freeform = true;
  lines.push(indent + '}');
  return directive;
}
