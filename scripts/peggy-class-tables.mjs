// A peggy plugin: character classes tested through a 128-entry table instead of
// a RegExp call per character. peggy emits each class as `const peg$rN = /^[…]/`
// and tests it with `peg$rN.test(oneChar)`; the table is computed from that same
// RegExp (outside ASCII the RegExp itself still answers), so every answer is
// unchanged; only the cost differs (a RegExp call per character dominates the
// parse of a multi-megabyte configuration).
const CLASS_DECL = /^(\s*const peg\$r\d+ = )(\/.*\/[a-z]*);$/gm;

const HELPER = `
function peg$classTable(re) {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) table[c] = re.test(String.fromCharCode(c)) ? 1 : 0;
  return { test: (s) => { const c = s.charCodeAt(0); return c < 128 ? table[c] === 1 : re.test(s); } };
}
`;

function rewrite(node) {
  if (typeof node === 'string') return node.replace(CLASS_DECL, '$1peg$classTable($2);');
  if (node && Array.isArray(node.children)) node.children = node.children.map(rewrite);
  return node;
}

export function use(config) {
  config.passes.generate.push(function classTables(ast) {
    rewrite(ast.code);
    ast.code.add(HELPER);
  });
}
