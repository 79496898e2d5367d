// proxy_set_header, add_header and proxy_hide_header lists → the header lists of
// Envoy routes. Locations share their inherited lists (the IR hands every location
// below a level the same HeaderOp[]), and most values read nothing of the listener
// or server, so each list is converted once per emission and per context values it
// actually reads; the resulting lists are frozen and shared by every route that has
// them (read-only, like the other shared parts of the output).
import type { HeaderOp, MoreHeaders } from '../../ir/types.js';
import { formatHeaderValue, type FormatContext } from '../../lower/headers.js';
import { netMoreOps, type NetOp } from '../../lower/more-headers.js';
import type { Json } from './context.js';

/** Upstream response headers nginx hides by default (ngx_http_proxy_hide_headers). */
export const NGINX_HIDDEN = ['x-accel-expires', 'x-accel-redirect', 'x-accel-limit-rate', 'x-accel-buffering', 'x-accel-charset', 'x-pad'];

const SCHEME = 1;
const PORT = 2;
const SERVER_NAME = 4;
const PROXY_HOST = 8;

/**
 * The variables whose formatter (formatHeaderValue) reads the FormatContext, and
 * which part of it. Every other variable converts the same way everywhere.
 */
export const CONTEXT_VARIABLES: Readonly<Record<string, number>> = { scheme: SCHEME, https: SCHEME, server_port: PORT, server_name: SERVER_NAME, proxy_host: PROXY_HOST };

/** The listener and server a route is emitted for (a FormatContext without the upstream host). */
export interface ListenerContext {
  scheme: 'http' | 'https';
  port: number;
  serverName: string;
  /** context keys by the parts a list reads (contextKey), made once per listener and server */
  keys: string[];
}

export function listenerContext(scheme: 'http' | 'https', port: number, serverName: string): ListenerContext {
  return { scheme, port, serverName, keys: [] };
}

export interface RequestHeaders {
  add: readonly Json[] | null;
  remove: readonly string[] | null;
}

/**
 * What a list's conversion depends on: its content (names and raw values: lists written
 * alike in several locations convert alike, so they share one ListInfo), and which
 * FormatContext parts it reads.
 */
interface ListInfo {
  /** FormatContext parts read (bits) */
  uses: number;
}

/**
 * Lists by content, one header at a time: name → raw value → the node of the lists that
 * go on from there. Locations hold their own copies of a list (20,000 list objects for
 * 4,000 contents on the benchmark): walking this finds a copy's content without building
 * a text of it.
 */
interface ContentNode {
  next: Map<string, Map<string, ContentNode>>;
  /** the lists that end here */
  info: ListInfo | undefined;
}

function contentNode(): ContentNode {
  return { next: new Map(), info: undefined };
}

const NO_REQUEST_HEADERS: RequestHeaders = Object.freeze({ add: null, remove: null });

/** headers-more's commands as route header lists (Server left to the connection manager: see listeners.ts). */
export interface MoreLists {
  responseAdd: readonly Json[] | null;
  responseRemove: readonly string[] | null;
  /** request headers set, and the lowercase names they are for (a proxy_set_header of the same name wins) */
  requestAdd: readonly { name: string; header: Json }[];
  requestRemove: readonly string[];
}

export class HeaderLists {
  private readonly lists = new Map<HeaderOp[], ListInfo>();
  private readonly contents = contentNode();
  private readonly requests = new Map<ListInfo, Map<string, RequestHeaders>>();
  private readonly websocketRequests = new Map<ListInfo, Map<string, RequestHeaders>>();
  private readonly responses = new Map<ListInfo, Map<string, readonly Json[] | null>>();
  private readonly hidden = new Map<string, readonly string[] | null>();
  private readonly mores = new Map<MoreHeaders, Map<string, MoreLists>>();

