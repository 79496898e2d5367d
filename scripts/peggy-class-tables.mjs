// A peggy plugin: cheaper code for character classes, the inner loop of the
// nginx grammar (every character of a multi-megabyte configuration goes through
// one), and for repetitions whose values nobody reads. Rewrites of peggy's
// generated JavaScript, none changing what the parser accepts or returns:
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
//
// 3. Repetitions of a rule (`Rule*`, `Rule+`) whose values are never read,
//    found by the same pass: the rule is called until it fails, without the
//    array of its results. A rule with any repetition whose value is read is
//    left as peggy writes it.
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

const isRepetition = (node) => node.type === 'zero_or_more' || node.type === 'one_or_more';

/**
 * Where the grammar's repetitions of a class or of a rule stand: rules whose
 * result a caller can see are found first (from the start rules, to a fixed
 * point), then every node is visited knowing whether its value can be seen.
 * Returns how often class repetitions appear in the generated code (none may
 * be used: the build fails otherwise) and, by rule, how often repetitions of
 * that rule appear, for the rules none of whose repetitions is used.
 */
function repetitions(ast, startRules) {
  const rules = new Map(ast.rules.map((r) => [r.name, r]));
  const seen = new Set(); // rules whose value some caller can see
  let classCopies = 0; // occurrences in the generated code
  const ruleCopies = new Map(); // rule name → occurrences of its repetitions
  const ruleUsed = new Set(); // rules with a repetition whose value is used
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
        if (collect && isRepetition(node) && node.expression.type === 'class') {
          classCopies += times;
          if (used) misuses.push(rule);
        }
        if (collect && isRepetition(node) && node.expression.type === 'rule_ref') {
          const name = node.expression.name;
          ruleCopies.set(name, (ruleCopies.get(name) ?? 0) + times);
          if (used) ruleUsed.add(name);
        }
        if (node.expression) {
          const repeats = isRepetition(node) || node.type === 'repeated';
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
  for (const name of ruleUsed) ruleCopies.delete(name);
  return { classCopies, ruleCopies };
}

// `Rule*` and `Rule+` whose values nobody reads: the rule is called until it
// fails, with no array of its results (peggy's loop pushes each one).
function ruleLoops(name) {
  const call = `peg\\$parse${name.replace(/\$/g, '\\$')}\\(\\);`;
  const star = new RegExp(
    `^${I}${A} = \\[\\];\\n\\k<i>${V} = ${call}\\n` +
      `\\k<i>while \\(\\k<v> !== peg\\$FAILED\\) \\{\\n${indent(2)}\\k<a>\\.push\\(\\k<v>\\);\\n${indent(2)}\\k<v> = ${call}\\n\\k<i>\\}\\n`,
    'gm',
  );
  const plus = new RegExp(
    `^${I}${A} = \\[\\];\\n\\k<i>${V} = ${call}\\n` +
      `\\k<i>if \\(\\k<v> !== peg\\$FAILED\\) \\{\\n` +
      `${indent(2)}while \\(\\k<v> !== peg\\$FAILED\\) \\{\\n${indent(4)}\\k<a>\\.push\\(\\k<v>\\);\\n${indent(4)}\\k<v> = ${call}\\n${indent(2)}\\}\\n` +
      `\\k<i>\\} else \\{\\n${indent(2)}\\k<a> = peg\\$FAILED;\\n\\k<i>\\}\\n`,
    'gm',
  );
  return { star, plus, call: `peg$parse${name}();` };
}

function rewriteRuleLoops(code, names) {
  let count = 0;
  for (const name of names) {
    const { star, plus, call } = ruleLoops(name);
    code = code.replace(star, (...m) => {
      const { i, a, v } = m[m.length - 1];
      count++;
      return `${i}${a} = peg$SCANNED;\n${i}do ${v} = ${call} while (${v} !== peg$FAILED);\n`;
    });
    code = code.replace(plus, (...m) => {
      const { i, a, v } = m[m.length - 1];
      count++;
      return (
        `${i}${v} = ${call}\n${i}if (${v} !== peg$FAILED) {\n` +
        `${i}  do ${v} = ${call} while (${v} !== peg$FAILED);\n${i}  ${a} = peg$SCANNED;\n` +
        `${i}} else {\n${i}  ${a} = peg$FAILED;\n${i}}\n`
      );
    });
  }
  return { code, count };
}

function rewriteTables(node) {
  if (typeof node === 'string') return node.replace(CLASS_DECL, '$1peg$classTable($2);');
  if (node && Array.isArray(node.children)) node.children = node.children.map(rewriteTables);
  return node;
}

export function use(config) {
  let expected = { classCopies: 0, ruleCopies: new Map() };
  config.passes.generate.unshift(function checkRepetitions(ast, options) {
    expected = repetitions(ast, options.allowedStartRules ?? []);
  });
  config.passes.generate.push(function classTables(ast) {
    rewriteTables(ast.code);
    // The repetitions span several lines: rewrite the code as one text.
    const scans = rewriteScans(ast.code.toString());
    const loops = rewriteRuleLoops(scans.code, expected.ruleCopies.keys());
    const ruleCopies = [...expected.ruleCopies.values()].reduce((a, b) => a + b, 0);
    if (scans.count !== expected.classCopies || loops.count !== ruleCopies) {
      throw new Error(
        `peggy-class-tables: the grammar's unread repetitions should appear ${expected.classCopies} (classes) and ${ruleCopies} (rules) times ` +
          `in peggy's output, ${scans.count} and ${loops.count} found (has peggy's code shape changed?)`,
      );
    }
    ast.code.children = [loops.code];
    ast.code.add(HELPER);
  });
}
