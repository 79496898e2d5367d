// `proxy_pass` → a backend reference, the URI part and nginx's `$proxy_host`.
import type { Directive } from '../parse/ast.js';
import type { Template } from '../ir/types.js';
import { errorAt, hasVariables, runCache, templateOf } from './util.js';
import { argCount, argValue } from '../parse/args.js';

export interface ProxyTarget {
  scheme: 'http' | 'https' | 'grpc' | 'grpcs';
  /** Lowercased: nginx finds upstreams and Envoy clusters by it. */
  host: string;
  /** As written in the URL: `$proxy_host`, the Host nginx sends, keeps its case. */
  hostAsWritten: string;
  port: number;
  explicitPort: boolean;
  unix: boolean;
  uri: Template | null;
  /** The URL has variables: nginx resolves it per request. */
  dynamic: boolean;
}

export function parseProxyPass(d: Directive): ProxyTarget {
  const url = argValue(d, 0);
  if (url === undefined || argCount(d) !== 1) throw errorAt(d.source, `invalid number of arguments in "${d.name}" directive`, 'arity');
  return proxyTargetOf(url, d);
}

// Targets are plain data no one modifies: a URL written in many locations is read once per run.
const targets = runCache<string, ProxyTarget>();

/** The target of a proxy_pass URL (`d`'s first argument, or its grpc:// form); errors point at `d`. */
export function proxyTargetOf(url: string, d: Directive): ProxyTarget {
  let t = targets.get(url);
  if (!t) targets.set(url, (t = readProxyUrl(url, d)));
  return t;
}

function readProxyUrl(url: string, d: Directive): ProxyTarget {
  const m = /^(https?|grpcs?):\/\//i.exec(url);
  const tpl = templateOf(url);
  if (hasVariables(tpl)) {
    // nginx evaluates the whole URL per request (`proxy_pass $backend;` is valid).
    const scheme = (m?.[1]?.toLowerCase() ?? 'http') as ProxyTarget['scheme'];
    return { scheme, host: url, hostAsWritten: url, port: 80, explicitPort: false, unix: false, uri: null, dynamic: true };
  }
  if (!m) throw errorAt(d.args[0]!.source, `invalid URL prefix in "${url}"`, 'proxy-pass-url');
  const scheme = m[1]!.toLowerCase() as ProxyTarget['scheme'];
  const rest = url.slice(m[0].length);
  const defaultPort = scheme === 'https' || scheme === 'grpcs' ? 443 : 80;
  if (rest.startsWith('unix:')) {
    // http://unix:/path/to.sock:/uri
    const colon = rest.indexOf(':', 5);
    const path = colon < 0 ? rest.slice(5) : rest.slice(5, colon);
    const uri = colon < 0 ? null : rest.slice(colon + 1);
    return { scheme, host: path, hostAsWritten: path, port: 0, explicitPort: false, unix: true, uri: uri ? templateOf(uri) : null, dynamic: false };
  }
  const slash = rest.indexOf('/');
  const hostPort = slash < 0 ? rest : rest.slice(0, slash);
  const uri = slash < 0 ? null : rest.slice(slash);
  const hp = /^(\[[0-9a-fA-F:.]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort);
  if (!hp || hp[1] === '') throw errorAt(d.args[0]!.source, `invalid host in "${url}"`, 'proxy-pass-url');
  const written = hp[1]!.replace(/^\[|\]$/g, '');
  return {
    scheme,
    host: written.toLowerCase(),
    hostAsWritten: written,
    port: hp[2] ? Number(hp[2]) : defaultPort,
    explicitPort: hp[2] !== undefined,
    unix: false,
    uri: uri === null ? null : templateOf(uri),
    dynamic: false,
  };
}

/** `$proxy_host`: the host as written, with the port only when it is not the scheme's default. */
export function proxyHostOf(t: ProxyTarget): string {
  if (t.unix) return 'localhost';
  const defaultPort = t.scheme === 'https' || t.scheme === 'grpcs' ? 443 : 80;
  const host = t.hostAsWritten.includes(':') ? `[${t.hostAsWritten}]` : t.hostAsWritten;
  return t.explicitPort && t.port !== defaultPort ? `${host}:${t.port}` : host;
}
