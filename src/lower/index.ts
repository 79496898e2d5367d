// nginx AST → IR. Walks http → upstream/server → location, computing each
// location's effective settings the way nginx merges them, and reports every
// directive (translated / approximated / ignored / unsupported).
import type { Diagnostic, Directive, ParsedConfig, SourcePos, Statement } from '../parse/ast.js';
import type {
  Action,
  Backend,
  BackendCluster,
  CompiledConfig,
  Compression,
  Listener,
  Location,
  MapDispatch,
  Policy,
  ProxyAction,
  ReportClass,
  ServerName,
  ServerTls,
  Src,
  Template,
  UpstreamTransport,
  VirtualServer,
} from '../ir/types.js';
import { Reporter } from './classify.js';
import { DEFAULT_LISTEN_PORT, listenName, lowerListen, type ListenSpec } from './listen.js';
import { lowerServerName } from './server-name.js';
import { lowerUpstream, inlineBackendName, transportClusterName } from './upstream.js';
import { DEFAULT_TRANSPORT, markHostNameLost, markNoEffect, markSslLevel, NO_SSL_DIRECTIVES, setsSsl, type SslDirectives, sslDirectivesAt, type SslFamily, sslFamilyOf, upstreamTransport } from './proxy-ssl.js';
import { accessRulesAt, accessRulesOfLevel, isAccessDirective } from './access.js';
import { AUTH_DIRECTIVES, AUTH_FAMILY, authAt, markAuth, setConfDir } from './auth.js';
import { lowerLimitExcept } from './limit-except.js';
import { parseProxyPass, proxyHostOf, type ProxyTarget } from './proxy.js';
import { lowerRewriteLevel, REWRITE_DIRECTIVES, type RewriteLevel } from './rewrite.js';
import type { MapOf } from './if-return.js';
import { checkNesting, isRegex, locationRe2, parseLocationHead, type LocationHead } from './location.js';
import { effectiveArray, headerOps, isWebsocketUpgrade, keepsClientHost, markAddHeader, markProxySetHeader, setsHost } from './headers.js';
import { bodySize, effectiveSimple, LIMITS_MARKED, markLimits, NGINX_DEFAULT_PROXY_TIMEOUT_MS, timeMs } from './limits.js';
import { anyHolds, directiveFamily, directivesOf, errorAt, familyOfNames, holds, type Level, levelOf, LowerError, lowerRun, runCache, srcOf, templateOf } from './util.js';
import { argCount, argValue, argValues } from '../parse/args.js';
import { lowerServerTls, markTlsLevel } from './tls.js';
import { locationEdgeAt, type LocationEdge, markHttpEdge, markLocationEdge, serverEdge, serverTokensAt } from './edge.js';
import { COMPRESSION_DIRECTIVES, COMPRESSION_FAMILY, compressionAt } from './compression.js';
import { parseGrpcPass } from './grpc.js';
import { checkNextUpstream, DEFAULT_RETRY, defaultRetryReason, peersOf, planRetry, retryAt } from './next-upstream.js';
import { foldPass, implicitUpstreams, peerLookup } from './proxy-variables.js';
import { httpMapOf, MAX_MAP_ROUTES, mapClasses, markMapUsed, serverSets } from './http-map.js';
import { locationLookup, markFoldedSets, serverVariables } from './set-constants.js';
import { resolveRewriteLast } from './rewrite-last.js';
import { noteTryFiles, resolveTryFiles, namedDirectives } from './try-files.js';
import { lowerStreamContext } from './stream.js';
import { usesRequestId } from './tracing.js';
import { markMoreHeaders, MORE_DIRECTIVES, MORE_FAMILY, moreHeadersAt } from './more-headers.js';
import { DirectiveNode } from '../parse/nodes.js';
import { dirname, resolve as resolvePath } from 'node:path';

export { Reporter } from './classify.js';

/** Handlers that set nginx's auto_redirect on a location whose name ends with `/`. */
const AUTO_REDIRECT_HANDLERS = new Set(['proxy_pass', 'fastcgi_pass', 'uwsgi_pass', 'scgi_pass', 'memcached_pass', 'grpc_pass']);
const AUTO_REDIRECT_FAMILY = familyOfNames(AUTO_REDIRECT_HANDLERS);

export interface LowerResult {
  ir: CompiledConfig | null;
  errors: Diagnostic[];
}

const CONTENT_HANDLERS = new Set(['fastcgi_pass', 'uwsgi_pass', 'scgi_pass', 'grpc_pass', 'memcached_pass', 'empty_gif', 'stub_status', 'content_by_lua_block', 'content_by_lua', 'content_by_lua_file', 'js_content', 'perl', 'flv', 'mp4', 'dav_methods']);
const CONTENT_FAMILY = familyOfNames(CONTENT_HANDLERS);
const REWRITE_FAMILY = familyOfNames(REWRITE_DIRECTIVES);
const NEXT_UPSTREAM_FAMILY = directiveFamily((name) => name.includes('_next_upstream'));

export interface LowerOptions {
  /** How the IR and the report name source files (compile: relative to the main file's directory). Default: as parsed. */
  sourceFile?: (file: string) => string;
  /**
   * Servers lowered by earlier runs, reused where nothing they read changed (see
   * ServerReuse). With it no report is made: `ir.report` and `ir.notes` are empty.
   */
  reuse?: ServerReuse;
}

export function lower(parsed: ParsedConfig, opts: LowerOptions = {}): LowerResult {
  const r = new Reporter(sharedDirectives(parsed));
  try {
    const ir = lowerRun(opts.sourceFile, () => lowerConfig(parsed, r, opts.reuse ?? null));
    return { ir, errors: [] };
  } catch (err) {
    if (err instanceof LowerError) return { ir: null, errors: [err.diagnostic] };
    throw err;
  }
}

interface Ctx {
  r: Reporter;
  /** Upstream blocks by lowercased name: nginx matches proxy_pass hosts to them case-insensitively. */
  upstreams: Map<string, Backend>;
  inline: Map<string, Backend>;
  serverCount: number;
  /** Each server's position as parsed (error messages name it as nginx does, whatever the IR's file names). */
  serverPos: Map<string, SourcePos>;
  /** The transports each backend is used with (by content), and the proxy actions using each. */
  transports: Map<Backend, Map<string, { transport: UpstreamTransport; actions: ProxyAction[] }>>;
  /** The server being lowered for ServerReuse: what it does to this context, to be done again when it is reused. */
  recording: LoweredServer | null;
}

// ---------------------------------------------------------------- reuse across runs

/**
 * A lowered http server and what lowering it did beyond making it: the listens it
 * declared, the inline backends it would create (each as its first proxy_pass makes
 * it), and the transports its proxy actions use. Replaying these in its place gives
 * the lowering context what lowering the server again would.
 */
interface LoweredServer {
  server: VirtualServer;
  pos: SourcePos;
  listens: { spec: ListenSpec; serverId: string }[];
  inline: Backend[];
  uses: { upstream: boolean; key: string; transport: UpstreamTransport; action: ProxyAction }[];
  /**
   * The implicit upstreams (host:port of other servers' literal proxy_pass) its constant
   * proxy_pass targets looked for, and whether each was there: reused only while each answer holds.
   */
  implicit: Map<string, boolean>;
}

/**
 * What `serve` keeps between reloads so that a reload lowers only the servers whose
 * text changed. A server is lowered from its own block (names, arguments and source
 * positions, includes spliced), its index (its id) and everything outside the http
 * servers (the frame: upstreams, http-level settings, the file list). An entry is
 * reused only when its block and index are the same and the frame is unchanged; any
 * change to the frame drops every entry. Entries no run used are dropped after it.
 */
export class ServerReuse {
  private frame: string | null = null;
  private servers = new Map<string, LoweredServer>();
  private used = new Set<string>();
  /** Servers reused and lowered in the last run (tests, the bench). */
  stats = { reused: 0, lowered: 0 };

  begin(frame: string): void {
    if (frame !== this.frame) this.servers.clear();
    this.frame = frame;
    this.used.clear();
    this.stats = { reused: 0, lowered: 0 };
  }

  take(key: string, holds: (hit: LoweredServer) => boolean): LoweredServer | undefined {
    const hit = this.servers.get(key);
    if (!hit || !holds(hit)) return undefined;
    this.used.add(key);
    this.stats.reused += 1;
    return hit;
  }

  keep(key: string, lowered: LoweredServer): void {
    this.servers.set(key, lowered);
    this.used.add(key);
    this.stats.lowered += 1;
  }

  end(): void {
    for (const key of this.servers.keys()) if (!this.used.has(key)) this.servers.delete(key);
  }
}

/**
 * The frame: the configuration as parsed, with each http server block replaced by
 * a mark, and what lowering a server reads of the whole tree (whether any
 * directive uses $request_id).
 */
