// The parser's output: plain data, one node per nginx statement, every node with
// the place it was written. Include directives are resolved by the loader: in
// ParsedConfig.root the include directive stays (with `includes`, so the report
// can account for it) and is immediately followed, as siblings, by the included
// files' statements. ParsedFile.parsed keeps each file on its own (crossplane's shape).
//
// The parser builds these shapes as the compact classes of nodes.ts: positions
// (`source`, `end`, `close`), a directive's `kind` and `args`, and a word's
// `quote` are getters on the prototype, not own properties. Read them as usual;
// to copy a node, copy its fields by name (a spread or JSON.stringify keeps only
// the own properties: `value`; `name`, `block`, `raw`, `freeform`, `includes`).
//
// A parsed directive's `args` is built at each read from its file's flat word
// store: a fresh array of fresh Arg objects (one shared frozen empty array when
// there are none). Read it once into a local where a function reads several
// arguments; changing the array changes nothing in the tree. Where only values
// or the count are wanted (hot loops), `argValue(d, i)`, `argValues(d)` and
// `argCount(d)` (args.ts, exported by index.ts) read them without building any
// Arg; they work on plain Directive objects too.

export interface SourcePos {
  file: string; // path as given / resolved (relative to cwd when possible)
  line: number; // 1-based
  col: number; // 1-based, in characters
}

/** A word of an argument list. `quoted` records how it was written ("", '' or bare). */
export interface Arg {
  value: string; // escapes resolved exactly as nginx resolves them
  quote: '"' | "'" | null;
  source: SourcePos;
}

export interface Comment {
  kind: 'comment';
  text: string; // without the leading '#'
  source: SourcePos;
}

export interface Directive {
  kind: 'directive';
  name: string;
  args: Arg[];
  /** Present when the directive opened a block `{ ... }`. */
  block?: Statement[];
  /** Raw body of a `*_by_lua_block { ... }` directive (kept as one argument too). */
  raw?: string;
  /**
   * For free-form blocks (`map`, `geo`, `types`, `split_clients`, `charset_map`,
   * `match`, ...) the statements are key/value entries, not directives; they
   * still appear in `block` as Directive nodes whose name is the key, and this
   * flag marks the parent.
   */
  freeform?: boolean;
  /** For `include`: indexes into ParsedConfig.files of the files it pulled in. */
  includes?: number[];
  source: SourcePos;
  /** Where the statement ended: its `;`, or the `{` that opened its block. */
  end?: SourcePos;
  /** The `}` that closed the block (absent when the file ended first). */
  close?: SourcePos;
}

export type Statement = Directive | Comment;

export interface Diagnostic {
  severity: 'error' | 'warning';
  message: string; // nginx's own wording where nginx has one
  source: SourcePos;
  /** The offending source line, for the caret display. */
  lineText?: string;
  code?: string; // stable machine name, e.g. 'unexpected-token', 'include-cycle'
}

export interface ParsedFile {
  file: string;
  /** The file's text, kept only when loading asked for it (LoadOptions.keepText). */
  text?: string;
  status: 'ok' | 'failed';
  errors: Diagnostic[];
  /** Top-level statements of this file, includes NOT spliced (crossplane shape). */
  parsed: Statement[];
}

export interface ParsedConfig {
  /** The main file first, then included files in the order first included. */
  files: ParsedFile[];
  /** The whole configuration with includes spliced in place (what lowering reads). */
  root: Statement[];
  /** Context the root was parsed in: 'main' or 'http' (conf.d fragment) etc. */
  context: string;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}
