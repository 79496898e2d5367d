// `listen` → address:port plus the flags nginx keeps per socket.
import type { Directive, SourcePos } from '../parse/ast.js';
import type { Src } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { errorAt, type LowerError, srcOf } from './util.js';
import { argCount, argValue } from '../parse/args.js';

export interface ListenSpec {
  address: string; // '0.0.0.0', '::', or a concrete IP
  port: number;
  defaultServer: boolean;
  ssl: boolean;
  http2: boolean;
  proxyProtocol: boolean;
  source: Src;
  /** The position as parsed, for error messages (the IR's `source` may name the file differently). */
  pos: SourcePos;
}

const IGNORED_PARAMS = /^(reuseport|deferred|bind|ipv6only=|backlog=|rcvbuf=|sndbuf=|so_keepalive=|fastopen=|accept_filter=|setfib=)/;

/** nginx's listen when a server has none: `*:80` as root (`*:8000` otherwise). We assume root. */
export const DEFAULT_LISTEN_PORT = 80;

export function listenName(address: string, port: number): string {
  return `listener_${address.includes(':') ? `[${address}]` : address}_${port}`;
}

/** Parse one `listen`; null when it cannot be translated (reported). */
export function lowerListen(d: Directive, r: Reporter): ListenSpec | null {
  // The words are read by index (no list of views, no destructuring); the rare
  // cases (errors, unix sockets, notes) are functions of their own.
  const first = argValue(d, 0);
  if (first === undefined) throw errorAt(d.source, 'invalid number of arguments in "listen" directive', 'arity');
  if (first.startsWith('unix:')) return unixListen(d, r);
  const addr = parseAddress(first);
  if (!addr) throw badHost(d, first);
  const spec: ListenSpec = { address: addr.address, port: addr.port, defaultServer: false, ssl: false, http2: false, proxyProtocol: false, source: srcOf(d), pos: d.source };
  const said: Said = { notes: null, cls: 'translated' };
  if (addr.resolved !== undefined) note(said, `"${addr.resolved}" resolved to ${addr.address} at compile time, as nginx does at startup`, 'approximated');
  const count = argCount(d);
  for (let i = 1; i < count; i++) {
    const p = argValue(d, i)!;
    if (p === 'default_server' || p === 'default') spec.defaultServer = true;
    else if (p === 'ssl') spec.ssl = true;
    else if (p === 'http2') spec.http2 = true;
    else if (p === 'proxy_protocol') spec.proxyProtocol = true;
    else otherParam(d, p, said);
  }
  const head = `listener ${addr.address}:${addr.port}`;
  r.mark(d, said.cls, said.notes === null ? head : [head, ...said.notes].join('; '));
  return spec;
}

/** What a listen's report line says besides its address: notes (null: none yet) and the class. */
interface Said {
  notes: string[] | null;
  cls: 'translated' | 'approximated' | 'unsupported';
}

function note(said: Said, text: string, cls: Said['cls']): void {
  (said.notes ??= []).push(text);
  if (cls !== 'translated') said.cls = cls;
}

/** A parameter other than the four that shape the listener: a socket option, HTTP/3, or an error. */
function otherParam(d: Directive, p: string, said: Said): void {
  if (IGNORED_PARAMS.test(p)) note(said, `socket option \`${p}\` not translated (no routing effect)`, 'translated');
  else if (p === 'quic' || p === 'http3') note(said, `\`${p}\` (HTTP/3) not translated`, 'unsupported');
  else throw errorAt(d.source, `invalid parameter "${p}"`, 'listen-param');
}

function unixListen(d: Directive, r: Reporter): null {
  r.mark(d, 'unsupported', 'listening on a unix socket is not translated (an Envoy pipe listener would be needed)');
  return null;
}

function badHost(d: Directive, first: string): LowerError {
  return errorAt(d.args[0]!.source, `invalid host in "${first}" of the "listen" directive`, 'listen-address');
}

/** An address as parsed: `resolved` is the name it was resolved from (always present, one shape). */
interface ParsedAddress {
  address: string;
  port: number;
  resolved: string | undefined;
}

function parseAddress(text: string): ParsedAddress | null {
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(text);
  if (v6) {
    host = v6[1]!.toLowerCase();
    portText = v6[2];
    return { address: host === '::' ? '::' : host, port: portOf(portText) ?? -1, resolved: undefined };
  }
  if (/^\d+$/.test(text)) return validPort({ address: '0.0.0.0', port: Number(text), resolved: undefined });
  const m = /^([^:]+)(?::(\d+))?$/.exec(text);
  if (!m) return null;
  host = m[1]!;
  portText = m[2];
  const port = portOf(portText);
  if (port === null) return null;
  if (host === '*') return validPort({ address: '0.0.0.0', port, resolved: undefined });
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return validPort({ address: host, port, resolved: undefined });
  if (host.toLowerCase() === 'localhost') return validPort({ address: '127.0.0.1', port, resolved: host });
  return null;
}

function portOf(text: string | undefined): number | null {
  if (text === undefined) return DEFAULT_LISTEN_PORT;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : null;
}

function validPort<T extends { port: number }>(a: T): T | null {
  return a.port >= 1 && a.port <= 65535 ? a : null;
}
