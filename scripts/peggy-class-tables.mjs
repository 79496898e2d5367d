// A peggy plugin: cheaper code for character classes, the inner loop of the
// nginx grammar (every character of a multi-megabyte configuration goes through
// one). Two rewrites of peggy's generated JavaScript, neither changing what the
// parser accepts or returns:
//
// 1. Class tests through a 128-entry table. peggy emits each class as
//    `const peg$rN = /^[…]/` tested with `peg$rN.test(oneChar)`; the table is
//    computed from that same RegExp (outside ASCII the RegExp itself answers).
//
// 2. Class repetitions (`[…]*`, `[…]+`) as a scan. peggy builds an array of
//    the matched characters, one push per character, although this grammar
//    never uses those arrays: it takes positions (or `$` text) instead. The
//    scan moves the position without building anything, and the repetition's
//    value becomes one shared empty array. A pass checks on the grammar that no
//    such value can reach an action, a label or a rule's caller; if one could,
//    the build fails and names the rule.
const CLASS_DECL = /^(\s*const peg\$r\d+ = )(\/.*\/[a-z]*);$/gm;

const HELPER = `
function peg$classTable(re) {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) table[c] = re.test(String.fromCharCode(c)) ? 1 : 0;
  return {
    test: (s) => { const c = s.charCodeAt(0); return c < 128 ? table[c] === 1 : re.test(s); },
    /** For a code unit of the input (never NaN: callers stop at the end). */
    code: (c) => (c < 128 ? table[c] === 1 : re.test(String.fromCharCode(c))),
  };
}
// The value of a class repetition: the grammar never reads it (checked at build time).
const peg$SCANNED = Object.freeze([]);
`;

// peggy's code for one class test, with its indentation and variable names
// (the first test defines the named groups, later ones refer back to them).
const test = (i, v, r, e, vRef = v) =>
  `${i}${v} = input\\.charAt\\(peg\\$currPos\\);\\n` +
  `${i}if \\(${r}\\.test\\(${vRef}\\)\\) \\{\\n` +
  `${i}  peg\\$currPos\\+\\+;\\n` +
  `${i}\\} else \\{\\n` +
  `${i}  ${vRef} = peg\\$FAILED;\\n` +
  `${i}  if \\(peg\\$silentFails === 0\\) \\{ peg\\$fail\\(${e}\\); \\}\\n` +
  `${i}\\}\\n`;
const I = '(?<i> *)';
const A = '(?<a>s\\d+)';
const V = '(?<v>s\\d+)';
const R = '(?<r>peg\\$r\\d+)';
const E = '(?<e>peg\\$e\\d+)';
const indent = (n) => `\\k<i>${' '.repeat(n)}`;
const first = () => test('\\k<i>', V, R, E, '\\k<v>');
const body = (n) => test(indent(n), '\\k<v>', '\\k<r>', '\\k<e>');

// `[…]*`: an empty array, one test, then a loop that pushes and tests again.
const STAR = new RegExp(
  `^${I}${A} = \\[\\];\\n` +
    first() +
    `\\k<i>while \\(\\k<v> !== peg\\$FAILED\\) \\{\\n` +
    `${indent(2)}\\k<a>\\.push\\(\\k<v>\\);\\n` +
    body(2) +
    `\\k<i>\\}\\n`,
  'gm',
);

// `[…]+`: the same loop inside `if (first matched) … else fail`.
const PLUS = new RegExp(
  `^${I}${A} = \\[\\];\\n` +
    first() +
    `\\k<i>if \\(\\k<v> !== peg\\$FAILED\\) \\{\\n` +
    `${indent(2)}while \\(\\k<v> !== peg\\$FAILED\\) \\{\\n` +
    `${indent(4)}\\k<a>\\.push\\(\\k<v>\\);\\n` +
    body(4) +
    `${indent(2)}\\}\\n` +
    `\\k<i>\\} else \\{\\n` +
    `${indent(2)}\\k<a> = peg\\$FAILED;\\n` +
    `\\k<i>\\}\\n`,
  'gm',
);

// The scan leaves the variables as peggy's loop does (the test variable failed,
// the failure recorded at the stopping position when failures are tracked).
const scan = (i, r) => `${i}while (peg$currPos < input.length && ${r}.code(input.charCodeAt(peg$currPos))) peg$currPos++;\n`;
const stopped = (i, v, e) => `${i}${v} = peg$FAILED;\n${i}if (peg$silentFails === 0) { peg$fail(${e}); }\n`;