  /** headers-more commands → the route's header lists (by the commands' object: locations inheriting them share it). */
  more(m: MoreHeaders, at: ListenerContext, proxyHost: string): MoreLists {
    let byContext = this.mores.get(m);
    if (!byContext) this.mores.set(m, (byContext = new Map()));
    // pushed, not flatMap'ed: a packed array, as the other caller's (a holey one met late recompiles contextUseOf)
    const values: HeaderOp['value'][] = [];
    for (const op of m.output) if (op.value) values.push(op.value);
    for (const op of m.input) if (op.value) values.push(op.value);
    const uses = contextUseOf(values);
    const key = contextKey(uses, at, proxyHost);
    let lists = byContext.get(key);
    if (!lists) byContext.set(key, (lists = convertMore(m, formatContext(at, proxyHost))));
    return lists;
  }

  /** proxy_set_header → request headers added and removed (Host, Connection and, with websocket, Upgrade left to Envoy). */
  request(list: HeaderOp[], websocket: boolean, at: ListenerContext, proxyHost: string): RequestHeaders {
    if (list.length === 0) return NO_REQUEST_HEADERS; // (the IR has a fresh empty list per location)
    const info = this.infoOf(list);
    const byList = websocket ? this.websocketRequests : this.requests;
    let byContext = byList.get(info);
    if (!byContext) byList.set(info, (byContext = new Map()));
    const key = contextKey(info.uses, at, proxyHost);
    let h = byContext.get(key);
    if (!h) byContext.set(key, (h = convertRequest(list, websocket, formatContext(at, proxyHost))));
    return h;
  }

  /** add_header → response headers added (null: none). */
  response(list: HeaderOp[], at: ListenerContext, proxyHost: string): readonly Json[] | null {
    if (list.length === 0) return null;
    const info = this.infoOf(list);
    let byContext = this.responses.get(info);
    if (!byContext) this.responses.set(info, (byContext = new Map()));
    const key = contextKey(info.uses, at, proxyHost);
    let h = byContext.get(key);
    if (h === undefined) byContext.set(key, (h = convertResponse(list, formatContext(at, proxyHost))));
    return h;
  }

  /** proxy_hide_header names (lowercase) → response headers removed, nginx's own hidden ones left out (null: none). */
  hide(names: string[]): readonly string[] | null {
    if (names.length === 0) return null;
    const key = JSON.stringify(names);
    let h = this.hidden.get(key);
    if (h === undefined) {
      const own = [...new Set(names.filter((n) => !NGINX_HIDDEN.includes(n)))];
      this.hidden.set(key, (h = own.length ? Object.freeze(own) : null));
    }
    return h;
  }

  private infoOf(list: HeaderOp[]): ListInfo {
    let info = this.lists.get(list);
    if (!info) {
      let node = this.contents;
      for (let i = 0; i < list.length; i++) {
        const h = list[i]!;
        let byValue = node.next.get(h.name);
        if (!byValue) node.next.set(h.name, (byValue = new Map()));
        let next = byValue.get(h.value.raw);
        if (!next) byValue.set(h.value.raw, (next = contentNode()));
        node = next;
      }
      // (the parts of a value are those of its raw text: the same content reads the same context)
      info = node.info ??= { uses: contextUse(list) };
      this.lists.set(list, info);
    }
    return info;
  }
}

function formatContext(at: ListenerContext, proxyHost: string): FormatContext {
  return { scheme: at.scheme, port: at.port, serverName: at.serverName, proxyHost };
}

/** The context values a list reads, as a key ('' for most lists: they read none). */
function contextKey(uses: number, at: ListenerContext, proxyHost: string): string {
  if (uses === 0) return '';
  const own = uses & ~PROXY_HOST;
  let key = at.keys[own];
  if (key === undefined) key = at.keys[own] = `${own & SCHEME ? at.scheme : ''}|${own & PORT ? at.port : ''}|${own & SERVER_NAME ? at.serverName : ''}`;
  return uses & PROXY_HOST ? `${key}|${proxyHost}` : key;
}

