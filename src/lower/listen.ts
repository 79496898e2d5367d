// `listen` → address:port plus the flags nginx keeps per socket.
import type { Directive, SourcePos } from '../parse/ast.js';
import type { Src } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { errorAt, srcOf } from './util.js';

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
  const [first, ...params] = d.args.map((a) => a.value);
  if (first === undefined) throw errorAt(d.source, 'invalid number of arguments in "listen" directive', 'arity');
  if (first.startsWith('unix:')) {
    r.mark(d, 'unsupported', 'listening on a unix socket is not translated (an Envoy pipe listener would be needed)');
    return null;
  }
  const addr = parseAddress(first);
  if (!addr) throw errorAt(d.args[0]!.source, `invalid host in "${first}" of the "listen" directive`, 'listen-address');
  const spec: ListenSpec = { address: addr.address, port: addr.port, defaultServer: false, ssl: false, http2: false, proxyProtocol: false, source: srcOf(d), pos: d.source };
  const notes: string[] = [];
  let cls: 'translated' | 'approximated' | 'unsupported' = 'translated';
  if (addr.resolved) {
    notes.push(`"${addr.resolved}" resolved to ${addr.address} at compile time, as nginx does at startup`);
    cls = 'approximated';
  }
  for (const p of params) {
    if (p === 'default_server' || p === 'default') spec.defaultServer = true;
    else if (p === 'ssl') spec.ssl = true;
    else if (p === 'http2') spec.http2 = true;
    else if (p === 'proxy_protocol') spec.proxyProtocol = true;
    else if (IGNORED_PARAMS.test(p)) notes.push(`socket option \`${p}\` not translated (no routing effect)`);
    else if (p === 'quic' || p === 'http3') {
      notes.push(`\`${p}\` (HTTP/3) not translated`);
      cls = 'unsupported';
    } else throw errorAt(d.source, `invalid parameter "${p}"`, 'listen-param');
  }
  r.mark(d, cls, [`listener ${addr.address}:${addr.port}`, ...notes].join('; '));
  return spec;
}

function parseAddress(text: string): { address: string; port: number; resolved?: string } | null {
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(text);
  if (v6) {
    host = v6[1]!.toLowerCase();
    portText = v6[2];
    return { address: host === '::' ? '::' : host, port: portOf(portText) ?? -1 };
  }
  if (/^\d+$/.test(text)) return validPort({ address: '0.0.0.0', port: Number(text) });
  const m = /^([^:]+)(?::(\d+))?$/.exec(text);
  if (!m) return null;
  host = m[1]!;
  portText = m[2];
  const port = portOf(portText);
  if (port === null) return null;
  if (host === '*') return validPort({ address: '0.0.0.0', port });
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return validPort({ address: host, port });
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