function frameKey(parsed: ParsedConfig, httpBlocks: Level[], servers: ReadonlySet<Directive>): string {
  const texts = fileTexts(parsed);
  const parts: string[] = [parsed.context || 'main', JSON.stringify(parsed.files.map((f) => f.file)), httpBlocks.map((h) => (usesRequestId(h.ds) ? 1 : 0)).join('')];
  const add = (stmts: Statement[], depth: number): void => {
    for (const s of stmts) {
      if (s.kind === 'directive' && servers.has(s)) parts.push('<server>');
      else if (s.kind === 'directive' && s.block && depth === 0 && s.name === 'http') {
        parts.push(statementKey({ ...directiveHead(s), block: undefined }), '{');
        add(s.block, 1);
        parts.push('}');
      } else parts.push(nodeKey(s, parsed, texts));
    }
  };
  add(parsed.root, 0);
  return parts.join('\n');
}

/** Each file's text by its name, when loading kept them. */
function fileTexts(parsed: ParsedConfig): Map<string, string> | null {
  const texts = new Map<string, string>();
  for (const f of parsed.files) {
    if (f.text === undefined) return null;
    texts.set(f.file, f.text);
  }
  return texts;
}

/**
 * What a statement and its block are, as a string: its text as written with its
 * position, and the text of every file included inside it (the spliced statements
 * come from them); statementKey's walk where the text is not known.
 */
function nodeKey(s: Statement, parsed: ParsedConfig, texts: Map<string, string> | null): string {
  const range = texts && s instanceof DirectiveNode ? s.textRange() : null;
  const pos = s.source;
  const text = range ? texts!.get(pos.file) : undefined;
  if (!range || text === undefined) return statementKey(s);
  const included = new Set<number>();
  const walk = (stmts: Statement[]): void => {
    for (const c of stmts) {
      if (c.kind !== 'directive') continue;
      if (c.includes) for (const i of c.includes) included.add(i);
      if (c.block) walk(c.block);
    }
  };
  if (s.kind === 'directive' && s.block) walk(s.block);
  let key = `${pos.file}:${pos.line}:${pos.col}\n${text.slice(range.start, range.stop)}`;
  for (const i of [...included].sort((a, b) => a - b)) key += `\n<include ${parsed.files[i]!.file}>\n${parsed.files[i]!.text}`;
  return key;
}

function directiveHead(d: Directive): Directive {
  // (copied by name: a parsed node's positions and words are getters, see parse/nodes.ts)
  return { kind: 'directive', name: d.name, args: d.args, block: d.block, raw: d.raw, freeform: d.freeform, includes: d.includes, source: d.source, end: d.end, close: d.close };
}

/** Everything lowering can read of a statement and its block: names, words with their quoting, positions. */
function statementKey(s: Statement): string {
  const out: string[] = [];
  const pos = (p: SourcePos | undefined): string => (p ? `${p.file}:${p.line}:${p.col}` : '-');
  const add = (st: Statement): void => {
    if (st.kind !== 'directive') {
      out.push(`#${pos(st.source)}${JSON.stringify(st.text)}`);
      return;
    }
    out.push(`${JSON.stringify(st.name)}@${pos(st.source)}`);
    for (const a of st.args) out.push(`${a.quote ?? ''}${pos(a.source)}${JSON.stringify(a.value)}`);
    if (st.raw !== undefined) out.push(`raw${JSON.stringify(st.raw)}`);
    if (st.freeform) out.push('freeform');
    if (st.includes) out.push(`includes${st.includes.join(',')}`);
    out.push(`;${pos(st.end)}`);
    if (st.block) {
      out.push('{');
      for (const c of st.block) add(c);
      out.push(`}${pos(st.close)}`);
    }
  };
  add(s);
  return out.join(' ');
}

/** Do again what lowering `lowered`'s server did to the context; returns the server. */
function replayServer(lowered: LoweredServer, ctx: Ctx, listens: { spec: ListenSpec; serverId: string }[]): VirtualServer {
  ctx.serverCount++;
  ctx.serverPos.set(lowered.server.id, lowered.pos);
  for (const l of lowered.listens) listens.push(l);
  for (const b of lowered.inline) if (!ctx.inline.has(b.name)) ctx.inline.set(b.name, { ...b, clusters: [] });
  for (const u of lowered.uses) {
    // Named as its backend until every use is known (backendClusters), as when lowered.
    u.action.cluster = u.action.backend;
    const backend = u.upstream ? ctx.upstreams.get(u.key)! : ctx.inline.get(u.key)!;
    useTransport(ctx, backend, u.transport, u.action);
  }
  return lowered.server;
}

/** lowerServer, or the reused server when its block, index and frame are unchanged. */
function lowerServerReusing(d: Directive, http: Level, ctx: Ctx, listens: { spec: ListenSpec; serverId: string }[], reuse: ServerReuse | null, parsed: ParsedConfig, texts: Map<string, string> | null): VirtualServer {
  if (!reuse) return lowerServer(d, http, ctx, listens);
  const key = `${ctx.serverCount}\n${nodeKey(d, parsed, texts)}`;
  const hit = reuse.take(key, (h) => [...h.implicit].every(([target, found]) => implicitUpstreams(http, ctx.upstreams).has(target) === found));
  if (hit) return replayServer(hit, ctx, listens);
  const from = listens.length;
  const recording: LoweredServer = { server: null as unknown as VirtualServer, pos: d.source, listens: [], inline: [], uses: [], implicit: new Map() };
  ctx.recording = recording;
  try {
    recording.server = lowerServer(d, http, ctx, listens);
  } finally {
    ctx.recording = null;
  }
  recording.listens = listens.slice(from);
  reuse.keep(key, recording);
  return recording.server;
}

function lowerConfig(parsed: ParsedConfig, r: Reporter, reuse: ServerReuse | null): CompiledConfig {
  // nginx reads relative users files (auth_basic_user_file) from its configuration directory.
  setConfDir(dirname(resolvePath(parsed.files[0]?.file ?? '.')));
  const ctx: Ctx = { r, upstreams: new Map(), inline: new Map(), serverCount: 0, serverPos: new Map(), transports: new Map(), recording: null };
  const httpBlocks = httpLevels(parsed, r);
  const servers: VirtualServer[] = [];
  const listens: { spec: ListenSpec; serverId: string }[] = [];
  for (const http of httpBlocks) {
    for (const d of http.byName.get('upstream') ?? []) {
      const b = lowerUpstream(d, r);
      // nginx looks upstream names up case-insensitively (ngx_http_upstream_add).
      const key = b.name.toLowerCase();
      if (ctx.upstreams.has(key)) throw new LowerError({ severity: 'error', message: `duplicate upstream "${b.name}"`, source: d.source, code: 'duplicate-upstream' });
      ctx.upstreams.set(key, b);
    }
  }
  if (reuse) reuse.begin(frameKey(parsed, httpBlocks, new Set(httpBlocks.flatMap((http) => http.byName.get('server') ?? []))));
  const texts = reuse ? fileTexts(parsed) : null;
  for (const http of httpBlocks) {
    markLevel(http, r);
    markTlsLevel(http.ds, r);
    markHttpEdge(http, r);
    for (const d of http.byName.get('server') ?? []) servers.push(lowerServerReusing(d, http, ctx, listens, reuse, parsed, texts));
  }
  reuse?.end();
  if (parsed.context === 'server') {
    const fake: Directive = { kind: 'directive', name: 'server', args: [], block: parsed.root, source: parsed.root.find((s) => s.kind === 'directive')?.source ?? { file: parsed.files[0]?.file ?? '', line: 1, col: 1 } };
    servers.push(lowerServer(fake, levelOf([]), ctx, listens));
  }
  const listeners = buildListeners(listens, servers, r);
  // A fragment (http/server context) sits in an http block not given here, which may set the certificate.
  if ((parsed.context || 'main') === 'main') checkSslCertificates(listeners, servers, listens, ctx.serverPos);
  const backends = [...ctx.upstreams.values(), ...ctx.inline.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const b of backends) b.clusters = backendClusters(b, ctx);
  if (!reuse) noteDefaultRetries(backends, ctx);
  const httpListens = listens.map((x) => ({ address: x.spec.address, port: x.spec.port, pos: x.spec.pos }));
  const stream = lowerStreamContext(parsed, r, { clusters: backends.flatMap((b) => b.clusters.map((c) => c.name)), listens: httpListens });
  // Reused servers made no marks this run: a report would be wrong, so none is made.
  const report = reuse ? [] : r.entries(parsed.root, parsed.context || 'main');
  const ir: CompiledConfig = { listeners, servers, backends, report, notes: reuse ? [] : r.notes };
  if (stream) ir.stream = stream;
  return ir;
}

/**
 * The directives that occur more than once in the spliced tree: those of a file
 * included several times (directly, or through a file that is), which the loader
 * parses once and splices in each place. Their marks are shared by every occurrence.
 */
export function sharedDirectives(parsed: ParsedConfig): Set<Directive> {
  const shared = new Set<Directive>();
  if (parsed.files.length < 2) return shared;
  // Include edges between files, from each file's own (unspliced) statements.
  const edges = parsed.files.map(() => [] as number[]);
  parsed.files.forEach((f, i) => collectIncludes(f.parsed, edges[i]!));
  const occurrences = new Map<number, number>();
  const count = (i: number): number => {
    let n = occurrences.get(i);
    if (n !== undefined) return n;
    n = i === 0 ? 1 : 0;
    parsed.files.forEach((_, from) => {
      for (const to of edges[from]!) if (to === i) n! += count(from);
    });
    occurrences.set(i, n);
    return n;
  };
  parsed.files.forEach((f, i) => {
    if (count(i) > 1) addTree(f.parsed, shared);
  });
  return shared;
}