function contextUse(list: HeaderOp[]): number {
  return contextUseOf(list.map((h) => h.value));
}

function contextUseOf(values: HeaderOp['value'][]): number {
  let bits = 0;
  for (const v of values) for (const p of v.parts) if ('var' in p) bits |= CONTEXT_VARIABLES[p.var] ?? 0;
  return bits;
}

/**
 * The net effect of the commands (netMoreOps) as lists. A set replaces the header
 * (OVERWRITE_IF_EXISTS_OR_ADD), -r only an existing one (OVERWRITE_IF_EXISTS).
 * Response `server` is the connection manager's, not the route's.
 */
function convertMore(m: MoreHeaders, ctx: FormatContext): MoreLists {
  const responseAdd: Json[] = [];
  const responseRemove: string[] = [];
  for (const op of netMoreOps(m.output, 'output')) {
    if (op.name.toLowerCase() === 'server') continue;
    if (op.kind === 'clear') responseRemove.push(op.name.toLowerCase());
    else {
      const h = moreHeader(op, ctx);
      if (h) responseAdd.push(h);
    }
  }
  const requestAdd: { name: string; header: Json }[] = [];
  const requestRemove: string[] = [];
  for (const op of netMoreOps(m.input, 'input')) {
    if (op.kind === 'clear') requestRemove.push(op.name.toLowerCase());
    else {
      const h = moreHeader(op, ctx);
      if (h) requestAdd.push({ name: op.name.toLowerCase(), header: h });
    }
  }
  return {
    responseAdd: responseAdd.length ? Object.freeze(responseAdd) : null,
    responseRemove: responseRemove.length ? Object.freeze(responseRemove) : null,
    requestAdd: Object.freeze(requestAdd),
    requestRemove: Object.freeze(requestRemove),
  };
}

function moreHeader(op: Exclude<NetOp, { kind: 'clear' }>, ctx: FormatContext): Json | null {
  const f = formatHeaderValue(op.value, ctx);
  if (!('value' in f)) return null; // reported unsupported in lowering
  return header(op.name, f.value, op.kind === 'replace' ? 'OVERWRITE_IF_EXISTS' : 'OVERWRITE_IF_EXISTS_OR_ADD');
}

function convertRequest(list: HeaderOp[], websocket: boolean, ctx: FormatContext): RequestHeaders {
  const add: Json[] = [];
  const remove: string[] = [];
  for (const h of list) {
    const name = h.name.toLowerCase();
    if (name === 'host') continue;
    if (websocket && (name === 'upgrade' || name === 'connection')) continue;
    if (name === 'connection') continue; // hop-by-hop: Envoy manages it
    if (h.value.raw === '') {
      remove.push(name);
      continue;
    }
    if (name === 'x-forwarded-for' && h.value.raw === '$proxy_add_x_forwarded_for') {
      add.push(header(h.name, '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%', 'APPEND_IF_EXISTS_OR_ADD'));
      continue;
    }
    const f = formatHeaderValue(h.value, ctx);
    if ('value' in f) add.push(header(h.name, f.value, 'OVERWRITE_IF_EXISTS_OR_ADD'));
  }
  return { add: add.length ? Object.freeze(add) : null, remove: remove.length ? Object.freeze([...new Set(remove)]) : null };
}

function convertResponse(list: HeaderOp[], ctx: FormatContext): readonly Json[] | null {
  const resp: Json[] = [];
  for (const h of list) {
    if (h.value.raw === '') continue; // nginx adds nothing for an empty value
    const f = formatHeaderValue(h.value, ctx);
    if ('value' in f) resp.push(header(h.name, f.value, 'APPEND_IF_EXISTS_OR_ADD'));
  }
  return resp.length ? Object.freeze(resp) : null;
}

/** One HeaderValueOption, frozen (shared by routes). */
function header(key: string, value: string, appendAction: string): Json {
  return Object.freeze({ header: Object.freeze({ key, value }), append_action: appendAction });
}
