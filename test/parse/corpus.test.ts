// The parser against the corpus oracles (../shared/corpus/nginx): every file's
// words must equal nginx's own tokenizer output (*.tokens.json) exactly, and
// its tree must equal crossplane's (*.crossplane.json) except where crossplane
// is known to differ from nginx; each such difference is named and the files
// showing it are listed, so a new kind of difference fails the test.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseText, toCrossplanePayload, toTokens, type CrossplaneStatement, type Directive } from '../../src/parse/index.js';

const CORPUS = join(import.meta.dirname, '../../../shared/corpus/nginx');
const files = readdirSync(CORPUS).filter((f) => f.endsWith('.conf')).sort();
const manifest = new Map(
  readFileSync(join(CORPUS, 'MANIFEST.tsv'), 'utf8')
    .split('\n')
    .map((line) => line.split('\t'))
    .map((cols) => [cols[0]!, cols[5] ?? ''] as const),
);

function parseCorpusFile(name: string) {
  return parseText(readFileSync(join(CORPUS, name), 'utf8'), name);
}

describe('corpus: nginx tokenizer oracle', () => {
  it('holds 137 configs, 131 with a tokens file', () => {
    expect(files).toHaveLength(137);
    expect(files.filter((f) => existsSync(join(CORPUS, f.replace(/\.conf$/, '.tokens.json'))))).toHaveLength(131);
  });

  it.each(files)('%s parses without errors', (name) => {
    const config = parseCorpusFile(name);
    expect(config.errors).toEqual([]);
    expect(config.files[0]!.status).toBe('ok');
  });

  it.each(files.filter((f) => existsSync(join(CORPUS, f.replace(/\.conf$/, '.tokens.json')))))(
    '%s: words, ; { } and lines equal nginx tokenizer output',
    (name) => {
      const expected = JSON.parse(readFileSync(join(CORPUS, name.replace(/\.conf$/, '.tokens.json')), 'utf8'));
      expect(toTokens(parseCorpusFile(name).files[0]!.parsed)).toEqual(expected);
    },
  );

  it('detects fragments (MANIFEST: fragment) and whole configs (main context)', () => {
    const wrong = files.filter((name) => {
      const fragment = manifest.get(name)!.includes('fragment');
      return fragment !== (parseCorpusFile(name).context !== 'main');
    });
    expect(wrong).toEqual([]);
  });
});

// ---- crossplane ------------------------------------------------------------

/** A statement flattened for comparison: [line, directive, ...args], blocks in document order. */
type Flat = (string | number)[];

function flatten(list: CrossplaneStatement[], out: Flat[] = []): Flat[] {
  for (const d of list) {
    out.push([d.line, d.directive, ...d.args]);
    if (d.block) flatten(d.block, out);
  }
  return out;
}

type Deviation = 'keeps-escapes' | 'lua-block-without-space' | 'glues-word-after-variable' | 'splits-after-quote' | 'fails-on-brace-in-word';

/** crossplane keeps `\n` `\t` `\r` escapes as written; nginx turns them into the characters. */
function keepsEscapes(ours: Flat, theirs: Flat): boolean {
  if (ours.length !== theirs.length) return false;
  const escape = (v: string | number) => String(v).replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r');
  return ours.every((v, i) => v === theirs[i] || escape(v) === theirs[i]);
}

/** crossplane's `${var} word` glue: one of its args is two of ours joined by a space. */
function gluesWordAfterVariable(ours: Flat, theirs: Flat): boolean {
  for (let i = 2; i < ours.length - 1; i++) {
    if (/\$\{[^}]*\}$/.test(String(ours[i])) && theirs[i] === `${ours[i]} ${ours[i + 1]}`) return true;
  }
  return false;
}

/** crossplane splits `"a"-b` into two args where nginx reports an error (so never in a valid file). */
function splitsAfterQuote(ours: Flat, theirs: Flat): boolean {
  return theirs.length === ours.length + 1 && theirs.slice(0, -2).every((v, i) => v === ours[i]);
}

/**
 * Compares our tree with crossplane's for one file and names every difference.
 * `lua-block-without-space`: crossplane hands `*_by_lua_block{` (no space before
 * the brace) to nginx's tokenizer instead of its Lua lexer, so it reads the Lua
 * body as statements; openresty reads it as Lua, as this parser does.
 */