function collectIncludes(stmts: Statement[], out: number[]): void {
  for (const s of stmts) {
    if (s.kind !== 'directive') continue;
    if (s.name === 'include') out.push(...(s.includes ?? []));
    if (s.block) collectIncludes(s.block, out);
  }
}

function addTree(stmts: Statement[], into: Set<Directive>): void {
  for (const s of stmts) {
    if (s.kind !== 'directive') continue;
    into.add(s);
    if (s.block) addTree(s.block, into);
  }
}

/** The directive lists that play the role of `http { }`. */
function httpLevels(parsed: ParsedConfig, r: Reporter): Level[] {
  const ctx = parsed.context || 'main';
  if (ctx === 'http') return [levelOf(directivesOf(parsed.root))];
  if (ctx !== 'main') return [];
  const out: Level[] = [];
  for (const d of directivesOf(parsed.root)) {
    if (d.name === 'http') {
      r.mark(d, 'translated', 'http context');
      out.push(levelOf(directivesOf(d.block)));
    } else if (d.name === 'events') r.markTree(d, 'ignored', 'connection processing tuning: no meaning for Envoy routing');
  }
  return out;
}

/** Marks what every level (http, server, location) may carry. */
function markLevel(level: Level, r: Reporter): void {
  // (index loops, as in util.ts: this runs for every location, mostly before it is optimised)
  const psh = level.byName.get('proxy_set_header');
  if (psh) {
    const ops = headerOps(psh); // the level's own list, parsed once (policyOf asks again)
    const websocket = isWebsocketUpgrade(ops);
    // ops[i] is psh[i]'s, and holds its position
    for (let i = 0; i < psh.length; i++) markProxySetHeader(psh[i]!, r, websocket, ops[i]!.source);
  }
  const add = level.byName.get('add_header');
  if (add) {
    const ops = headerOps(add); // parsed once for the policy too; ops[i] holds add[i]'s position
    for (let i = 0; i < add.length; i++) markAddHeader(add[i]!, r, ops[i]!.source);
  }
  if (holds(level, MORE_FAMILY)) for (const d of level.ds) if (MORE_DIRECTIVES.includes(d.name)) markMoreHeaders(d, r);
  const maps = level.byName.get('map');
  if (maps) for (let i = 0; i < maps.length; i++) markMap(maps[i]!, r);
  if (holds(level, NEXT_UPSTREAM_FAMILY)) checkNextUpstream(level.ds);
  if (holds(level, LIMITS_MARKED)) markLimits(level.ds, r);
  markSslLevel(level, r);
  if (level.byName.has('allow') || level.byName.has('deny')) markAccess(level, r);
}

const ACCESS_REASON =
  'RBAC filter on the routes of what proxy_pass (or the file fallback) serves here: the first matching rule decides and no match lets in, as nginx; a denied client gets 403 with nginx\'s page (local_reply_config replaces the filter\'s `RBAC: access denied`); `return`, redirects and rewrites come before nginx\'s access check and are not guarded; the address tested is the connection\'s peer, or real_ip\'s where set_real_ip_from applies';

/** A level's allow/deny (nginx's errors for an invalid address raised here, wherever they are written). */
function markAccess(level: Level, r: Reporter): void {
  accessRulesOfLevel(level);
  for (const d of level.ds) {
    if (!isAccessDirective(d)) continue;
    if (argValue(d, 0)?.startsWith('unix:')) r.mark(d, 'ignored', 'unix-socket clients: no unix listener is translated');
    else r.mark(d, 'translated', ACCESS_REASON);
  }
}

function markMap(d: Directive, r: Reporter): void {
  const [from, to] = d.args.map((a) => a.value);
  if (from === '$http_upgrade' && to === '$connection_upgrade') {
    r.markTree(d, 'translated', 'WebSocket idiom: expressed as upgrade_configs on the routes using it', 'part of the WebSocket idiom');
  } else {
    r.markTree(d, 'unsupported', `\`map\` defining ${to ?? 'a variable'}: variables are not translated; uses of it are reported where they occur`, 'entry of an untranslated `map`');
  }
}

function lowerServer(d: Directive, http: Level, ctx: Ctx, listens: { spec: ListenSpec; serverId: string }[]): VirtualServer {
  const r = ctx.r;
  const id = `server_${ctx.serverCount++}`;
  const own = levelOf(directivesOf(d.block));
  const ds = own.ds;
  r.openLevel(d.block, ds, true);
  ctx.serverPos.set(id, d.source);
  if (argCount(d) === 0 && d.block) r.mark(d, 'translated', `${id}: virtual host(s) on its listeners`);
  markLevel(own, r);
  const names: ServerName[] = [];
  const mine: ListenSpec[] = [];
  const http2 = readServerHead(ds, names, mine, r);
  if (mine.length === 0 && !own.byName.has('listen')) mine.push(defaultListen(d, id, r));
  for (let i = 0; i < mine.length; i++) listens.push({ spec: withHttp2(mine[i]!, http2), serverId: id });
  if (!own.byName.has('server_name')) names.push({ kind: 'empty', value: '', source: srcOf(d) });
  const primaryName = primaryNameOf(names);
  const serverLevels = [http, own];
  const scope = scopeOf(serverLevels, null);
  const rw = rewriteLevelOf(own, 'server', null, primaryName, http, own, r);
  const locations = lowerLocations(own.byName.get('location'), id, scope, ctx, primaryName);
  const tls = lowerServerTls(serverLevels, r);
  const edge = serverEdge(serverLevels, r, compressionIn(scope));
  const serverAccess = rw.terminal ? null : accessAt(serverLevels);
  const serverAuth = rw.terminal ? null : authAt(serverLevels, serverAccess !== null);
  // (satisfy any at server level: the fallback keeps both checks, the stricter reading)
  const fallbackAccess = serverAccess;
  if (!rw.terminal && (holds(http, AUTH_FAMILY) || holds(own, AUTH_FAMILY))) markAuth(serverLevels, serverAuth?.gate ?? null, serverAuth?.satisfyAny ? 'both' : null, r);
  // Every server is built with every field, in one order (undefined: absent; the order
  // is the output's): one shape for V8 in everything that reads servers.
  const server: VirtualServer = {
    id,
    names,
    listenerNames: listenerNamesOf(mine),
    rewrites: rw.steps,
    locations,
    fallback: rw.terminal ?? { kind: 'static', status: 404, reason: 'no location matches: nginx would serve files from root', source: null },
    tls: tls ?? undefined,
    edge,
    fallbackAccess: fallbackAccess ?? undefined,
    fallbackAuth: serverAuth?.gate ?? undefined,
    source: srcOf(d),
  };
  resolveTryFiles(server, r); // first: a rewrite … last may land in a try_files location
  resolveRewriteLast(server, r);
  r.closeLevel(true);
  return server;
}

/**
 * A server's listen, server_name and http2 lines, read in order: its listens into
 * `mine`, its names into `names`; whether `http2 on` is set.
 */
function readServerHead(ds: Directive[], names: ServerName[], mine: ListenSpec[], r: Reporter): boolean {
  let http2 = false;
  for (let i = 0; i < ds.length; i++) {
    const c = ds[i]!;
    if (c.name === 'listen') {
      const spec = lowerListen(c, r);
      if (spec) mine.push(spec);
    } else if (c.name === 'server_name') {
      const lowered = lowerServerName(c, r);
      for (let k = 0; k < lowered.length; k++) names.push(lowered[k]!);
    } else if (c.name === 'http2') {
      http2 = argValue(c, 0) === 'on';
      r.mark(c, 'translated', 'HTTP/2 accepted on the listener');
    }
  }
  return http2;
}

/** nginx's listen for a server without any (reported as assumed). */
function defaultListen(d: Directive, id: string, r: Reporter): ListenSpec {
  r.note(srcOf(d), 'listen', 'approximated', `${id} has no \`listen\`: nginx listens on *:80 when run as root (*:8000 otherwise); *:80 assumed`);
  return { address: '0.0.0.0', port: DEFAULT_LISTEN_PORT, defaultServer: false, ssl: false, http2: false, proxyProtocol: false, source: srcOf(d), pos: d.source };
}

/** The server's first name that is not "": what `$server_name` is. */
function primaryNameOf(names: ServerName[]): string {
  for (let i = 0; i < names.length; i++) if (names[i]!.kind !== 'empty') return names[i]!.value;
  return '';
}

/** A server's top-level locations, lowered in order (names checked for duplicates). */
function lowerLocations(located: Directive[] | undefined, id: string, scope: Scope, ctx: Ctx, primaryName: string): Location[] {
  const locations: Location[] = [];
  if (!located) return locations;
  const seen = new Set<string>();
  for (let i = 0; i < located.length; i++) {
    const c = located[i]!;
    const loc = lowerLocation(c, `${id}/loc_${i}`, null, null, scope, ctx, primaryName, false);
    checkDuplicate(c, loc, seen);
    locations.push(loc);
  }
  return locations;
}

