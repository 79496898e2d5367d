// Virtual server selection as nginx does it (ngx_http_validate_host,
// ngx_http_find_virtual_server): per listen address:port, exact name → longest
// leading wildcard → longest trailing wildcard → first regex name in file order
// → the default server (default_server, else the first on that address:port).
import type { CompiledConfig, Listener, ServerName, VirtualServer } from '../../ir/types.js';
import { compileNginxRegex, searchRegex, type Captures, NO_CAPTURES } from './regex.js';

export type HostCheck = { ok: true; host: string } | { ok: false; reason: string };

/**
 * Validates and normalises a Host value: lowercased, port and one trailing dot
 * removed. `null` (no Host header) gives "" — the name `server_name ""` matches.
 */
export function normaliseHost(raw: string | null): HostCheck {
  if (raw === null) return { ok: true, host: '' };
  let end = raw.length;
  let i = 0;
  if (raw.startsWith('[')) {
    const close = raw.indexOf(']');
    if (close < 0) return { ok: false, reason: `invalid host "${raw}"` };
    i = close + 1;
    end = i;
    if (i < raw.length && raw[i] !== ':') return { ok: false, reason: `invalid host "${raw}"` };
  }
  let lastDot = -2;
  for (; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === ':') {
      if (end === raw.length) end = i;
      if (!/^\d*$/.test(raw.slice(i + 1)) || Number(raw.slice(i + 1) || '0') > 65535) {
        return { ok: false, reason: `invalid port in host "${raw}"` };
      }
      break;
    }
    if (ch === '.') {
      if (lastDot === i - 1) return { ok: false, reason: `invalid host "${raw}" (empty label)` };
      lastDot = i;
      continue;
    }
    if (!/[A-Za-z0-9\-_~!$&'()*+,;=%]/.test(ch)) return { ok: false, reason: `invalid character in host "${raw}"` };
  }
  if (lastDot === end - 1 && end > 0) end--;
  if (end === 0) return { ok: false, reason: 'empty host' };
  return { ok: true, host: raw.slice(0, end).toLowerCase() };
}

export interface ServerQuery {
  port: number;
  /** The local address the connection arrived on; the wildcard listener when omitted. */
  address?: string;
  /** Host header as sent (or null when absent). */
  host: string | null;
}

export interface ServerChoice {
  server: VirtualServer;
  listener: Listener;
  /** How it was chosen: the name kind that matched, or 'default'. */
  by: 'exact' | 'wildcard-prefix' | 'wildcard-suffix' | 'regex' | 'default';
  name: ServerName | null;
  /** Captures of a regex server name ($1, named ones). */
  captures: Captures;
}

const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::', '*', '']);

/** The listener that accepts a connection on address:port (a specific address beats the wildcard). */
export function selectListener(ir: CompiledConfig, port: number, address?: string): Listener | null {
  const onPort = ir.listeners.filter((l) => l.port === port);
  if (address !== undefined) {
    const exact = onPort.find((l) => l.address === address);
    if (exact) return exact;
  }
  return onPort.find((l) => WILDCARD_ADDRESSES.has(l.address)) ?? onPort[0] ?? null;
}

export function selectServer(ir: CompiledConfig, query: ServerQuery): ServerChoice | null {
  const listener = selectListener(ir, query.port, query.address);
  if (!listener) return null;
  const byId = new Map(ir.servers.map((s) => [s.id, s] as const));
  const servers = listener.serverIds.map((id) => byId.get(id)).filter((s): s is VirtualServer => s !== undefined);
  const fallback = byId.get(listener.defaultServerId) ?? servers[0];
  if (!fallback) return null;
  const defaultChoice: ServerChoice = { server: fallback, listener, by: 'default', name: null, captures: NO_CAPTURES };
  const checked = normaliseHost(query.host);
  // An invalid Host is answered 400 by the default server; the caller reports the 400.
  if (!checked.ok) return defaultChoice;
  return findByName(servers, checked.host, listener) ?? defaultChoice;
}

function findByName(servers: VirtualServer[], host: string, listener: Listener): ServerChoice | null {
  const named = servers.flatMap((server) => server.names.map((name) => ({ server, name })));
  const choose = (hit: { server: VirtualServer; name: ServerName } | undefined, by: ServerChoice['by']) =>
    hit ? { server: hit.server, listener, by, name: hit.name, captures: NO_CAPTURES } : null;

  const exact = named.find(({ name }) => (name.kind === 'exact' || name.kind === 'empty') && name.value === host);
  if (exact) return choose(exact, 'exact');
  if (host === '') return null;

  const head = longest(named.filter(({ name }) => name.kind === 'wildcard-prefix'), (name) => {
    const suffix = headSuffix(name.value);
    if (name.value.startsWith('.') && host === name.value.slice(1)) return suffix.length; // `.a.com` = a.com too
    return host.endsWith(suffix) && host.length > suffix.length ? suffix.length : -1;
  });
  if (head) return choose(head, 'wildcard-prefix');

  const tail = longest(named.filter(({ name }) => name.kind === 'wildcard-suffix'), (name) => {
    const prefix = tailPrefix(name.value);
    return host.startsWith(prefix) && host.length > prefix.length ? prefix.length : -1;
  });
  if (tail) return choose(tail, 'wildcard-suffix');

  for (const entry of named) {
    if (entry.name.kind !== 'regex') continue;
    const source = entry.name.value.startsWith('~') ? entry.name.value.slice(1) : entry.name.value;
    const captures = searchRegex(compileNginxRegex(source, false), host);
    if (captures) return { server: entry.server, listener, by: 'regex', name: entry.name, captures };
  }
  return null;
}

/** `*.a.com` and `.a.com` both match hosts ending in `.a.com`. */
function headSuffix(value: string): string {
  return value.startsWith('*') ? value.slice(1) : value.startsWith('.') ? value : '.' + value;
}

/** `www.a.*` matches hosts starting with `www.a.`. */
function tailPrefix(value: string): string {
  return value.endsWith('*') ? value.slice(0, -1) : value.endsWith('.') ? value : value + '.';
}

/** The entry with the greatest score (first on ties: nginx keeps the first claim); null if none ≥ 0. */
function longest<T extends { name: ServerName }>(entries: T[], score: (name: ServerName) => number): T | undefined {
  let best: T | undefined;
  let bestScore = -1;
  for (const e of entries) {
    const s = score(e.name);
    if (s > bestScore) {
      best = e;
      bestScore = s;
    }
  }
  return best;
}
