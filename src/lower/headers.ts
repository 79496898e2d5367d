// proxy_set_header / add_header / proxy_hide_header: nginx inheritance (an inner
// level with any of them replaces the whole inherited list) and the mapping of
// nginx variables to Envoy header formatters.
import type { Directive } from '../parse/ast.js';
import type { HeaderOp, Template } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { byName, parseTemplate, src } from './util.js';

/** The effective list of an array directive: the innermost level that has any wins. */
export function effectiveArray(levels: Directive[][], name: string): Directive[] {
  for (let i = levels.length - 1; i >= 0; i--) {
    const here = byName(levels[i]!).get(name);
    if (here) return here;
  }
  return [];
}

// By list identity: effectiveArray hands every location below a level the same
// list, so the http level's headers were parsed (and kept) once per location.
const opsByList = new WeakMap<Directive[], HeaderOp[]>();

export function headerOps(ds: Directive[]): HeaderOp[] {
  if (ds.length === 0) return []; // effectiveArray's empty answer is a new array each time: no use caching it
  let ops = opsByList.get(ds);
  if (!ops) opsByList.set(ds, (ops = parseHeaderOps(ds)));
  return ops;
}

function parseHeaderOps(ds: Directive[]): HeaderOp[] {
  return ds.map((d) => ({
    name: d.args[0]?.value ?? '',
    value: parseTemplate(d.args[1]?.value ?? ''),
    ...(d.args[2]?.value === 'always' ? { always: true } : {}),
    source: src(d.source),
  }));
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

export function isWebsocketUpgrade(ops: HeaderOp[]): boolean {
  const upgrade = ops.find((o) => o.name.toLowerCase() === 'upgrade');
  const conn = ops.find((o) => o.name.toLowerCase() === 'connection');
  if (!upgrade || !conn) return false;
  const upgradeVar = upgrade.value.parts.length === 1 && 'var' in upgrade.value.parts[0]! && upgrade.value.parts[0].var === 'http_upgrade';
  const connOk = /^upgrade$/i.test(conn.value.raw) || /^\$(connection_upgrade|http_connection)$/.test(conn.value.raw);
  return upgradeVar && connOk;
}

/** Report a proxy_set_header line. */
export function markProxySetHeader(d: Directive, r: Reporter, websocket: boolean): void {
  const name = (d.args[0]?.value ?? '').toLowerCase();
  const value = parseTemplate(d.args[1]?.value ?? '');
  if (websocket && (name === 'upgrade' || name === 'connection')) {
    r.mark(d, 'translated', 'WebSocket upgrade: route upgrade_configs websocket');
    return;
  }
  if (name === 'host') {
    if (value.raw === '$host') r.mark(d, 'approximated', 'Envoy forwards the client\'s Host (port stripped, as `$host`); nginx also lowercases it');
    else if (value.raw === '$http_host') r.mark(d, 'approximated', 'Envoy forwards the client\'s Host without its port; `$http_host` keeps the port');
    else if (value.raw === '$proxy_host' || !value.parts.some((p) => 'var' in p)) r.mark(d, 'translated', 'host_rewrite_literal');
    else r.mark(d, 'unsupported', `Host \`${value.raw}\` with variables: not translated (Envoy sends $proxy_host)`);
    return;
  }
  if (value.raw === '') {
    r.mark(d, 'translated', 'empty value: the header is removed (request_headers_to_remove), as nginx does not pass it');
    return;
  }
  if (name === 'x-forwarded-for' && value.raw === '$proxy_add_x_forwarded_for') {
    r.mark(d, 'approximated', 'appends the client address to X-Forwarded-For; Envoy joins with "," where nginx writes ", "');
    return;
  }
  if (name === 'connection' && value.raw.toLowerCase() === 'close') {
    r.mark(d, 'approximated', 'Envoy manages hop-by-hop headers itself: connections are not reused (max_requests_per_connection 1), no Connection header is forced');
    return;
  }
  const f = formatHeaderValue(value, { scheme: 'http', port: 80, serverName: '', proxyHost: '' });
  if ('unsupported' in f) {
    r.mark(d, 'unsupported', `${f.unsupported.join(', ')} has no Envoy formatter: header not sent`);
    return;
  }
  const caveats = headerValueCaveats(value);
  r.mark(d, caveats.length ? 'approximated' : 'translated', ['request_headers_to_add (replaces the client\'s header)', ...caveats].join('; '));
}

export function markAddHeader(d: Directive, r: Reporter): void {
  const value = parseTemplate(d.args[1]?.value ?? '');
  const always = d.args[2]?.value === 'always';
  const f = formatHeaderValue(value, { scheme: 'http', port: 80, serverName: '', proxyHost: '' });
  if ('unsupported' in f) {
    r.mark(d, 'unsupported', `${f.unsupported.join(', ')} has no Envoy formatter: header not added`);
    return;
  }
  if (always) r.mark(d, 'translated', 'response_headers_to_add');
  else if (!value.parts.some((p) => 'var' in p)) r.mark(d, 'translated', 'per-route Lua filter (emit/envoy/edge.ts): added only to 200, 201, 204, 206, 301, 302, 303, 304, 307 and 308 responses, as nginx does without `always`');
  else r.mark(d, 'approximated', 'response_headers_to_add: Envoy adds it to every response, nginx only to 200, 201, 204, 206, 301, 302, 303, 304, 307 and 308 (no `always`)');
}
