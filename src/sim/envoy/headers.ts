// Custom request/response headers.
// Docs: https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/headers#custom-request-response-headers
// "Headers are appended to requests/responses in the following order: weighted
// cluster level headers, route level headers, virtual host level headers and
// finally global route_configuration level headers." With
// RouteConfiguration.most_specific_header_mutations_wins the order is reversed so
// the most specific level is applied last and wins.
// HeaderValueOption (https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/core/v3/base.proto#config-core-v3-headervalueoption):
// append_action defaults to APPEND_IF_EXISTS_OR_ADD; the deprecated `append`
// (true → APPEND_IF_EXISTS_OR_ADD, false → OVERWRITE_IF_EXISTS_OR_ADD) wins when
// set; an empty value is not added unless keep_empty_value.
// Values may hold command operators (https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage#command-operators):
// `%REQ(x)%`, `%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%`…; `%%` is a literal `%`.

import { boolValue, EnvoyConfigError, enumValue, type Obj } from './config.js';

export type HeaderLevel = 'weighted_cluster' | 'route' | 'virtual_host' | 'route_configuration';

export interface HeaderAddition {
  key: string;
  value: string;
  appendAction: string;
  level: HeaderLevel;
}

export interface HeaderRemoval {
  key: string;
  level: HeaderLevel;
}

/** What the formatter can know about the connection and request. */
export interface FormatContext {
  headers: Record<string, string>; // lowercased names, pseudo-headers included
  remoteAddress?: string;
  remotePort?: number;
  localAddress: string;
  localPort: number;
  sni: string;
  protocol: string;
}

const APPEND_ACTIONS = ['APPEND_IF_EXISTS_OR_ADD', 'ADD_IF_ABSENT', 'OVERWRITE_IF_EXISTS_OR_ADD', 'OVERWRITE_IF_EXISTS'];

function withPort(addr: string, port: number | undefined): string | undefined {
  if (port === undefined) return undefined;
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** One command operator → its value, or undefined when the request does not give it. */
function command(cmd: string, ctx: FormatContext): string | undefined {
  const req = /^REQ\(([^)]*)\)(?::(\d+))?$/.exec(cmd);
  if (req) {
    const [main, alt] = req[1]!.split('?').map((s) => s.trim().toLowerCase());
    // In header values a missing header formats as the empty string.
    let v = ctx.headers[main!] ?? (alt !== undefined ? ctx.headers[alt] : undefined) ?? '';
    if (req[2] !== undefined) v = v.slice(0, Number(req[2]));
    return v;
  }
  switch (cmd) {
    case 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT':
    case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT':
      return ctx.remoteAddress;
    case 'DOWNSTREAM_REMOTE_ADDRESS':
    case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS':
      return ctx.remoteAddress !== undefined ? withPort(ctx.remoteAddress, ctx.remotePort) : undefined;
    case 'DOWNSTREAM_REMOTE_PORT':
    case 'DOWNSTREAM_DIRECT_REMOTE_PORT':
      return ctx.remotePort !== undefined ? String(ctx.remotePort) : undefined;
    case 'DOWNSTREAM_LOCAL_ADDRESS':
      return withPort(ctx.localAddress, ctx.localPort);
    case 'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT':
      return ctx.localAddress;
    case 'DOWNSTREAM_LOCAL_PORT':
      return String(ctx.localPort);
    case 'REQUESTED_SERVER_NAME':
      return ctx.sni;
    case 'PROTOCOL':
      return ctx.protocol;
    default:
      return undefined;
  }
}

/** Expands command operators; those the request cannot give stay literal, with a note. */
export function formatValue(value: string, ctx: FormatContext, notes: string[]): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    if (value[i + 1] === '%') {
      out += '%';
      i++;
      continue;
    }
    const end = value.indexOf('%', i + 1);
    if (end < 0) {
      out += value.slice(i);
      break;
    }
    const cmd = value.slice(i + 1, end);
    const v = command(cmd, ctx);
    if (v === undefined) {
      notes.push(`header formatter %${cmd}% left as written (the request does not give its value)`);
      out += `%${cmd}%`;
    } else out += v;
    i = end;
  }
  return out;
}

function appendActionOf(o: Obj): string {
  if (o.append !== undefined && o.append !== null) {
    return boolValue(o.append, true) ? 'APPEND_IF_EXISTS_OR_ADD' : 'OVERWRITE_IF_EXISTS_OR_ADD';
  }
  return enumValue(o.append_action, APPEND_ACTIONS, 'APPEND_IF_EXISTS_OR_ADD');
}

/**
 * ":-prefixed or host headers may not be modified" (nor removed): Envoy rejects the
 * route configuration (HeaderUtility::isModifiableHeader / isRemovableHeader);
 * prefix_rewrite and the host_rewrite options are the way to change them.
 */
function checkModifiable(key: string, level: HeaderLevel): void {
  if (key.startsWith(':') || key === 'host') {
    throw new EnvoyConfigError(`${level} headers: ${JSON.stringify(key)} — :-prefixed or host headers may not be modified`);
  }
}