/** A copy of a listen with the server's `http2 on` applied (field by field: the literal's shape, no spread). */
function withHttp2(spec: ListenSpec, http2: boolean): ListenSpec {
  return { address: spec.address, port: spec.port, defaultServer: spec.defaultServer, ssl: spec.ssl, http2: spec.http2 || http2, proxyProtocol: spec.proxyProtocol, source: spec.source, pos: spec.pos };
}

/** The names of a server's listeners, each once, in the order its listens name them. */
function listenerNamesOf(mine: ListenSpec[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < mine.length; i++) {
    const name = listenName(mine[i]!.address, mine[i]!.port);
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

/** The http maps a server's `if`s may test: none whose variable a `set` of the server writes. */
function mapsIn(http: Level, server: Level): MapOf {
  return (name) => {
    const use = httpMapOf(http, name);
    return use?.ok && serverSets(server, name) ? { ok: false, why: `a \`set\` in this server writes $${name}`, block: use.block } : use;
  };
}

/**
 * lowerRewriteLevel of a level's directives, its `if`s seeing the maps of `http` not
 * written by a `set` of `server`; a level without rewrite-module directives has no
 * step (and its scope is not built: most locations have none).
 */
function rewriteLevelOf(level: Level, kind: 'server' | 'location', locationRegex: string | null, serverName: string, http: Level, server: Level, r: Reporter): RewriteLevel {
  if (!holds(level, REWRITE_FAMILY)) return { steps: [], terminal: null };
  return lowerRewriteLevel(level.ds, { level: kind, locationRegex, serverName, mapOf: mapsIn(http, server) }, r);
}

function checkDuplicate(d: Directive, loc: Location, seen: Set<string>): void {
  if (loc.modifier === 'regex' || loc.modifier === 'regex-icase') return;
  const key = loc.modifier === 'exact' ? '=' + loc.pattern : loc.modifier === 'named' ? '@' + loc.pattern : loc.pattern;
  if (seen.has(key)) throw new LowerError({ severity: 'error', message: `duplicate location "${loc.pattern}"`, source: d.source, code: 'duplicate-location' });
  seen.add(key);
}

function lowerLocation(d: Directive, id: string, parentId: string | null, parent: LocationHead | null, outer: Scope, ctx: Ctx, serverName: string, parentInternal: boolean): Location {
  const r = ctx.r;
  const head = parseLocationHead(d);
  checkNesting(d, head, parent);
  const re2 = isRegex(head.modifier) ? locationRe2(d, head) : null;
  const own = levelOf(directivesOf(d.block));
  const ds = own.ds;
  r.openLevel(d.block, ds);
  const scope = scopeOf(innerLevels(outer.levels, own), outer);
  const levels = scope.levels;
  markLevel(own, r);
  const rw = rewriteLevelOf(own, 'location', re2, serverName, levels[0]!, levels[1]!, r);
  const internal = parentInternal || markInternal(own, head, id, r);
  const nested = own.byName.get('location');
  const children = nested ? lowerNested(nested, id, head, scope, ctx, serverName, internal) : [];
  const content = rw.terminal ? null : mapDispatch(own, head, ctx, scope);
  const action = rw.terminal ?? content?.action ?? contentAction(own, head, ctx, scope);
  const source = srcOf(d);
  const autoRedirect = markLocationLine(d, head, id, children.length > 0, own, source, r);
  markLocationEdge(levels, r);
  const policy = policyIn(scope);
  const limitList = own.byName.get('limit_except');
  const limitExcept = limitList ? lowerLimitExcept(limitList, { policy, terminal: rw.terminal !== null, rewrites: rw.steps.length > 0, own: ds, levels }, r) : undefined;
  // Every location is built with every field, in one order (undefined: absent; the
  // order is the output's): one shape for V8 in everything that reads locations.
  const loc: Location = {
    id,
    parentId,
    autoRedirect: autoRedirect ? true : undefined,
    modifier: head.modifier,
    pattern: head.pattern,
    children,
    rewrites: rw.steps,
    action,
    policy,
    source,
    limitExcept: limitExcept ?? undefined,
    internal: internal ? true : undefined,
    dispatch: content?.dispatch ?? undefined,
  };
  if (anyHolds(levels, AUTH_FAMILY)) markAuthOf(levels, policy, r);
  if (head.modifier === 'named') namedDirectives.set(loc, { directive: d, body: ds });
  else if (!rw.terminal) noteTryFiles(loc, own.byName.get('try_files'));
  r.closeLevel();
  return loc;
}

/** A location's nested locations, lowered in order (names checked for duplicates). */
function lowerNested(nested: Directive[], id: string, head: LocationHead, scope: Scope, ctx: Ctx, serverName: string, internal: boolean): Location[] {
  const children: Location[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < nested.length; i++) {
    const c = nested[i]!;
    const child = lowerLocation(c, `${id}/loc_${i}`, id, head, scope, ctx, serverName, internal);
    checkDuplicate(c, child, seen);
    children.push(child);
  }
  return children;
}

/**
 * Reports the `location` line itself (`at`: its position, srcOf(d)); whether nginx's
 * auto_redirect applies to it (the name ends with `/` and a *_pass handler is set).
 */
function markLocationLine(d: Directive, head: LocationHead, id: string, nested: boolean, own: Level, at: Src, r: Reporter): boolean {
  if (head.modifier === 'named') return false; // reported once the server's try_files are resolved (src/lower/try-files.ts)
  const regex = isRegex(head.modifier);
  if (regex && nested) r.mark(d, 'approximated', `${id}: regex location with nested locations: the nested ones are not reached in Envoy`, at);
  else r.mark(d, 'translated', `route ${id}`, at);
  const autoRedirect = !regex && head.pattern.length > 1 && head.pattern.endsWith('/') && holds(own, AUTO_REDIRECT_FAMILY);
  if (autoRedirect) markAutoRedirect(d, head, r);
  return autoRedirect;
}

function markAutoRedirect(d: Directive, head: LocationHead, r: Reporter): void {
  r.mark(d, 'translated', `"${head.pattern.slice(0, -1)}" answers nginx's 301 to "${head.pattern}" (auto_redirect) unless another location is named so`);
}

/** `internal` of a location (nested ones inherit it, checked with nginx 1.22): reported; whether the location has it. */
function markInternal(own: Level, head: LocationHead, id: string, r: Reporter): boolean {
  const list = own.byName.get('internal');
  if (!list) return false;
  const slash = head.pattern.endsWith('/') && head.pattern.length > 1 && !isRegex(head.modifier) ? `, its slash redirect ("${head.pattern.slice(0, -1)}") included,` : '';
  const reason = head.modifier === 'named'
    ? 'a named location is internal anyway'
    : `external requests for ${id}${slash} are answered 404 (nginx checks \`internal\` before anything else: allow/deny, client_max_body_size, rewrites), and so are those of its nested locations; what nginx reaches internally still gets this location's handling where the redirect is translated (rewrite … last to a fixed URI, error_page files); try_files, error_page to URIs served by proxy_pass, X-Accel-Redirect are reported where they occur`;
  for (const x of list) r.mark(x, 'translated', reason);
  return true;
}

/** The auth directives in effect at a location, reported by what its policy's gate became. */
function markAuthOf(levels: Level[], policy: Policy, r: Reporter): void {
  markAuth(levels, policy.auth ?? null, policy.satisfyAny ? 'credentials' : null, r);
}

/** Reports the <f>_ssl_* directives in effect that do nothing for this location's target. */
function markUnused(scope: Scope, f: SslFamily, family: SslFamily, tlsScheme: boolean, r: Reporter): void {
  const ssl = sslIn(scope, f);
  if (ssl !== NO_SSL_DIRECTIVES && (f !== family || !tlsScheme)) markNoEffect(ssl, f, r);
}

/** What serves the request once this location is chosen (proxy_pass is not inherited by nested locations). */
function contentAction(own: Level, head: LocationHead, ctx: Ctx, scope: Scope): Action {
  const r = ctx.r;
  const levels = scope.levels;
  const ds = own.ds;
  const pp = lastPass(own);
  if (pp) {
    let t = pp.name === 'grpc_pass' ? parseGrpcPass(pp) : parseProxyPass(pp);
    let evaluated: EvaluatedPass | null = null;
    if (t.dynamic) {
      const e = evaluatePass(pp, own, scope, ctx);
      if (e.kind === 'answer') return e.action;
      evaluated = e;
      t = e.target;
    }
    if (t.uri && (isRegex(head.modifier) || head.modifier === 'named')) {
      throw new LowerError({
        severity: 'error',
        message: `"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block`,
        source: pp.source,
        code: 'proxy-pass-uri',
      });
    }
    const backend = evaluated?.backend ?? resolveBackend(t, pp, ctx);
    const v = verdictAt(t, backend, head, levels);
    const at = srcOf(pp);
    if (evaluated) r.mark(pp, evaluated.resolved && v[0] === 'translated' ? 'approximated' : v[0], `${evaluated.reason}; ${v[1]}${evaluated.resolved ? `; ${evaluated.resolved}` : ''}`, at);
    else r.mark(pp, v[0], v[1], at);
    return proxyTo(t, backend, pp, at, scope, ctx);
  }
  const handler = holds(own, CONTENT_FAMILY) ? ds.find((d) => CONTENT_HANDLERS.has(d.name)) : undefined;
  if (handler) {
    r.mark(handler, 'unsupported', `\`${handler.name}\` content handler is not translated: answered with a 502 direct response`);
    return { kind: 'static', status: 502, reason: `${handler.name} is not translated`, source: srcOf(handler) };
  }
  return { kind: 'static', status: 404, reason: 'nginx serves files here (root/alias/try_files): answered with 404', source: null };
}

/** proxyVerdict for a target in a location. */
function verdictAt(t: ProxyTarget, backend: Backend, head: LocationHead, levels: Level[]): [ReportClass, string] {
  const hostSet = setsHost(effectiveArray(levels, 'proxy_set_header'));
  const redirect = effectiveSimple(levels, 'proxy_redirect') !== undefined;
  return proxyVerdict(t, backend.name, head.modifier === 'exact', hostSet, redirect);
}

/** The proxy action of a pass to `t` (reached as `backend`; `at`: the pass's position), with the transport its settings make. */
function proxyTo(t: ProxyTarget, backend: Backend, pp: Directive, at: Src, scope: Scope, ctx: Ctx): ProxyAction {
  const r = ctx.r;
  const levels = scope.levels;
  const proxyHost = proxyHostOf(t);
  // proxy_ssl_* shape https://, grpc_ssl_* grpcs://; the other family (and both, for a plain target) does nothing here.
  const family = sslFamilyOf(t.scheme);
  const tlsScheme = t.scheme === 'https' || t.scheme === 'grpcs';
  const ssl = sslIn(scope, family);
  // proxy_ssl_name $host: expressible only where the upstream request keeps the client's Host.
  const keepsHost = t.scheme === 'https' && ssl !== NO_SSL_DIRECTIVES && keepsClientHost(effectiveArray(levels, 'proxy_set_header'));
  if (t.scheme === 'https' && !keepsHost) markHostNameLost(ssl, r, `the proxy_pass of ${at.file}:${at.line}`);
  const transport = withSocketKeepalive(upstreamTransport(t.scheme, ssl, proxyHost, keepsHost), socketKeepalive(levels, family));
  markUnused(scope, 'proxy', family, tlsScheme, r);
  markUnused(scope, 'grpc', family, tlsScheme, r);
  // grpc_pass follows grpc_next_upstream*, proxy_pass proxy_next_upstream* (ngx_http_grpc_module has its own).
  const retry = retryAt(levels, pp.name === 'grpc_pass' ? 'grpc' : 'proxy');
  const action: ProxyAction = { kind: 'proxy', backend: backend.name, scheme: t.scheme, uri: t.uri, proxyHost, cluster: backend.name, retry, source: at };
  useTransport(ctx, backend, transport, action);
  return action;
}

// A proxy_pass line's verdict depends on its target (one object per URL in a run;
// the target decides the backend, every upstream being known before any server is
// lowered) and three facts of the location: worked out once per target and
// combination instead of once per location.
// (by the facts as a 3-bit index: most targets are used by one location, so a small array per target)
const proxyVerdicts = runCache<ProxyTarget, ([ReportClass, string] | undefined)[]>();

function proxyVerdict(t: ProxyTarget, backend: string, exact: boolean, hostSet: boolean, redirect: boolean): [ReportClass, string] {
  const key = (exact ? 1 : 0) | (hostSet ? 2 : 0) | (redirect ? 4 : 0);
  let byFacts = proxyVerdicts.get(t);
  if (!byFacts) proxyVerdicts.set(t, (byFacts = new Array<[ReportClass, string] | undefined>(8).fill(undefined)));
  let v = byFacts[key];
  if (v) return v;
  const notes: string[] = [`cluster \`${backend}\``];
  if (t.uri) notes.push(`the matched ${exact ? 'path' : 'prefix'} is replaced by \`${t.uri.raw}\` (prefix_rewrite)`);
  if (!hostSet) notes.push(`Host: ${proxyHostOf(t)} ($proxy_host, host_rewrite_literal)`);
  let cls: 'translated' | 'approximated' = 'translated';
  if (!redirect && t.uri) {
    notes.push('nginx rewrites upstream Location headers (proxy_redirect default); Envoy does not');
    cls = 'approximated';
  }
  byFacts[key] = v = [cls, notes.join('; ')];
  return v;
}

function resolveBackend(t: ReturnType<typeof parseProxyPass>, d: Directive, ctx: Ctx): Backend {
  const up = !t.unix ? ctx.upstreams.get(t.host) : undefined;
  if (up) {
    if (t.explicitPort) throw new LowerError({ severity: 'error', message: `upstream "${t.host}" may not have port ${t.port}`, source: d.source, code: 'upstream-port' });
    return up;
  }
  return inlineBackendFor(t, d, ctx);
}

/** The backend of a host:port (or unix socket) that is not an upstream block: one per target, shared by every server. */
function inlineBackendFor(t: ProxyTarget, d: Directive, ctx: Ctx): Backend {
  const name = inlineBackendName(t.host, t.port, t.unix);
  let b = ctx.inline.get(name);
  if (!b) ctx.inline.set(name, (b = inlineBackend(name, t, d)));
  const recording = ctx.recording;
  // What this server would create were it the first to name the target.
  if (recording && !recording.inline.some((x) => x.name === name)) recording.inline.push(inlineBackend(name, t, d));
  return b;
}

/** A proxy_pass/grpc_pass with variables: the target its constants make, or what answers instead. */
type EvaluatedPass = { kind: 'answer'; action: Action } | { kind: 'target'; target: ProxyTarget; backend: Backend; reason: string; resolved: string | null };

function evaluatePass(pp: Directive, own: Level, scope: Scope, ctx: Ctx): EvaluatedPass {
  const r = ctx.r;
  const levels = scope.levels;
  const raw = pp.args[0]!.value;
  const at = srcOf(pp);
  const answer = (status: number, cls: ReportClass, why: string, reason: string): EvaluatedPass => {
    r.mark(pp, cls, why, at);
    return { kind: 'answer', action: { kind: 'static', status, reason, source: at } };
  };
  // levels: http, server, enclosing locations, this one (a server fragment has an empty http level).
  const http = levels[0]!;
  const server = levels[1]!;
  const folded = foldPass(pp, locationLookup(http, server, own));
  if (folded.kind === 'not-constant') {
    return answer(502, 'unsupported', `${pp.name} \`${raw}\` uses variables (resolved per request by nginx; ${folded.why}): answered with a 502 direct response`, `${pp.name} with variables is not translated`);
  }
  if (folded.kind === 'uri-part') {
    return answer(502, 'unsupported', `${pp.name} \`${raw}\` is \`${folded.url}\` on every request, but with variables nginx sends its URI part in place of the whole request URI (the query string dropped): not translated, answered with a 502 direct response`, `${pp.name} with variables and a URI part is not translated`);
  }
  if (folded.kind === 'invalid') {
    markFoldedSets(folded.sets, raw, r);
    return answer(500, 'translated', `${pp.name} \`${raw}\` is \`${folded.url}\` on every request: nginx answers 500 (${folded.why}), and so does the route`, `${pp.name} evaluates to an invalid URL`);
  }
  const t = folded.target;
  const uriChangedBy = folded.requestUri ? serverVariables(http, server).uriChangedBy : null;
  if (uriChangedBy) {
    const d = uriChangedBy;
    return answer(502, 'unsupported', `${pp.name} \`${raw}\` sends the client's URI as it came ($request_uri), where \`${d.name}\` at ${srcOf(d).file}:${d.source.line} may have changed the URI a proxy_pass without URI part sends: not translated, answered with a 502 direct response`, `${pp.name} with $request_uri is not translated here`);
  }
  const resolver = effectiveSimple(levels, 'resolver');
  const implicit = implicitUpstreams(http, ctx.upstreams);
  const lookup = peerLookup(t, ctx.upstreams, implicit, resolver !== undefined);
  const target = `${t.host}:${t.port}`;
  ctx.recording?.implicit.set(target, implicit.has(target));
  markFoldedSets(folded.sets, raw, r);
  const setAt = folded.sets.map((x) => (x.set.source.file === pp.source.file ? String(x.set.source.line) : `${srcOf(x.set).file}:${x.set.source.line}`));
  const is = `\`${raw}\` is \`${folded.url}\` on every request${setAt.length ? ` (\`set\` at ${setAt.join(', ')})` : ''}`;
  if (lookup === 'no-resolver') {
    return answer(502, 'translated', `${is}: nginx finds no upstream named ${t.host} and has no \`resolver\` here to resolve it, so it answers 502 ("no resolver defined"), and so does the route`, `${pp.name}: no resolver for ${t.host}`);
  }
  const backend = lookup === 'upstream' ? ctx.upstreams.get(t.host)! : inlineBackendFor(t, pp, ctx);
  const how = lookup === 'address' ? 'an address' : lookup === 'upstream' ? `upstream ${backend.name}` : lookup === 'implicit' ? `the upstream nginx made of a literal proxy_pass to ${t.host}:${t.port}` : `${t.host}, resolved per request`;
  const resolved = lookup === 'resolver' ? `nginx resolves ${t.host} on each request with \`resolver ${resolver!.args.map((a) => a.value).join(' ')}\` (cached per its valid= or the record's TTL); Envoy's STRICT_DNS cluster resolves it itself and re-resolves on its own schedule` : null;
  const uri = folded.requestUri ? "; its URI part $request_uri is the client's URI as sent, what a proxy_pass without one sends where no rewrite or internal redirect changes the URI (none does in this server)" : '';
  return { kind: 'target', target: t, backend, reason: `${is}, reached as ${how}${uri}`, resolved };
}

