// proxy_pass / grpc_pass with variables whose values are `set` constants: the URL
// nginx evaluates on every request is then one URL, and nginx connects as its
// ngx_http_upstream_init_request does for an evaluated URL (checked with nginx 1.22):
// - an IP address: straight to it;
// - else the first upstream whose host matches case-insensitively: an `upstream {}`
//   block (it has no port, so only a URL without one finds it) or the implicit
//   upstream of a literal proxy_pass/grpc_pass host:port elsewhere in http;
// - else the name is resolved per request by the `resolver` in effect; with none,
//   every request gets 502 ("no resolver defined to resolve …").
// A URI part is sent as it is, in place of the whole request URI (the query string
// dropped): not what a literal proxy_pass does with it, and not translated here.
import type { Directive } from '../parse/ast.js';
import type { ProxyTarget } from './proxy.js';
import { proxyTargetOf } from './proxy.js';
import { foldTemplate, type Constant, type Lookup } from './set-constants.js';
import { isIp } from './upstream.js';
import { directivesOf, LowerError, runCache, templateOf, type Level } from './util.js';

export type FoldedPass =
  | { kind: 'not-constant'; why: string }
  /** The evaluated URL is not one nginx can proxy to: every request gets 500. */
  | { kind: 'invalid'; url: string; why: string; sets: Constant['sets'] }
  | { kind: 'uri-part'; url: string }
  /** requestUri: the URL ends with `$request_uri` right after the host (its URI part is the client's URI as sent). */
  | { kind: 'target'; url: string; target: ProxyTarget; sets: Constant['sets']; requestUri: boolean };

/** Stands for $request_uri in an evaluated URL: no text of a configuration holds it. */
const REQUEST_URI = '\u0000request_uri\u0000';

/** The URL a proxy_pass/grpc_pass with variables evaluates to on every request, if it is one. */
export function foldPass(pp: Directive, lookup: Lookup): FoldedPass {
  const raw = pp.args[0]!.value;
  const folded = foldTemplate(templateOf(raw), (name) => (name === 'request_uri' ? { value: REQUEST_URI, sets: [] } : lookup(name)));
  if ('why' in folded) return { kind: 'not-constant', why: folded.why };
  const at = folded.text.indexOf(REQUEST_URI);
  const requestUri = at >= 0;
  if (requestUri && (at + REQUEST_URI.length !== folded.text.length || /^[a-z]+:\/\/[^/]*\//i.test(folded.text))) {
    return { kind: 'not-constant', why: '$request_uri is part of a longer URI' };
  }
  const text = requestUri ? folded.text.slice(0, at) : folded.text;
  const grpc = pp.name === 'grpc_pass';
  if (grpc && requestUri) return { kind: 'not-constant', why: 'grpc_pass takes no URI' };
  const url = grpc && !/^grpcs?:\/\//i.test(text) ? `grpc://${text}` : text;
  const scheme = /^([a-z]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  const schemes = grpc ? ['grpc', 'grpcs'] : ['http', 'https'];
  const shown = requestUri ? `${text}$request_uri` : text;
  if (!scheme || !schemes.includes(scheme)) return { kind: 'invalid', url: shown, why: `invalid URL prefix in "${shown}"`, sets: folded.sets };
  let target: ProxyTarget;
  try {
    target = proxyTargetOf(url, pp);
  } catch (err) {
    if (err instanceof LowerError) return { kind: 'invalid', url: shown, why: err.diagnostic.message, sets: folded.sets };
    throw err;
  }
  if (target.unix) return { kind: 'not-constant', why: 'a unix: socket in a URL with variables is not translated' };
  if (target.uri) return { kind: 'uri-part', url: shown };
  return { kind: 'target', url: shown, target, sets: folded.sets, requestUri };
}

/** How nginx reaches an evaluated target (see the module comment). */
export type PeerLookup = 'address' | 'upstream' | 'implicit' | 'resolver' | 'no-resolver';

export function peerLookup(t: ProxyTarget, upstreams: ReadonlyMap<string, unknown>, implicit: ReadonlySet<string>, resolver: boolean): PeerLookup {
  if (isIp(t.host)) return 'address';
  if (!t.explicitPort && upstreams.has(t.host)) return 'upstream';
  if (implicit.has(`${t.host}:${t.port}`)) return 'implicit';
  return resolver ? 'resolver' : 'no-resolver';
}

const PASSES = new Set(['proxy_pass', 'grpc_pass', 'fastcgi_pass', 'uwsgi_pass', 'scgi_pass', 'memcached_pass']);
const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443, grpc: 80, grpcs: 443 };

// The implicit upstreams of an http block, worked out once per run (and only for a config that needs them).
const implicitByHttp = runCache<Level, Set<string>>();

/**
 * host:port of every literal *_pass target of the http block that is not an upstream
 * block's name: nginx makes each an upstream an evaluated URL can find.
 */
export function implicitUpstreams(http: Level, upstreams: ReadonlyMap<string, unknown>): Set<string> {
  let found = implicitByHttp.get(http);
  if (found) return found;
  found = new Set();
  const walk = (ds: Directive[]): void => {
    for (const d of ds) {
      if (PASSES.has(d.name)) {
        const key = literalTargetKey(d);
        if (key && !upstreams.has(key.slice(0, key.lastIndexOf(':')))) found!.add(key);
      }
      if (d.block && d.name !== 'upstream') walk(directivesOf(d.block));
    }
  };
  walk(http.ds);
  implicitByHttp.set(http, found);
  return found;
}

/** host:port of a literal pass target (lowercased host, the scheme's port when none is written), or null. */
export function literalTargetKey(d: Directive): string | null {
  const value = d.args[0]?.value;
  if (!value || value.includes('$')) return null;
  const m = /^(?:([a-z]+):\/\/)?(\[[0-9a-f:.]+\]|[^/:]+)(?::(\d+))?/i.exec(value);
  if (!m || m[2]!.toLowerCase() === 'unix') return null;
  const scheme = (m[1] ?? (d.name === 'grpc_pass' ? 'grpc' : 'http')).toLowerCase();
  const port = m[3] ? Number(m[3]) : DEFAULT_PORTS[scheme] ?? 80;
  return `${m[2]!.replace(/^\[|\]$/g, '').toLowerCase()}:${port}`;
}
