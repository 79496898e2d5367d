// Loads a configuration: parses the main file, resolves includes (each file
// parsed once, its statements spliced in place in ParsedConfig.root), detects
// the context of a fragment, and gathers every diagnostic with its position.
// Never throws for bad input: problems become Diagnostics.
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { parse as parseGrammar } from './generated/nginx-parser.js';
import type { Diagnostic, Directive, ParsedConfig, ParsedFile, SourcePos, Statement } from './ast.js';
import { nulBytes, readConfigFile } from './source.js';
import { expandGlob, includePath, isGlob } from './include.js';
import { lineOf } from './diagnostic.js';
import { detectContext, type ConfigContext } from './context.js';
import { DirectiveNode } from './nodes.js';

export interface LoadOptions {
  /** Directory relative includes are resolved against (default: the main file's directory). */
  prefix?: string;
  context?: ConfigContext | 'auto';
  includeComments?: boolean;
  /** Keep each file's text in ParsedFile.text (serve's reuse keys servers by their text). */
  keepText?: boolean;
}

export interface ParseTextOptions extends LoadOptions {
  /** Resolve includes against this directory; without it (and without prefix) includes stay unresolved. */
  baseDir?: string;
}

interface FileResult {
  statements: Statement[];
  errors: Diagnostic[];
  /** Whether any statement is an `include` (files without one need no splicing walk). */
  hasInclude: boolean;
}

/** Parses one file's text with the grammar; the grammar itself records every error. */
export function parseStatements(text: string, file: string, includeComments: boolean): FileResult {
  return parseGrammar(text, { file, includeComments }) as FileResult;
}

export function loadConfig(file: string, opts: LoadOptions = {}): ParsedConfig {
  const absolute = resolve(file);
  const loader = new Loader(opts, opts.prefix ?? dirname(absolute));
  const read = readConfigFile(absolute, file);
  if (!read.ok) {
    loader.addFailed(absolute, file, read.error);
    return loader.finish([], opts.context);
  }
  const index = loader.addFile(absolute, file, read.text, read.errors);
  return loader.finish(loader.splice(loader.files[index]!.parsed, index, [absolute]), opts.context);
}

export function parseText(text: string, file: string, opts: ParseTextOptions = {}): ParsedConfig {
  const baseDir = opts.baseDir ?? opts.prefix;
  const loader = new Loader(opts, baseDir);
  const absolute = resolve(baseDir ?? '.', file);
  const index = loader.addFile(absolute, file, text, nulBytes(text, file));
  return loader.finish(loader.splice(loader.files[index]!.parsed, index, [absolute]), opts.context);
}

class Loader {
  readonly files: ParsedFile[] = [];
  private readonly indexByPath = new Map<string, number>();
  private readonly withoutIncludes = new Set<number>();
  /** Each file's text, for the offending line shown under a diagnostic. */
  private readonly texts: string[] = [];
  private readonly reported = new Set<string>();

  constructor(
    private readonly opts: LoadOptions,
    /** Where relative includes point; undefined leaves includes unresolved. */
    private readonly baseDir: string | undefined,
  ) {}

  addFile(absolute: string, display: string, text: string, readErrors: Diagnostic[]): number {
    const result = parseStatements(text, display, this.opts.includeComments === true);
    const index = this.files.length;
    this.texts[index] = text;
    const errors = withLines([...readErrors, ...result.errors].sort(byPosition), text);
    this.files.push({ file: display, status: errors.length > 0 ? 'failed' : 'ok', errors, parsed: result.statements, ...(this.opts.keepText ? { text } : {}) });
    this.indexByPath.set(absolute, index);
    if (!result.hasInclude) this.withoutIncludes.add(index);
    return index;
  }

  addFailed(absolute: string, display: string, error: Diagnostic): number {
    const index = this.files.length;
    this.texts[index] = '';
    this.files.push({ file: display, status: 'failed', errors: [error], parsed: [] });
    this.indexByPath.set(absolute, index);
    return index;
  }