function rewriteScans(code) {
  let count = 0;
  code = code.replace(STAR, (...m) => {
    const { i, a, v, r, e } = m[m.length - 1];
    count++;
    return `${i}${a} = peg$SCANNED;\n${scan(i, r)}${stopped(i, v, e)}`;
  });
  code = code.replace(PLUS, (...m) => {
    const { i, a, v, r, e } = m[m.length - 1];
    count++;
    return (
      `${i}if (peg$currPos < input.length && ${r}.code(input.charCodeAt(peg$currPos))) {\n` +
      `${i}  peg$currPos++;\n${scan(`${i}  `, r)}${i}  ${a} = peg$SCANNED;\n` +
      `${i}} else {\n${i}  ${a} = peg$FAILED;\n${i}}\n${stopped(i, v, e)}`
    );
  });
  return { code, count };
}

const isClassRepetition = (node) => (node.type === 'zero_or_more' || node.type === 'one_or_more') && node.expression.type === 'class';

/**
 * How many class repetitions the generated code holds, after checking that none of their
 * values is used: rules whose result a caller can see are found first (from
 * the start rules, to a fixed point), then every node is visited knowing
 * whether its value can be seen.
 */
function classRepetitions(ast, startRules) {
  const rules = new Map(ast.rules.map((r) => [r.name, r]));
  const seen = new Set(); // rules whose value some caller can see
  let copies = 0; // occurrences in the generated code
  const misuses = [];
  let changed = true;
  // `times`: how often the node's code is emitted (peggy writes a repetition's
  // expression twice: before its loop and inside it).
  const visit = (node, used, rule, collect, times = 1) => {
    switch (node.type) {
      case 'rule_ref':
        if (used && !seen.has(node.name)) {
          seen.add(node.name);
          changed = true;
        }
        return;
      case 'text':
      case 'simple_and':
      case 'simple_not':
        return visit(node.expression, false, rule, collect, times);
      case 'action':
        return visit(node.expression, false, rule, collect, times);
      case 'labeled':
        // A named label is handed to an action; a bare `@` passes the value on.
        return visit(node.expression, node.label !== null ? true : used, rule, collect, times);
      case 'sequence': {
        const picks = node.elements.some((e) => e.type === 'labeled' && e.pick);
        for (const e of node.elements) visit(e, picks ? used && e.type === 'labeled' && e.pick === true : used, rule, collect, times);
        return;
      }
      case 'choice':
        for (const alt of node.alternatives) visit(alt, used, rule, collect, times);
        return;
      default:
        if (collect && isClassRepetition(node)) {
          copies += times;
          if (used) misuses.push(rule);
        }
        if (node.expression) {
          const repeats = node.type === 'zero_or_more' || node.type === 'one_or_more' || node.type === 'repeated';
          visit(node.expression, used, rule, collect, repeats ? times * 2 : times);
        }
    }
  };
  for (const name of startRules.includes('*') ? rules.keys() : startRules) seen.add(name);
  while (changed) {
    changed = false;
    for (const rule of ast.rules) visit(rule.expression, seen.has(rule.name), rule.name, false);
  }
  for (const rule of ast.rules) visit(rule.expression, seen.has(rule.name), rule.name, true);
  if (misuses.length > 0) {
    throw new Error(`peggy-class-tables: the characters matched by a class repetition are used in rule(s) ${[...new Set(misuses)].join(', ')}; take $text or positions instead`);
  }
  return copies;
}

function rewriteTables(node) {
  if (typeof node === 'string') return node.replace(CLASS_DECL, '$1peg$classTable($2);');
  if (node && Array.isArray(node.children)) node.children = node.children.map(rewriteTables);
  return node;
}

export function use(config) {
  let expected = 0;
  config.passes.generate.unshift(function checkClassRepetitions(ast, options) {
    expected = classRepetitions(ast, options.allowedStartRules ?? []);
  });
  config.passes.generate.push(function classTables(ast) {
    rewriteTables(ast.code);
    // The repetitions span several lines: rewrite the code as one text.
    const { code, count } = rewriteScans(ast.code.toString());
    if (count !== expected) {
      throw new Error(`peggy-class-tables: the grammar's class repetitions should appear ${expected} times in peggy's output, ${count} found (has peggy's code shape changed?)`);
    }
    ast.code.children = [code];
    ast.code.add(HELPER);
  });
}
