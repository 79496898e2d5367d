// proxy_set_header / add_header / proxy_hide_header: nginx inheritance (an inner
// level with any of them replaces the whole inherited list) and the mapping of
// nginx variables to Envoy header formatters.
import type { Directive } from '../parse/ast.js';
import type { HeaderOp, ReportClass, Src, Template } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { type Level, runCache, srcOf, templateOf } from './util.js';
import { argValue } from '../parse/args.js';

/** Whether a proxy_set_header list sets Host. */
export function setsHost(list: Directive[]): boolean {
  // Asked for every proxied location, mostly about its own list: a scan of a few names
  // (lengths first: lowercasing makes a string) costs less than remembering the answer.
  for (let i = 0; i < list.length; i++) {
    const name = argValue(list[i]!, 0);
    if (name !== undefined && name.length === 4 && name.toLowerCase() === 'host') return true;
  }
  return false;
}

// Same question, for the locations whose proxy_ssl_name is $host.
const clientHostLists = runCache<Directive[], boolean>();

/**
 * Whether the upstream request carries the client's Host: a `proxy_set_header Host` with
 * variables other than `$proxy_host` alone (emit/envoy/routes.ts forwards the client's Host
 * for it, port stripped by the listener; a fixed value, `$proxy_host` or no entry is a
 * host_rewrite_literal). The first Host entry counts, as in the emitted route.
 */
export function keepsClientHost(list: Directive[]): boolean {
  if (list.length === 0) return false;
  let v = clientHostLists.get(list);
  if (v === undefined) {
    const host = list.find((d) => argValue(d, 0)?.toLowerCase() === 'host');
    const raw = host ? (argValue(host, 1) ?? '') : '';
    v = host !== undefined && raw !== '$proxy_host' && templateOf(raw).parts.some((p) => 'var' in p);
    clientHostLists.set(list, v);
  }
  return v;
}

/** The effective list of an array directive: the innermost level that has any wins. */
export function effectiveArray(levels: Level[], name: string): Directive[] {
  for (let i = levels.length - 1; i >= 0; i--) {
    const here = levels[i]!.byName.get(name);
    if (here) return here;
  }
  return NONE;
}

// effectiveArray's answer when no level has the directive (never modified by callers).
const NONE: Directive[] = [];

// By list identity: effectiveArray hands every location below a level the same
// list, so the http level's headers were parsed (and kept) once per location.
const opsByList = runCache<Directive[], HeaderOp[]>();

export function headerOps(ds: Directive[]): HeaderOp[] {
  if (ds.length === 0) return []; // a fresh array for each caller, as the IR had
  let ops = opsByList.get(ds);
  if (!ops) opsByList.set(ds, (ops = parseHeaderOps(ds)));
  return ops;
}

function parseHeaderOps(ds: Directive[]): HeaderOp[] {
  // (sized once and filled by index: no closure, no growing store)
  const ops = new Array<HeaderOp>(ds.length);
  for (let i = 0; i < ds.length; i++) ops[i] = headerOpOf(ds[i]!);
  return ops;
}

function headerOpOf(d: Directive): HeaderOp {
  const always = argValue(d, 2) === 'always';
  const value = templateOf(argValue(d, 1) ?? '');
  // Every op built with the same fields in one order (`always` undefined when not set): one shape for V8.
  return { name: argValue(d, 0) ?? '', value, always: always ? true : undefined, source: srcOf(d) };
}

export interface FormatContext {
  scheme: 'http' | 'https';
  port: number;
  serverName: string;
  proxyHost: string;
}

/** Variables with an exact Envoy formatter (or a value known at compile time). */
export function formatHeaderValue(t: Template, ctx: FormatContext): { value: string } | { unsupported: string[] } {
  let value = '';
  const bad: string[] = [];
  for (const p of t.parts) {
    if ('text' in p) {
      value += p.text.replace(/%/g, '%%');
      continue;
    }
    const f = formatterFor(p.var, ctx);
    if (f === null) bad.push('$' + p.var);
    else value += f;
  }
  return bad.length ? { unsupported: bad } : { value };
}

