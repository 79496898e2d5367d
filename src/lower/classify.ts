// The migration report: every directive of the input ends in exactly one class.
// Lowering modules mark the directives they handle; whatever is left is
// classified here by what the directive is (process tuning, logging, static
// files, unknown module…). Nothing is dropped silently.
import type { Directive, Statement } from '../parse/ast.js';
import type { ReportClass, ReportEntry, Src } from '../ir/types.js';
import { NGINX_DIRECTIVES } from '../analyze/nginx-directives.generated.js';
import { fileName } from './util.js';
import { DirectiveNode } from '../parse/nodes.js';
import { WAF_DIRECTIVES, WAF_REASON } from './auth.js';

const SEVERITY: Record<ReportClass, number> = { translated: 0, ignored: 1, approximated: 2, unsupported: 3 };

/** The worse of two classes: what a directive marked with both ends in. */
export function worseClass(a: ReportClass, b: ReportClass): ReportClass {
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

interface Mark {
  cls: ReportClass;
  reason: string;
}

/**
 * The marks of one server or location block's own directives, by position
 * among them: most marks land here, found by a short indexOf instead of a
 * lookup in a map of every directive of the configuration.
 */
interface LevelMarks {
  ds: Directive[];
  entries: (ReportEntry | undefined)[];
}

/** `found` before any level is found (never read at an index: slotOf returned -1). */
const NO_LEVEL: LevelMarks = { ds: [], entries: [] };

export class Reporter {
  // A directive's report entry is made at its first mark and completed in place:
  // most directives are marked once, so this is the only object a mark costs.
  /** Entries of the directives that belong to no open level (http, upstream, if bodies…) or to several (shared includes). */
  private readonly marks = new Map<Directive, ReportEntry>();
  /** Reasons after the first, for the few directives marked more than once. */
  private readonly more = new Map<ReportEntry, string[]>();
  /** The levels being lowered, innermost last. */
  private readonly open: LevelMarks[] = [];
  /** Every level of the server being lowered (its later passes mark location directives again). */
  // (emptied in place, never replaced, and `found` never null: the Reporter's fields keep
  // one type from construction, so no optimised reader of them is thrown away later)
  private readonly serverLevels: LevelMarks[] = [];
  /** Each level's marks by its block, for the report walk. */
  private readonly byBlock = new Map<Statement[], LevelMarks>();
  /**
   * Directives that occur more than once in the spliced tree (from a file included
   * several times): one entry for all their occurrences, so they stay in `marks`.
   */
  private readonly shared: Set<Directive>;
  readonly notes: ReportEntry[] = [];

  constructor(shared: Set<Directive> = new Set()) {
    this.shared = shared;
  }

  /** A server or location block is being lowered; `ds` are its directives in order (directivesOf(block)). */
  openLevel(block: Statement[] | undefined, ds: Directive[], server = false): void {
    const level: LevelMarks = { ds, entries: new Array<ReportEntry | undefined>(ds.length) };
    if (server) this.serverLevels.length = 0;
    this.open.push(level);
    this.serverLevels.push(level);
    if (block) this.byBlock.set(block, level);
  }

  closeLevel(server = false): void {
    this.open.pop();
    if (server) this.serverLevels.length = 0;
  }

  /**
   * Where `d`'s entry is kept: its index in `this.found`'s directives, or -1 when
   * the entry lives in `marks`. (Two results without an object per mark.)
   */
  private found: LevelMarks = NO_LEVEL;

  private slotOf(d: Directive): number {
    if (this.serverLevels.length === 0 || (this.shared.size > 0 && this.shared.has(d))) return -1;
    for (let k = this.open.length - 1; k >= 0; k--) {
      const i = this.open[k]!.ds.indexOf(d);
      if (i >= 0) {
        this.found = this.open[k]!;
        return i;
      }
    }
    for (const level of this.serverLevels) {
      const i = level.ds.indexOf(d);
      if (i >= 0) {
        this.found = level;
        return i;
      }
    }
    return -1;
  }

  private entryAt(d: Directive, i: number): ReportEntry | undefined {
    return i >= 0 ? this.found.entries[i] : this.marks.get(d);
  }

  private setEntry(d: Directive, i: number, e: ReportEntry): void {
    if (i >= 0) this.found.entries[i] = e;
    else this.marks.set(d, e);
  }

  /**
   * Classify a directive; a second mark keeps the worse class and both reasons.
   * `at`: the directive's position as the IR writes it (srcOf(d)), when the caller
   * has made it already: a position is worked out from the file's line table at each read.
   */
  mark(d: Directive, cls: ReportClass, reason: string, at?: Src): void {
    const i = this.slotOf(d);
    const e = this.entryAt(d, i);
    if (!e) {
      this.setEntry(d, i, at === undefined ? entryOf(d, cls, reason) : entryAt(at, d, cls, reason));
      return;
    }
    let kept = e;
    if (SEVERITY[cls] > SEVERITY[e.class]) kept = this.reclassed(d, i, e, cls);
    if (reason === kept.reason) return;
    const more = this.more.get(kept);
    if (!more) this.more.set(kept, [reason]);
    else if (!more.includes(reason)) more.push(reason);
  }

  /**
   * `e` with a worse class, put where `e` was. A new entry rather than `e.class = cls`:
   * an entry's fields are never written after it is made (the first such write turns
   * the field mutable for every entry and throws away the optimised code that made or
   * read them). Its further reasons move with it.
   */
  private reclassed(d: Directive, i: number, e: ReportEntry, cls: ReportClass): ReportEntry {
    const worse = withFields(e, cls, e.reason);
    this.setEntry(d, i, worse);
    const more = this.more.get(e);
    if (more) {
      this.more.delete(e);
      this.more.set(worse, more);
    }
    return worse;
  }

  /** Replace a directive's class when a later pass decides it (e.g. a rewrite resolved at compile time). */
  override(d: Directive, cls: ReportClass, reason: string): void {
    const i = this.slotOf(d);
    const e = this.entryAt(d, i);
    if (e) this.more.delete(e);
    this.setEntry(d, i, entryOf(d, cls, reason));
  }

  isMarked(d: Directive): boolean {
    return this.entryAt(d, this.slotOf(d)) !== undefined;
  }

  /** A report line that belongs to no single directive (a default, an unreachable location…). `at` is an IR position. */
  note(at: Src, directive: string, cls: ReportClass, reason: string): void {
    this.notes.push({ file: at.file, line: at.line, col: at.col, directive, class: cls, reason });
  }

  /** Mark a whole block (and its children) with one class, keeping finer marks already made. */
  markTree(d: Directive, cls: ReportClass, reason: string, childReason = reason): void {
    this.mark(d, cls, reason);
    const block = d.block;
    if (block === undefined) return;
    for (let i = 0; i < block.length; i++) {
      const s = block[i]!;
      if (s.kind === 'directive') this.markTree(s, cls, childReason, childReason);
    }
  }

  /**
   * One entry per directive of the spliced tree, in file order. `include`
   * directives (outside free-form blocks) are reported as placed first, before
   * any other mark they got.
   */
  entries(root: Statement[], context: string): ReportEntry[] {
    const out: ReportEntry[] = [];
    const includes = new Set<ReportEntry>();
    const anyShared = this.shared.size > 0;
    // An index loop: this one runs once per statement of the input, mostly before the
    // optimising compiler has seen it, where for…of allocates a result per step.
    const walk = (stmts: Statement[], ctx: string, parent: Directive | null, freeform: boolean): void => {
      const level = this.byBlock.get(stmts);
      let k = 0;
      for (let i = 0; i < stmts.length; i++) {
        const s = stmts[i]!;
        if (s.kind !== 'directive') continue;
        const own = level && !(anyShared && this.shared.has(s)) ? level.entries[k] : undefined;
        k++;
        let e = own ?? this.marks.get(s);
        if (s.name === 'include' && !freeform) {
          e = this.included(s, e, includes);
        } else if (e === undefined) {
          // (compared, not tested for truth: a truth test reads each entry's map, one more
          // cache miss per directive in a walk that touches nothing else of the entries)
          const m = defaultMark(s, ctx, parent);
          e = entryOf(s, m.cls, m.reason);
        }
        out.push(e);
        if (s.block) walk(s.block, childContext(s, ctx), s, freeform || s.freeform === true);
      }
    };
    walk(root, context, null, false);
    if (this.more.size > 0) this.joinReasons(out);
    return out;
  }

  /**
   * Each entry marked more than once replaced by one with all its reasons joined (new
   * entries, not written in place: see reclassed); an entry listed several times (a
   * shared include's directive) becomes one new entry everywhere.
   */
  private joinReasons(out: ReportEntry[]): void {
    const joined = new Map<ReportEntry, ReportEntry>();
    this.more.forEach((more, e) => {
      joined.set(e, withFields(e, e.class, `${e.reason}; ${more.join('; ')}`));
    });
    this.more.clear(); // joined once: the entries are final
    replaceAll(out, joined);
  }

  /** An include's entry: its own reason first, then the reasons of marks it got while lowering. */
  private included(d: Directive, e: ReportEntry | undefined, done: Set<ReportEntry>): ReportEntry {
    const first = `included ${d.includes?.length ?? 0} file(s) in place`;
    if (!e) {
      e = entryOf(d, 'translated', first);
      if (this.shared.has(d)) this.marks.set(d, e); // its other occurrences are this entry too
      done.add(e);
      return e;
    }
    if (done.has(e)) return e;
    const later = [e.reason, ...(this.more.get(e) ?? [])].filter((r) => r !== first);
    this.more.delete(e);
    // A new entry with the include's own reason first (entries are not written after they are made).
    const placed = withFields(e, e.class, first);
    if (this.shared.has(d)) this.marks.set(d, placed); // its other occurrences find this one (and `done`)
    done.add(placed);
    if (later.length) this.more.set(placed, later);
    return placed;
  }
}

function entryOf(d: Directive, cls: ReportClass, reason: string): ReportEntry {
  // (a parsed node's position read field by field: one entry per directive, no position object)
  if (d instanceof DirectiveNode) return { file: fileName(d.sourceFile()), line: d.sourceLine(), col: d.sourceCol(), directive: d.name, class: cls, reason };
  const at = d.source;
  return { file: fileName(at.file), line: at.line, col: at.col, directive: d.name, class: cls, reason };
}

/**
 * Each entry of `out` that `joined` replaces, replaced. Every slot is written (most
 * with the entry it holds): a store met for the first time after this long loop is
 * optimised would find no feedback and deoptimise it. The loop ends its function: code after an optimised loop has never run.
 */
function replaceAll(out: ReportEntry[], joined: Map<ReportEntry, ReportEntry>): void {
  for (let i = 0; i < out.length; i++) {
    const e = out[i]!;
    out[i] = joined.get(e) ?? e;
  }
  return;
}

/** A copy of `e` with another class and reason (same fields, same order: one shape). */
function withFields(e: ReportEntry, cls: ReportClass, reason: string): ReportEntry {
  return { file: e.file, line: e.line, col: e.col, directive: e.directive, class: cls, reason };
}

/** entryOf from the directive's IR position (its file already named as the IR names it). */
function entryAt(at: Src, d: Directive, cls: ReportClass, reason: string): ReportEntry {
  return { file: at.file, line: at.line, col: at.col, directive: d.name, class: cls, reason };
}

function childContext(d: Directive, ctx: string): string {
  if (d.freeform) return 'freeform';
  if ((d.name === 'upstream' || d.name === 'map') && (ctx.startsWith('stream') || ctx.startsWith('mail'))) return `${ctx.split('-')[0]}-${d.name}`;
  if (d.name === 'http' || d.name === 'events' || d.name === 'stream' || d.name === 'mail' || d.name === 'rtmp' || d.name === 'location' || d.name === 'upstream' || d.name === 'limit_except') return d.name;
  if (d.name === 'server') return ctx === 'http' ? 'server' : `${ctx}-server`;
  if (d.name === 'if') return `if-in-${ctx}`;
  return ctx;
}

const KNOWN = new Map<string, string[]>();
for (const v of NGINX_DIRECTIVES) {
  const list = KNOWN.get(v.name) ?? [];
  list.push(v.moduleType);
  KNOWN.set(v.name, list);
}

/** Directives with no meaning for a proxy's routing: process, logging, file I/O and buffer tuning. */
const IGNORED: Record<string, string> = {
  access_log: 'logging: configure Envoy access logs separately',
  error_log: 'logging: Envoy logs through its own admin/log options',
  log_format: 'logging: configure Envoy access logs separately',
  log_not_found: 'logging', log_subrequest: 'logging', open_log_file_cache: 'logging', rewrite_log: 'logging', log_by_lua_block: 'logging',
  sendfile: 'file I/O tuning', sendfile_max_chunk: 'file I/O tuning', tcp_nopush: 'socket tuning', tcp_nodelay: 'socket tuning (Envoy sets TCP_NODELAY)',
  aio: 'file I/O tuning', directio: 'file I/O tuning', output_buffers: 'buffer tuning', postpone_output: 'buffer tuning',
  open_file_cache: 'file cache tuning', open_file_cache_valid: 'file cache tuning', open_file_cache_min_uses: 'file cache tuning', open_file_cache_errors: 'file cache tuning',
  server_names_hash_max_size: 'nginx hash tuning', server_names_hash_bucket_size: 'nginx hash tuning', types_hash_max_size: 'nginx hash tuning',
  types_hash_bucket_size: 'nginx hash tuning', variables_hash_max_size: 'nginx hash tuning', variables_hash_bucket_size: 'nginx hash tuning',
  map_hash_max_size: 'nginx hash tuning', map_hash_bucket_size: 'nginx hash tuning', proxy_headers_hash_max_size: 'nginx hash tuning', proxy_headers_hash_bucket_size: 'nginx hash tuning',
  client_body_buffer_size: 'buffer tuning', client_header_buffer_size: 'buffer tuning', client_body_temp_path: 'temp files',
  proxy_buffer_size: 'buffer tuning', proxy_buffers: 'buffer tuning', proxy_busy_buffers_size: 'buffer tuning', proxy_temp_path: 'temp files',
  proxy_temp_file_write_size: 'temp files', proxy_max_temp_file_size: 'temp files',
  fastcgi_temp_path: 'temp files', uwsgi_temp_path: 'temp files', scgi_temp_path: 'temp files',
  types: 'MIME types only matter for files nginx serves itself', default_type: 'MIME type for files nginx serves itself',
  charset: 'charset of files nginx serves itself', source_charset: 'charset conversion', charset_types: 'charset conversion',
  msie_padding: 'legacy browser tweak', msie_refresh: 'legacy browser tweak',
  reset_timedout_connection: 'socket tuning', lingering_close: 'socket tuning', lingering_time: 'socket tuning', lingering_timeout: 'socket tuning',
  resolver: 'used by nginx for names resolved at run time; Envoy resolves DNS clusters itself', resolver_timeout: 'DNS tuning',
  ssl_session_cache: 'TLS session cache tuning', ssl_session_timeout: 'TLS session cache tuning', ssl_session_tickets: 'TLS session tuning', ssl_buffer_size: 'TLS buffer tuning',
  ssl_prefer_server_ciphers: 'Envoy always prefers server ciphers', ssl_stapling: 'OCSP stapling: configure ocsp_staple separately', ssl_stapling_verify: 'OCSP stapling',
  etag: 'static files', if_modified_since: 'static files', disable_symlinks: 'static files',
};

const STATIC_FILES = new Set(['root', 'alias', 'index', 'try_files', 'autoindex', 'autoindex_exact_size', 'autoindex_format', 'autoindex_localtime', 'error_page', 'internal', 'random_index']);

// The default marks without a name in their reason, made once.
const fixed = (cls: ReportClass, reason: string): Mark => ({ cls, reason });
const IGNORED_MARKS = new Map(Object.entries(IGNORED).map(([name, reason]) => [name, fixed('ignored', reason)]));
const IN_IF = fixed('unsupported', 'inside `if`: conditional configuration is not translated');
const UNKNOWN = fixed('unsupported', 'unknown directive (third-party module?): not translated');
const RTMP = fixed('unsupported', 'nginx-rtmp-module (RTMP streaming): Envoy has no RTMP support; not translated');
const PROCESS_LEVEL = fixed('ignored', 'process-level setting: no meaning for Envoy routing');
const LIMIT_REQ = fixed('unsupported', 'request rate limiting is not translated: nginx delays or rejects with 503 (leaky bucket, burst/nodelay); Envoy\'s local rate limit is a token bucket answering 429 and would need the status and burst mapped by hand');
const LIMIT_CONN = fixed('unsupported', 'connection limiting per key is not translated (Envoy has no per-client connection limit in the HTTP connection manager)');
const STATIC_FILE = fixed('unsupported', 'nginx serves files or error pages here: no Envoy equivalent');
const WAF = fixed('unsupported', WAF_REASON);
const GZIP = fixed('unsupported', 'response compression is not translated (Envoy compressor filter not configured)');

// The default marks that name a directive, made once per name: thousands of
// directives share each one, and one string object per reason (its hash computed
// once) is what the report's string table then looks up, instead of a new string each.
const FREEFORM_ENTRY = new Map<string, Mark>();
const STREAM_NOT_TRANSLATED = new Map<string, Mark>();
const NOT_TRANSLATED = new Map<string, Mark>();

function markNamed(made: Map<string, Mark>, name: string, cls: ReportClass, reasonOf: (name: string) => string): Mark {
  let m = made.get(name);
  if (m === undefined) made.set(name, (m = fixed(cls, reasonOf(name))));
  return m;
}

const freeformReason = (name: string): string => `entry of \`${name}\` block`;
const streamReason = (name: string): string => `\`${name}\` in the stream context is not translated`;
const notTranslatedReason = (name: string): string => `\`${name}\` is not translated`;

function defaultMark(d: Directive, ctx: string, parent: Directive | null): Mark {
  if (ctx === 'freeform') return markNamed(FREEFORM_ENTRY, parent?.name ?? '', 'ignored', freeformReason);
  if (ctx.startsWith('if-in-')) return IN_IF;
  const ignored = IGNORED_MARKS.get(d.name);
  if (ignored) return ignored;
  if (d.name === 'rtmp' || ctx.startsWith('rtmp')) return RTMP;
  if (WAF_DIRECTIVES.has(d.name)) return WAF;
  const modules = KNOWN.get(d.name);
  if (!modules) return UNKNOWN;
  if (ctx === 'main' || ctx === 'events') return PROCESS_LEVEL;
  // Stream directives src/lower/stream.ts translates are marked there; the rest are named here.
  if (ctx.startsWith('stream')) return markNamed(STREAM_NOT_TRANSLATED, d.name, 'unsupported', streamReason);
  if (ctx.startsWith('mail')) return fixed('unsupported', 'mail module: only the http and stream contexts are translated');
  if (d.name === 'limit_req' || d.name === 'limit_req_zone' || d.name === 'limit_req_status' || d.name === 'limit_req_log_level' || d.name === 'limit_req_dry_run') return LIMIT_REQ;
  if (d.name === 'limit_conn' || d.name === 'limit_conn_zone' || d.name === 'limit_conn_status' || d.name === 'limit_conn_log_level' || d.name === 'limit_conn_dry_run') return LIMIT_CONN;
  if (STATIC_FILES.has(d.name)) return STATIC_FILE;
  if (d.name.startsWith('gzip')) return GZIP;
  return markNamed(NOT_TRANSLATED, d.name, 'unsupported', notTranslatedReason);
}