export interface HeaderSource {
  level: HeaderLevel;
  obj: Obj | undefined;
}

/** The effective additions and removals, in the order Envoy applies them. */
export function effectiveHeaders(
  sources: HeaderSource[],
  kind: 'request' | 'response',
  mostSpecificWins: boolean,
  ctx: FormatContext,
  notes: string[],
): { add: HeaderAddition[]; remove: HeaderRemoval[] } {
  const ordered = mostSpecificWins ? [...sources].reverse() : sources;
  const add: HeaderAddition[] = [];
  const remove: HeaderRemoval[] = [];
  for (const { level, obj } of ordered) {
    if (!obj) continue;
    for (const raw of obj[`${kind}_headers_to_remove`] ?? []) {
      const key = String(raw).toLowerCase();
      checkModifiable(key, level);
      remove.push({ key, level });
    }
    for (const o of obj[`${kind}_headers_to_add`] ?? []) {
      const h = o.header ?? {};
      checkModifiable(String(h.key ?? '').toLowerCase(), level);
      const raw = h.value ?? (h.raw_value !== undefined ? Buffer.from(String(h.raw_value), 'base64').toString('utf8') : '');
      const value = formatValue(String(raw), ctx, notes);
      if (value === '' && !boolValue(o.keep_empty_value, false)) {
        notes.push(`${kind} header ${h.key} has an empty value and is not added (keep_empty_value is false)`);
        continue;
      }
      add.push({ key: String(h.key ?? '').toLowerCase(), value, appendAction: appendActionOf(o), level });
    }
  }
  return { add, remove };
}

/**
 * The response headers a client gets (lowercase names, values in order) for a decision
 * whose route lists are `remove` and `add`, from `base` (the upstream's headers for a
 * forwarded request; what the direct response or redirect carries otherwise): each
 * level's removals, then its additions by append_action (HeaderValueOption), levels in
 * the order the decision lists them; then the connection manager's Server (`serverHeader`;
 * absent: OVERWRITE with `envoy`). Envoy's own replies (RBAC, no route) carry no route
 * headers: their decisions list none.
 */
export function responseHeadersSent(
  base: Record<string, string[]>,
  d: { responseHeadersToAdd?: HeaderAddition[]; responseHeadersToRemove?: HeaderRemoval[]; serverHeader?: { transformation: string; name: string } },
): Record<string, string[]> {
  const out = applyLists(base, d.responseHeadersToRemove ?? [], d.responseHeadersToAdd ?? []);
  const server = d.serverHeader ?? { transformation: 'OVERWRITE', name: 'envoy' };
  if (server.transformation === 'OVERWRITE' || (server.transformation === 'APPEND_IF_ABSENT' && !out.has('server'))) out.set('server', [server.name]);
  return Object.fromEntries([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The request headers the upstream gets for a forwarded request's decision, from the client's `base` (lowercase names). */
export function requestHeadersSent(base: Record<string, string[]>, d: { requestHeadersToAdd?: HeaderAddition[]; requestHeadersToRemove?: HeaderRemoval[] }): Record<string, string[]> {
  const out = applyLists(base, d.requestHeadersToRemove ?? [], d.requestHeadersToAdd ?? []);
  return Object.fromEntries([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Each level's removals, then its additions, levels in the order the lists give them. */
function applyLists(base: Record<string, string[]>, removes: HeaderRemoval[], adds: HeaderAddition[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [k, v] of Object.entries(base)) out.set(k.toLowerCase(), [...v]);
  for (const level of levelsInOrder(removes, adds)) {
    for (const r of removes) if (r.level === level) out.delete(r.key);
    for (const a of adds) if (a.level === level) addHeader(out, a);
  }
  return out;
}

const LEVEL_ORDER: HeaderLevel[] = ['weighted_cluster', 'route', 'virtual_host', 'route_configuration'];

/** The levels of the lists, in the order effectiveHeaders applied them (reversed by most_specific_header_mutations_wins). */
function levelsInOrder(removes: HeaderRemoval[], adds: HeaderAddition[]): HeaderLevel[] {
  const rank = (l: HeaderLevel) => LEVEL_ORDER.indexOf(l);
  const levels = [...new Set([...removes, ...adds].map((h) => h.level))].sort((a, b) => rank(a) - rank(b));
  const reversed = [removes, adds].some((list) => list.some((h, i) => i > 0 && rank(h.level) < rank(list[i - 1]!.level)));
  return reversed ? levels.reverse() : levels;
}

function addHeader(out: Map<string, string[]>, a: HeaderAddition): void {
  const had = out.get(a.key);
  switch (a.appendAction) {
    case 'APPEND_IF_EXISTS_OR_ADD':
      out.set(a.key, [...(had ?? []), a.value]);
      break;
    case 'ADD_IF_ABSENT':
      if (!had) out.set(a.key, [a.value]);
      break;
    case 'OVERWRITE_IF_EXISTS':
      if (had) out.set(a.key, [a.value]);
      break;
    default:
      out.set(a.key, [a.value]);
  }
}