  /**
   * The statements with every include followed by what it pulls in, recursively.
   * Directives are copied only where a block below them changed, so each
   * file's own `parsed` list keeps its unspliced shape.
   */
  splice(statements: Statement[], fileIndex: number, chain: string[]): Statement[] {
    if (this.withoutIncludes.has(fileIndex)) return statements;
    let out: Statement[] | null = null;
    for (let i = 0; i < statements.length; i++) {
      const st = statements[i]!;
      let replacement: Statement[] | null = null;
      if (st.kind === 'directive' && st.name === 'include' && st.args.length === 1 && !st.block && this.baseDir !== undefined) {
        replacement = [st, ...this.include(st, fileIndex, chain)];
      } else if (st.kind === 'directive' && st.block) {
        const block = this.splice(st.block, fileIndex, chain);
        if (block !== st.block) replacement = [st instanceof DirectiveNode ? DirectiveNode.withBlock(st, block) : { ...st, block }];
      }
      if (replacement && !out) out = statements.slice(0, i);
      if (out) out.push(...(replacement ?? [st]));
    }
    return out ?? statements;
  }

  private include(st: Directive, fileIndex: number, chain: string[]): Statement[] {
    const pattern = st.args[0]!.value;
    const target = includePath(pattern, this.baseDir!);
    const targets = isGlob(pattern) ? expandGlob(target) : [target];
    const spliced: Statement[] = [];
    const includes: number[] = [];
    for (const path of targets) {
      if (chain.includes(path)) {
        const names = [...chain.slice(chain.indexOf(path)), path].map((p) => this.display(p));
        this.error(fileIndex, { severity: 'error', message: `include cycle: ${names.join(' → ')}`, code: 'include-cycle', source: st.args[0]!.source });
        continue;
      }
      const index = this.load(path, st.args[0]!.source, fileIndex);
      if (index < 0) continue;
      includes.push(index);
      spliced.push(...this.splice(this.files[index]!.parsed, index, [...chain, path]));
    }
    st.includes = includes;
    return spliced;
  }

  /** Index of the parsed file at `path`, parsing it on first use; -1 when it cannot be read. */
  private load(path: string, at: SourcePos, fromIndex: number): number {
    const known = this.indexByPath.get(path);
    if (known !== undefined) return known;
    const display = this.display(path);
    const read = readConfigFile(path, display, at);
    if (!read.ok) {
      this.error(fromIndex, read.error);
      return -1;
    }
    return this.addFile(path, display, read.text, read.errors);
  }

  private error(fileIndex: number, diagnostic: Diagnostic): void {
    const key = `${diagnostic.source.file}:${diagnostic.source.line}:${diagnostic.source.col}:${diagnostic.message}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    const file = this.files[fileIndex]!;
    file.errors.push(withLine(diagnostic, this.texts[fileIndex]!));
    file.errors.sort(byPosition);
    file.status = 'failed';
  }

  /** Paths under the working directory are shown relative to it, others absolute. */
  private display(path: string): string {
    const rel = relative(process.cwd(), path);
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
  }

  finish(root: Statement[], context: LoadOptions['context']): ParsedConfig {
    const errors = this.files.flatMap((f) => f.errors);
    return {
      files: this.files,
      root,
      context: context === undefined || context === 'auto' ? detectContext(root) : context,
      errors,
      warnings: [],
    };
  }
}

function withLine(d: Diagnostic, text: string): Diagnostic {
  return d.lineText === undefined && text !== '' ? { ...d, lineText: lineOf(text, d.source.line) } : d;
}

/** The offending line for each diagnostic, splitting the text once however many there are. */
function withLines(list: Diagnostic[], text: string): Diagnostic[] {
  if (list.length < 8) return list.map((d) => withLine(d, text));
  const lines = text.split('\n');
  return list.map((d) => (d.lineText === undefined ? { ...d, lineText: lines[d.source.line - 1] ?? '' } : d));
}

function byPosition(a: Diagnostic, b: Diagnostic): number {
  return a.source.line - b.source.line || a.source.col - b.source.col;
}