/**
 * A proxy_pass/grpc_pass to an http `map` variable (`proxy_pass http://$tenant_upstream;`):
 * each value of the map is a constant, evaluated as a `set` constant is (evaluatePass),
 * and the map's keys choose between them (src/lower/http-map.ts). Null when the pass
 * uses no map variable; nginx's answer-by-route (502, reported) when the map cannot be
 * expressed.
 */
function mapDispatch(own: Level, head: LocationHead, ctx: Ctx, scope: Scope): { action: Action; dispatch?: MapDispatch } | null {
  const pp = lastPass(own);
  const raw = pp ? argValue(pp, 0) : undefined;
  if (!pp || raw === undefined || !raw.includes('$')) return null;
  const http = scope.levels[0]!;
  const server = scope.levels[1]!;
  const mapped = variablesOf(templateOf(raw)).filter((n) => httpMapOf(http, n) !== null);
  if (mapped.length === 0) return null;
  const at = srcOf(pp);
  const fail = (why: string): { action: Action } => {
    ctx.r.mark(pp, 'unsupported', `${pp.name} \`${raw}\` takes its value from a \`map\` (${why}): not translated, answered with a 502 direct response`, at);
    return { action: { kind: 'static', status: 502, reason: `${pp.name} with a map variable is not translated`, source: at } };
  };
  if (mapped.length > 1) return fail(`it uses ${mapped.length} map variables`);
  const name = mapped[0]!;
  const use = httpMapOf(http, name)!;
  if (!use.ok) return fail(`$${name}: ${use.why}`);
  if (serverSets(server, name)) return fail(`a \`set\` in this server writes $${name}`);
  const classes = mapClasses(use.map);
  if (classes.length + 1 > MAX_MAP_ROUTES) return fail(`$${name} would take ${classes.length + 1} routes, over the limit of ${MAX_MAP_ROUTES} per location`);
  const base = locationLookup(http, server, own);
  const values = [...new Set([use.map.default, ...classes.map((c) => c.value)])];
  const actions: MapDispatch['actions'] = [];
  const said: string[] = [];
  let cls: ReportClass = use.cls;
  for (const value of values) {
    const folded = foldPass(pp, (n) => (n === name ? { value, sets: [] } : base(n)));
    const shown = `"${value}"`;
    if (folded.kind === 'not-constant') return fail(`for ${shown}: ${folded.why}`);
    if (folded.kind === 'uri-part') return fail(`for ${shown} it is \`${folded.url}\`, whose URI part nginx sends in place of the whole request URI`);
    markFoldedSets(folded.sets, raw, ctx.r);
    if (folded.kind === 'invalid') {
      actions.push({ value, action: { kind: 'static', status: 500, reason: `${pp.name} evaluates to an invalid URL`, source: at } });
      said.push(`${shown} → 500 (${folded.why})`);
      continue;
    }
    const t = folded.target;
    const changed = folded.requestUri ? serverVariables(http, server).uriChangedBy : null;
    if (changed) return fail(`$request_uri, where \`${changed.name}\` at ${srcOf(changed).file}:${changed.source.line} may have changed the URI`);
    const resolver = effectiveSimple(scope.levels, 'resolver');
    const implicit = implicitUpstreams(http, ctx.upstreams);
    const lookup = peerLookup(t, ctx.upstreams, implicit, resolver !== undefined);
    ctx.recording?.implicit.set(`${t.host}:${t.port}`, implicit.has(`${t.host}:${t.port}`));
    if (lookup === 'no-resolver') {
      actions.push({ value, action: { kind: 'static', status: 502, reason: `${pp.name}: no resolver for ${t.host}`, source: at } });
      said.push(`${shown} → 502 (no upstream ${t.host} and no \`resolver\`)`);
      continue;
    }
    const backend = lookup === 'upstream' ? ctx.upstreams.get(t.host)! : inlineBackendFor(t, pp, ctx);
    const v = verdictAt(t, backend, head, scope.levels);
    if (v[0] === 'approximated' || lookup === 'resolver') cls = 'approximated';
    actions.push({ value, action: proxyTo(t, backend, pp, at, scope, ctx) });
    said.push(`${shown} → ${folded.url} (${lookup === 'upstream' ? `upstream ${backend.name}` : lookup === 'implicit' ? 'the upstream of a literal proxy_pass' : lookup === 'resolver' ? 'resolved by DNS: Envoy re-resolves on its own schedule' : 'an address'}; ${v[1]})`);
  }
  const routes = `one route per key group in nginx's lookup order (exact keys, \`*.x\`, \`x.*\`, regexes in order), then the default's: ${use.how}`;
  ctx.r.mark(pp, cls, `${pp.name} \`${raw}\` takes $${name} from the map at ${use.map.source.file}:${use.map.source.line}: ${said.join('; ')}; ${routes}`, at);
  markMapUsed(use, ctx.r, `${pp.name} at ${at.file}:${at.line}`);
  const dispatch: MapDispatch = { map: use.map, actions };
  return { action: actions.find((a) => a.value === use.map.default)!.action, dispatch };
}