function classify(name: string): { deviations: Set<Deviation>; unexplained: string[] } {
  const config = parseCorpusFile(name);
  const ours = flatten(toCrossplanePayload(config).config[0]!.parsed);
  const payload = JSON.parse(readFileSync(join(CORPUS, name.replace(/\.conf$/, '.crossplane.json')), 'utf8'));
  const deviations = new Set<Deviation>();
  const unexplained: string[] = [];
  if (payload.status !== 'ok') deviations.add('fails-on-brace-in-word');
  const theirs = flatten(payload.config[0].parsed);
  const luaBodies = luaBodiesByLine(config.files[0]!.parsed);
  let j = 0;
  for (let i = 0; i < ours.length; i++, j++) {
    const a = ours[i]!;
    const b = theirs[j];
    if (b !== undefined && JSON.stringify(a) === JSON.stringify(b)) continue;
    const lua = luaBodies.get(a[0] as number);
    if (lua && b && b[1] === a[1] && b.length === a.length - 1) {
      const body = lua.map((s) => s);
      const following = theirs.slice(j + 1, j + 1 + body.length);
      if (JSON.stringify(following) === JSON.stringify(body)) {
        deviations.add('lua-block-without-space');
        j += body.length;
        continue;
      }
    }
    if (b && keepsEscapes(a, b)) deviations.add('keeps-escapes');
    else if (b && gluesWordAfterVariable(a, b)) deviations.add('glues-word-after-variable');
    else if (b && splitsAfterQuote(a, b)) deviations.add('splits-after-quote');
    else unexplained.push(`${name}: ours ${JSON.stringify(a)} crossplane ${JSON.stringify(b)}`);
  }
  if (j < theirs.length) unexplained.push(`${name}: crossplane has ${theirs.length - j} more statements`);
  return { deviations, unexplained };
}

/** For each Lua block written without a space before `{`, its body read as nginx statements. */
function luaBodiesByLine(statements: import('../../src/parse/index.js').Statement[], out = new Map<number, Flat[]>()): Map<number, Flat[]> {
  for (const st of statements) {
    if (st.kind !== 'directive') continue;
    const d = st as Directive;
    if (d.raw !== undefined && d.end && d.end.col === d.source.col + d.name.length) {
      const body = parseText(d.raw, 'lua');
      const shift = d.end.line - 1;
      out.set(d.source.line, flatten(toCrossplanePayload(body).config[0]!.parsed).map(([line, ...rest]) => [(line as number) + shift, ...rest]));
    }
    if (d.block) luaBodiesByLine(d.block, out);
  }
  return out;
}

describe('corpus: crossplane oracle, up to its known deviations', () => {
  const results = new Map(files.map((f) => [f, classify(f)]));
  const showing = (kind: Deviation) => files.filter((f) => results.get(f)!.deviations.has(kind));

  it('every difference from crossplane is a named deviation', () => {
    expect(files.flatMap((f) => results.get(f)!.unexplained)).toEqual([]);
  });

  it('most files equal crossplane exactly', () => {
    expect(files.filter((f) => results.get(f)!.deviations.size === 0)).toHaveLength(130);
  });

  it('keeps-escapes: crossplane keeps \\n \\t escapes as written, nginx resolves them', () => {
    expect(showing('keeps-escapes')).toEqual([
      '022-tools__keycloak_nginx_config_nginx.conf',
      '034-njs-examples__conf_stream_inject_header.conf',
      '103-compare_sni_proxy__web_bar_nginx.conf',
      '105-openresty-docker__nginx_vhost_default.conf',
      '117-nginx-api-gateway__api_gateway.conf',
      '125-nginx-ssl-ja3__docker_debian-nginx-ssl-ja3_nginx.conf',
    ]);
  });

  it('lua-block-without-space: crossplane reads `access_by_lua_block{` bodies as directives', () => {
    expect(showing('lua-block-without-space')).toEqual(['039-openresty-demo__conf_include_diandian.conf']);
  });

  it('glues-word-after-variable, splits-after-quote, fails-on-brace-in-word: no corpus file shows them', () => {
    expect(showing('glues-word-after-variable')).toEqual([]);
    expect(showing('splits-after-quote')).toEqual([]);
    expect(showing('fails-on-brace-in-word')).toEqual([]);
  });

  it('nginx (not crossplane) is followed where they would differ', () => {
    // `${var} word`: two words for nginx; `"a"-b`: an error for nginx; `x}y`: one word for nginx.
    const glued = parseText('set $a ${b} c;', 'x.conf');
    expect((glued.root[0] as Directive).args.map((a) => a.value)).toEqual(['$a', '${b}', 'c']);
    const split = parseText('return 200 "a"-b;', 'x.conf');
    expect(split.errors.map((e) => [e.message, e.source.line, e.source.col])).toEqual([['unexpected "-"', 1, 15]]);
    const brace = parseText('add_header X x}y;', 'x.conf');
    expect(brace.errors).toEqual([]);
    expect((brace.root[0] as Directive).args.map((a) => a.value)).toEqual(['X', 'x}y']);
    const escape = parseText('return 200 "a\\nb";', 'x.conf');
    expect((escape.root[0] as Directive).args[1]!.value).toBe('a\nb');
  });
});