function formatterFor(v: string, ctx: FormatContext): string | null {
  if (v.startsWith('http_')) return `%REQ(${v.slice(5).replace(/_/g, '-')})%`;
  switch (v) {
    case 'remote_addr':
    case 'binary_remote_addr':
      return v === 'remote_addr' ? '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%' : null;
    case 'remote_port':
      return '%DOWNSTREAM_REMOTE_PORT%';
    case 'server_addr':
      return '%DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%';
    case 'server_port':
      return String(ctx.port);
    case 'scheme':
      return ctx.scheme;
    case 'https':
      return ctx.scheme === 'https' ? 'on' : '';
    case 'host':
      return '%REQ(:authority)%';
    case 'server_name':
      return ctx.serverName.replace(/%/g, '%%');
    case 'proxy_host':
      return ctx.proxyHost;
    case 'request_method':
      return '%REQ(:method)%';
    case 'request_uri':
      return '%REQ(:path)%';
    case 'server_protocol':
      return '%PROTOCOL%';
    case 'request_id':
      return '%REQ(x-request-id)%';
    case 'ssl_server_name':
      return '%REQUESTED_SERVER_NAME%';
    // issue 7: more variables with an exact formatter
    case 'upstream_addr':
      return '%UPSTREAM_HOST%';
    case 'realip_remote_addr':
      return '%DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%';
    case 'ssl_protocol':
      return '%DOWNSTREAM_TLS_VERSION%';
    case 'ssl_client_s_dn':
      return '%DOWNSTREAM_PEER_SUBJECT%';
    case 'hostname':
      return '%HOSTNAME%';
    case 'content_type':
      return '%REQ(content-type)%';
    case 'content_length':
      return '%REQ(content-length)%';
    default:
      return null;
  }
}

/** Approximations that hold even when every variable has a formatter. */
export function headerValueCaveats(t: Template): string[] {
  const out: string[] = [];
  for (const p of t.parts) {
    if (!('var' in p)) continue;
    if (p.var === 'host') out.push('`$host` is lowercased by nginx; Envoy sends the Host as the client wrote it (port stripped)');
    if (p.var === 'request_uri') out.push('`$request_uri` is the raw request line URI in nginx; Envoy gives the normalised path');
  }
  return out;
}

/** Whether a proxy_set_header list is the WebSocket idiom (Upgrade $http_upgrade, Connection upgrade). */
export function isWebsocketUpgrade(ops: HeaderOp[]): boolean {
  // Asked twice per list (the level's marks, the policy): a scan of a few names costs
  // less than remembering the answer. (Lengths first: most lists name neither, and each
  // lowercasing makes a string.)
  let upgrade: HeaderOp | undefined;
  let conn: HeaderOp | undefined;
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i]!;
    if (upgrade === undefined && o.name.length === 7 && o.name.toLowerCase() === 'upgrade') upgrade = o;
    else if (conn === undefined && o.name.length === 10 && o.name.toLowerCase() === 'connection') conn = o;
  }
  if (!upgrade || !conn) return false;
  const upgradeVar = upgrade.value.parts.length === 1 && 'var' in upgrade.value.parts[0]! && upgrade.value.parts[0].var === 'http_upgrade';
  const connOk = /^upgrade$/i.test(conn.value.raw) || /^\$(connection_upgrade|http_connection)$/.test(conn.value.raw);
  return upgradeVar && connOk;
}

type Verdict = [ReportClass, string];

// The verdict on a header line depends only on its name and value: locations
// repeat the same few lines thousands of times, so each is worked out once per
// run (keyed by name, then value, as written: no key strings to build).
const proxySetVerdicts = [runCache<string, Map<string, Verdict>>(), runCache<string, Map<string, Verdict>>()];
const addVerdicts = [runCache<string, Verdict>(), runCache<string, Verdict>()];