// The variables of a proxy_pass URL, by its template (shared for equal texts): the same
// URL is written in a location of every server.
const variablesByTemplate = runCache<Template, string[]>();

/** The distinct variables of a template, lowercased (nginx's variable names are case-insensitive), in order. */
function variablesOf(t: Template): string[] {
  let names = variablesByTemplate.get(t);
  if (!names) variablesByTemplate.set(t, (names = [...new Set(t.parts.flatMap((p) => ('var' in p ? [p.var.toLowerCase()] : [])))]));
  return names;
}

function inlineBackend(name: string, t: ReturnType<typeof parseProxyPass>, d: Directive): Backend {
  return {
    name,
    kind: 'inline',
    balance: { kind: 'round_robin' },
    keepalive: null,
    clusters: [],
    servers: [{ host: t.host, port: t.port, unix: t.unix, weight: 1, maxFails: 1, failTimeoutMs: 10000, backup: false, down: false, source: srcOf(d) }],
    source: srcOf(d),
  };
}

// Transports are shared objects (one per settings and target): each is written out once to compare by content.
const transportKeys = new WeakMap<UpstreamTransport, string>();

/** Records that `action` reaches `backend` over `transport` (the cluster is named once every use is known). */
function useTransport(ctx: Ctx, backend: Backend, transport: UpstreamTransport, action: ProxyAction): void {
  ctx.recording?.uses.push({ upstream: backend.kind === 'upstream', key: backend.kind === 'upstream' ? backend.name.toLowerCase() : backend.name, transport, action });
  let byKey = ctx.transports.get(backend);
  if (!byKey) ctx.transports.set(backend, (byKey = new Map()));
  let key = transportKeys.get(transport);
  if (key === undefined) transportKeys.set(transport, (key = JSON.stringify(transport)));
  const use = byKey.get(key);
  if (use) use.actions.push(action);
  else byKey.set(key, { transport, actions: [action] });
}

/**
 * A backend's clusters: one named as the backend when it is used with one
 * transport (or none: plain HTTP), else one per transport, named after it, and
 * the proxy actions pointed at theirs.
 */
function backendClusters(b: Backend, ctx: Ctx): BackendCluster[] {
  const uses = [...(ctx.transports.get(b)?.values() ?? [])];
  if (uses.length <= 1) return [{ name: b.name, transport: uses[0]?.transport ?? DEFAULT_TRANSPORT }];
  const named = uses.map((use) => ({ name: transportClusterName(b.name, use.transport), use }));
  named.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  const directive = b.kind === 'upstream' ? 'upstream' : 'proxy_pass';
  for (const { name, use } of named) {
    for (const a of use.actions) a.cluster = name;
    const lines = [...new Set(use.actions.map((a) => `${a.source.file}:${a.source.line}`))].join(', ');
    ctx.r.note(b.source, directive, 'translated', `cluster \`${name}\`: ${b.name} over ${describeTransport(use.transport)}, used at ${lines} (${b.name} is used with ${named.length} transports: nginx picks the scheme and TLS settings per proxy_pass, Envoy per cluster; every cluster has the same servers)`);
  }
  return named.map(({ name, use }) => ({ name, transport: use.transport }));
}

/** proxy_socket_keepalive (grpc_socket_keepalive for grpc_pass) in effect: on or off (nginx's default). */
function socketKeepalive(levels: Level[], family: SslFamily): boolean {
  const d = effectiveSimple(levels, family === 'grpc' ? 'grpc_socket_keepalive' : 'proxy_socket_keepalive');
  return d !== undefined && argValue(d, 0) === 'on';
}

// The keepalive variant of each transport object (transports are shared, compared by content).
const keepaliveTransports = new WeakMap<UpstreamTransport, UpstreamTransport>();

/** The transport with SO_KEEPALIVE on its sockets, when `on`: clusters differ by it (a name suffix), as by TLS. */
function withSocketKeepalive(t: UpstreamTransport, on: boolean): UpstreamTransport {
  if (!on) return t;
  let k = keepaliveTransports.get(t);
  if (!k) keepaliveTransports.set(t, (k = Object.freeze({ ...t, tcpKeepalive: true as const })));
  return k;
}

/**
 * nginx's default retry (no *_next_upstream directive in effect) is no directive's to
 * report: one note per cluster whose routes retry under it says what it becomes.
 */
function noteDefaultRetries(backends: Backend[], ctx: Ctx): void {
  for (const b of backends) {
    const plan = planRetry(DEFAULT_RETRY, b.servers);
    if (!plan) continue;
    const clusters = new Set<string>();
    for (const use of ctx.transports.get(b)?.values() ?? []) for (const a of use.actions) if (a.retry === DEFAULT_RETRY) clusters.add(a.cluster);
    if (clusters.size) ctx.r.note(b.source, b.kind === 'upstream' ? 'upstream' : 'proxy_pass', 'approximated', defaultRetryReason(plan, [...clusters].sort(), peersOf(b.servers).names));
  }
}

/** A transport in words, for the report (what a cluster's name suffix stands for). */
function describeTransport(t: UpstreamTransport): string {
  const words = describeProtocol(t);
  return t.tcpKeepalive ? `${words}, TCP keepalive` : words;
}

function describeProtocol(t: UpstreamTransport): string {
  const proto = t.http2 ? 'HTTP/2' : 'HTTP/1.x';
  if (!t.tls) return `plain ${proto}`;
  const tls = t.tls;
  const parts = [tls.sni ? `SNI ${tls.sni}` : tls.sniFromHost ? 'SNI from the Host' : 'no SNI'];
  const checked = tls.verify?.name ? ` for ${tls.verify.name}` : tls.verify?.nameFromHost ? ' for the Host' : '';
  if (tls.verify) parts.push(`certificate verified against ${tls.verify.trustedCa}${checked}`);
  if (tls.certificate) parts.push(`client certificate ${tls.certificate.cert}`);
  if (tls.protocols) parts.push(`protocols ${tls.protocols.join(' ')}`);
  if (tls.ciphers) parts.push(`ciphers ${tls.ciphers}`);
  if (tls.noSessionReuse) parts.push('no session reuse');
  return `${proto} over TLS (${parts.join(', ')})`;
}

/** The last proxy_pass or grpc_pass of a level, in file order. */
function lastPass(own: Level): Directive | undefined {
  const proxy = own.byName.get('proxy_pass');
  const grpc = own.byName.get('grpc_pass');
  if (!grpc) return proxy?.[proxy.length - 1];
  if (!proxy) return grpc[grpc.length - 1];
  const p = proxy[proxy.length - 1]!;
  const g = grpc[grpc.length - 1]!;
  return own.ds.indexOf(p) > own.ds.indexOf(g) ? p : g;
}

/**
 * Where a location's settings come from: its levels (http, server, enclosing
 * locations, its own, innermost last) and, once asked for, what is in effect
 * there. nginx inherits by level: a level that sets none of a setting's
 * directives has its parent's value, so it gets the parent's very object (the
 * IR is plain data nobody modifies after lowering) instead of a copy worked out
 * again for each location.
 */
interface Scope {
  levels: Level[];
  /** The enclosing location's scope, or the server's; null for the server's own. */
  parent: Scope | null;
  policy: Policy | null;
  /** undefined: not worked out yet. */
  compression: Compression | null | undefined;
  /** The edge part of the policy (locationEdgeAt); undefined: not worked out yet. */
  edge: LocationEdge | undefined;
  /** The proxy_ssl_* directives in effect; undefined: not worked out yet. */
  sslProxy: SslDirectives | undefined;
  /** The grpc_ssl_* directives in effect; undefined: not worked out yet. */
  sslGrpc: SslDirectives | undefined;
}

/**
 * `[...outer, own]` without the spread: it ran the iteration protocol (a result object per
 * level) for every location, mostly before the code is optimised. Copied by slice, so the
 * array stays packed like the server's `[http, own]` (the hot loops over levels see one kind).
 */
function innerLevels(outer: Level[], own: Level): Level[] {
  const levels = outer.slice();
  levels.push(own);
  return levels;
}

function scopeOf(levels: Level[], parent: Scope | null): Scope {
  // (one object per location, every field set here: the two ssl fields are not a sub-object)
  return { levels, parent, policy: null, compression: undefined, edge: undefined, sslProxy: undefined, sslGrpc: undefined };
}

/** The <family>_ssl_* directives in effect in a scope: the parent's when the own level writes none. */
function sslIn(scope: Scope, family: SslFamily): SslDirectives {
  const known = family === 'proxy' ? scope.sslProxy : scope.sslGrpc;
  if (known !== undefined) return known;
  const own = scope.levels[scope.levels.length - 1]!;
  const ssl = scope.parent && !setsSsl(own, family) ? sslIn(scope.parent, family) : sslDirectivesAt(scope.levels, family);
  if (family === 'proxy') scope.sslProxy = ssl;
  else scope.sslGrpc = ssl;
  return ssl;
}

/**
 * Every directive policyOf reads (itself or through compressionAt, accessLogsAt,
 * errorPagesAt): a level without any of them has its parent's policy. (A test
 * checks this list against what policyOf reads.)
 */
export const POLICY_DIRECTIVES: ReadonlySet<string> = new Set([
  'proxy_set_header', 'add_header', 'proxy_hide_header', 'proxy_connect_timeout', 'proxy_read_timeout', 'proxy_send_timeout', 'client_max_body_size',
  'proxy_http_version', 'proxy_redirect', 'proxy_buffering', 'absolute_redirect', 'port_in_redirect', 'server_name_in_redirect',
  'access_log', 'error_page', ...COMPRESSION_DIRECTIVES, 'allow', 'deny', 'set_real_ip_from', ...MORE_DIRECTIVES, 'server_tokens', ...AUTH_DIRECTIVES,
]);
const POLICY_FAMILY = familyOfNames(POLICY_DIRECTIVES);

/**
 * The policy in effect in a scope. Inherited as a whole when the scope's own
 * level sets none of POLICY_DIRECTIVES: then every lookup reads the same
 * directives as the parent's, so the values, and an invalid value's error, are
 * the parent's (worked out on first need, whichever location asks first).
 */
function policyIn(scope: Scope): Policy {
  if (scope.policy) return scope.policy;
  const own = scope.levels[scope.levels.length - 1]!;
  scope.policy = scope.parent && !holds(own, POLICY_FAMILY) ? policyIn(scope.parent) : policyOf(scope.levels, compressionIn(scope), edgeIn(scope));
  return scope.policy;
}

// The directives locationEdgeAt reads besides the compression's.
const EDGE_FAMILY = familyOfNames(new Set(['access_log', 'error_page']));

/**
 * locationEdgeAt for a scope: the parent's when the own level has no access_log or
 * error_page and the compression is the parent's (a location setting only headers or
 * timeouts has its own policy, but the same logs and error pages: the same lists,
 * read once per scope). It reads the http and server levels, the same for the whole
 * server, and throws no error, so whichever scope asks first gets the same answer.
 */
function edgeIn(scope: Scope): LocationEdge {
  if (scope.edge) return scope.edge;
  const own = scope.levels[scope.levels.length - 1]!;
  const compression = compressionIn(scope);
  const inherited = scope.parent !== null && !holds(own, EDGE_FAMILY) && compressionIn(scope.parent) === compression;
  scope.edge = inherited ? edgeIn(scope.parent!) : locationEdgeAt(scope.levels, compression);
  return scope.edge;
}

/** compressionAt for a scope, inherited from the parent's when the own level has no gzip/brotli directive. */
function compressionIn(scope: Scope): Compression | null {
  if (scope.compression !== undefined) return scope.compression;
  const own = scope.levels[scope.levels.length - 1]!;
  scope.compression = scope.parent && !holds(own, COMPRESSION_FAMILY) ? compressionIn(scope.parent) : compressionAt(scope.levels);
  return scope.compression;
}

/**
 * A location's policy: the proxy settings in effect, then its edge settings (key order is the output's).
 * `compression`, `edge`: compressionAt(levels) and locationEdgeAt(levels, compression), when the caller has them.
 */