/** Report a proxy_set_header line. */
export function markProxySetHeader(d: Directive, r: Reporter, websocket: boolean, at?: Src): void {
  const name = argValue(d, 0) ?? '';
  const raw = argValue(d, 1) ?? '';
  const byName = proxySetVerdicts[websocket ? 1 : 0]!;
  let byValue = byName.get(name);
  if (!byValue) byName.set(name, (byValue = new Map()));
  let v = byValue.get(raw);
  if (!v) byValue.set(raw, (v = proxySetHeaderVerdict(name.toLowerCase(), templateOf(raw), websocket)));
  r.mark(d, v[0], v[1], at);
}

function proxySetHeaderVerdict(name: string, value: Template, websocket: boolean): Verdict {
  if (websocket && (name === 'upgrade' || name === 'connection')) return ['translated', 'WebSocket upgrade: route upgrade_configs websocket'];
  if (name === 'host') {
    if (value.raw === '$host') return ['approximated', 'Envoy forwards the client\'s Host (port stripped, as `$host`); nginx also lowercases it'];
    if (value.raw === '$http_host') return ['approximated', 'Envoy forwards the client\'s Host without its port; `$http_host` keeps the port'];
    if (value.raw === '$proxy_host' || !value.parts.some((p) => 'var' in p)) return ['translated', 'host_rewrite_literal'];
    return ['unsupported', `Host \`${value.raw}\` with variables: not translated (Envoy sends $proxy_host)`];
  }
  if (value.raw === '') return ['translated', 'empty value: the header is removed (request_headers_to_remove), as nginx does not pass it'];
  if (name === 'x-forwarded-for' && value.raw === '$proxy_add_x_forwarded_for') {
    return ['approximated', 'appends the client address to X-Forwarded-For; Envoy joins with "," where nginx writes ", "'];
  }
  if (name === 'connection' && value.raw.toLowerCase() === 'close') {
    return ['approximated', 'Envoy manages hop-by-hop headers itself: connections are not reused (max_requests_per_connection 1), no Connection header is forced'];
  }
  const f = formatHeaderValue(value, { scheme: 'http', port: 80, serverName: '', proxyHost: '' });
  if ('unsupported' in f) return ['unsupported', `${f.unsupported.join(', ')} has no Envoy formatter: header not sent`];
  const caveats = headerValueCaveats(value);
  return [caveats.length ? 'approximated' : 'translated', ['request_headers_to_add (replaces the client\'s header)', ...caveats].join('; ')];
}

/** Report an add_header line (`at`: its position as the IR writes it, when the caller has it). */
export function markAddHeader(d: Directive, r: Reporter, at?: Src): void {
  const raw = argValue(d, 1) ?? '';
  const always = argValue(d, 2) === 'always';
  const byValue = addVerdicts[always ? 1 : 0]!;
  let v = byValue.get(raw);
  if (!v) byValue.set(raw, (v = addHeaderVerdict(templateOf(raw), always)));
  r.mark(d, v[0], v[1], at);
}

function addHeaderVerdict(value: Template, always: boolean): Verdict {
  const f = formatHeaderValue(value, { scheme: 'http', port: 80, serverName: '', proxyHost: '' });
  if ('unsupported' in f) return ['unsupported', `${f.unsupported.join(', ')} has no Envoy formatter: header not added`];
  if (always) return ['translated', 'response_headers_to_add'];
  if (!value.parts.some((p) => 'var' in p)) return ['translated', 'per-route Lua filter (emit/envoy/edge.ts): added only to 200, 201, 204, 206, 301, 302, 303, 304, 307 and 308 responses, as nginx does without `always`'];
  return ['approximated', 'response_headers_to_add: Envoy adds it to every response, nginx only to 200, 201, 204, 206, 301, 302, 303, 304, 307 and 308 (no `always`)'];
}