export function policyOf(levels: Level[], compression: Compression | null = compressionAt(levels), edge: LocationEdge = locationEdgeAt(levels, compression)): Policy {
  const psh = headerOps(effectiveArray(levels, 'proxy_set_header'));
  const versionAt = effectiveSimple(levels, 'proxy_http_version');
  const version = versionAt && argValue(versionAt, 0) === '1.1' ? '1.1' : '1.0';
  const redirect = effectiveSimple(levels, 'proxy_redirect');
  const buffering = effectiveSimple(levels, 'proxy_buffering');
  // Read in the order the fields were always read (each may report, or throw).
  const addHeaders = headerOps(effectiveArray(levels, 'add_header'));
  const proxyHideHeaders = hiddenHeaders(effectiveArray(levels, 'proxy_hide_header'));
  const proxyConnectTimeoutMs = timeMs(levels, 'proxy_connect_timeout', NGINX_DEFAULT_PROXY_TIMEOUT_MS);
  const proxyReadTimeoutMs = timeMs(levels, 'proxy_read_timeout', NGINX_DEFAULT_PROXY_TIMEOUT_MS);
  const proxySendTimeoutMs = timeMs(levels, 'proxy_send_timeout', NGINX_DEFAULT_PROXY_TIMEOUT_MS);
  const clientMaxBodySize = bodySize(levels);
  const websocket = version === '1.1' && isWebsocketUpgrade(psh);
  const proxyRedirect = redirect ? argValues(redirect) : null;
  const proxyBuffering = buffering === undefined || argValue(buffering, 0) !== 'off';
  const redirects = redirectSettings(levels);
  const access = accessAt(levels);
  const auth = authAt(levels, access !== null);
  const more = moreHeadersAt(levels);
  const tokens = serverTokensAt(levels);
  // Every policy is built with every field, in one order (undefined: absent): one
  // shape for V8 in everything that reads policies. The order is the output's.
  const policy: Policy = {
    proxySetHeaders: psh,
    addHeaders,
    proxyHideHeaders,
    proxyConnectTimeoutMs,
    proxyReadTimeoutMs,
    proxySendTimeoutMs,
    clientMaxBodySize,
    proxyHttpVersion: version,
    websocket,
    proxyRedirect,
    proxyBuffering,
    redirects: redirects ?? undefined,
    compression: edge.compression,
    accessLogs: edge.accessLogs ?? undefined,
    errorPages: edge.errorPages,
    access: access ?? undefined,
    moreHeaders: more ?? undefined,
    serverTokens: tokens || undefined,
    auth: auth.gate ?? undefined,
    satisfyAny: auth.satisfyAny ? true : undefined,
    handedFrom: undefined,
  };
  return policy;
}

/** allow/deny in effect at the innermost level, with the address they test (real_ip's where any set_real_ip_from is in effect). */
function accessAt(levels: Level[]): Policy['access'] | null {
  const rules = accessRulesAt(levels);
  return rules ? { rules, client: effectiveArray(levels, 'set_real_ip_from').length ? 'real_ip' : 'peer' } : null;
}

// The proxy_hide_header names of a list, shared by the locations inheriting it.
const hiddenByList = runCache<Directive[], string[]>();

function hiddenHeaders(list: Directive[]): string[] {
  let names = hiddenByList.get(list);
  if (!names) hiddenByList.set(list, (names = list.map((d) => (argValue(d, 0) ?? '').toLowerCase())));
  return names;
}

const REDIRECT_FAMILY = familyOfNames(new Set(['absolute_redirect', 'port_in_redirect', 'server_name_in_redirect']));

/** absolute_redirect / port_in_redirect / server_name_in_redirect, when any differs from nginx's default. */
function redirectSettings(levels: Level[]): Policy['redirects'] | null {
  if (!anyHolds(levels, REDIRECT_FAMILY)) return null; // (the defaults: most locations)
  const absolute = onOff(levels, 'absolute_redirect', true);
  const port = onOff(levels, 'port_in_redirect', true);
  const serverName = onOff(levels, 'server_name_in_redirect', false);
  return absolute && port && !serverName ? null : { absolute, port, serverName };
}

/** An on/off directive in effect, or its default. */
function onOff(levels: Level[], name: string, dflt: boolean): boolean {
  const d = effectiveSimple(levels, name);
  return d ? argValue(d, 0) === 'on' : dflt;
}

// ---------------------------------------------------------------- listeners

function buildListeners(listens: { spec: ListenSpec; serverId: string }[], servers: VirtualServer[], r: Reporter): Listener[] {
  const byName = new Map<string, Listener>();
  const defaults = new Map<string, Src>();
  for (const { spec, serverId } of listens) {
    const name = listenName(spec.address, spec.port);
    let l = byName.get(name);
    if (!l) {
      l = { name, address: spec.address, port: spec.port, ssl: false, http2: false, proxyProtocol: false, serverIds: [], defaultServerId: serverId, sources: [] };
      byName.set(name, l);
    }
    l.ssl ||= spec.ssl;
    l.http2 ||= spec.http2;
    l.proxyProtocol ||= spec.proxyProtocol;
    if (!l.serverIds.includes(serverId)) l.serverIds.push(serverId);
    l.sources.push(spec.source);
    if (spec.defaultServer) {
      const prev = defaults.get(name);
      if (prev && l.defaultServerId !== serverId) {
        throw errorAt(spec.pos, `a duplicate default server for ${spec.address.includes(':') ? `[${spec.address}]` : spec.address}:${spec.port}`, 'duplicate-default-server');
      }
      defaults.set(name, spec.source);
      l.defaultServerId = serverId;
    }
  }
  const serverById = new Map(servers.map((s) => [s.id, s]));
  for (const l of byName.values()) l.shadowedNames = shadowed(l, serverById, r);
  return [...byName.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port));
}

/**
 * nginx refuses to start when the default server of an ssl address:port has no
 * certificate (inherited from http included) and does not reject handshakes
 * (ngx_http_ssl_init). nginx names the server's line; the error points at that
 * server's `listen … ssl`, the offending text.
 */
function checkSslCertificates(listeners: Listener[], servers: VirtualServer[], listens: { spec: ListenSpec; serverId: string }[], serverPos: Map<string, SourcePos>): void {
  for (const l of listeners) {
    if (!l.ssl) continue;
    const server = servers.find((s) => s.id === l.defaultServerId)!;
    if (server.tls?.certificates.length || server.tls?.rejectHandshake) continue;
    const own = listens.filter((x) => x.serverId === server.id && listenName(x.spec.address, x.spec.port) === l.name);
    const at = (own.find((x) => x.spec.ssl) ?? own[0])?.spec.pos ?? l.sources[0]!;
    const pos = serverPos.get(server.id)!;
    const where = `${pos.file}:${pos.line}`;
    const address = l.address.includes(':') ? `[${l.address}]:${l.port}` : `${l.address}:${l.port}`;
    throw errorAt(at, `no "ssl_certificate" is defined for the "listen ... ssl" directive in ${where} (the default server of ${address})`, 'no-ssl-certificate');
  }
}

/**
 * nginx keeps the first server for a name claimed twice on one address:port
 * (ngx_hash_add_key answers NGX_BUSY: "conflicting server name … ignored"). A
 * `.x` name is one wildcard entry covering `x` and `*.x`: it conflicts with an
 * earlier `x`, `*.x` or `.x` and is then dropped as a whole.
 */
function shadowed(l: Listener, servers: Map<string, VirtualServer>, r: Reporter): NonNullable<Listener['shadowedNames']> {
  const claimed = new Map<string, string>();
  const out: NonNullable<Listener['shadowedNames']> = [];
  const keyOf = (n: ServerName): string => `${n.kind}:${n.value}`;
  for (const id of l.serverIds) {
    const names = servers.get(id)!.names;
    for (let i = 0; i < names.length; i++) {
      const n = names[i]!;
      // Regex names are tried in order and never conflict; "" is hashed like an exact name.
      if (n.kind === 'regex') continue;
      const group = n.dot && names[i + 1]?.dot && names[i + 1]!.source === n.source ? [n, names[++i]!] : [n];
      // Any earlier claim conflicts, the server's own included (nginx warns and ignores the later name).
      if (!group.some((g) => claimed.has(keyOf(g)))) {
        for (const g of group) claimed.set(keyOf(g), id);
        continue;
      }
      const owners = group.map((g) => claimed.get(keyOf(g))).filter((o): o is string => o !== undefined);
      // Halves this server already owns through another name stay; the rest of the ignored name goes.
      for (const g of group) if (claimed.get(keyOf(g)) !== id) out.push({ serverId: id, kind: g.kind, value: g.value, source: g.source });
      const shown = n.dot ? `.${n.value}` : n.value;
      const by = owners[0] === id ? 'an earlier name of the same server claims it' : `${owners[0]} keeps it`;
      r.note(n.source, 'server_name', 'translated', `conflicting server name "${shown}" on ${l.address}:${l.port}: ${by} and nginx ignores this one, as Envoy does here`);
    }
  }
  return out;
}
