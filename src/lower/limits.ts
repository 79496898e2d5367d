// Timeouts, body size, protocol version, buffering, proxy_redirect: simple
// directives inherited from the innermost level that sets them.
import type { Directive } from '../parse/ast.js';
import type { Reporter } from './classify.js';
import { errorAt, familyOfNames, type Level, parseSize, parseTimeMs } from './util.js';
import { argValue } from '../parse/args.js';
import { markNextUpstream } from './next-upstream.js';

export const NGINX_DEFAULT_BODY_SIZE = 1024 * 1024;
export const NGINX_DEFAULT_PROXY_TIMEOUT_MS = 60000;

/** The innermost occurrence of a simple directive across the inheritance chain. */
export function effectiveSimple(levels: Level[], name: string): Directive | undefined {
  for (let i = levels.length - 1; i >= 0; i--) {
    const here = levels[i]!.byName.get(name);
    if (here) return here[here.length - 1];
  }
  return undefined;
}

export function timeMs(levels: Level[], name: string, dflt: number): number {
  const d = effectiveSimple(levels, name);
  if (!d) return dflt;
  const ms = parseTimeMs(argValue(d, 0) ?? '');
  if (ms === null) throw errorAt(d.source, `"${name}" directive invalid value`, 'time-value');
  return ms;
}

export function bodySize(levels: Level[]): number {
  const d = effectiveSimple(levels, 'client_max_body_size');
  if (!d) return NGINX_DEFAULT_BODY_SIZE;
  const n = parseSize(argValue(d, 0) ?? '');
  if (n === null) throw errorAt(d.source, '"client_max_body_size" directive invalid value', 'size-value');
  return n;
}

/** The names markLimits reports (its cases). */
export const LIMITS_MARKED = familyOfNames(
  new Set([
    'proxy_connect_timeout', 'proxy_read_timeout', 'proxy_send_timeout', 'client_max_body_size', 'proxy_http_version', 'proxy_buffering', 'proxy_request_buffering',
    'proxy_redirect', 'proxy_hide_header', 'proxy_pass_header', 'proxy_intercept_errors', 'proxy_next_upstream', 'proxy_next_upstream_tries', 'proxy_next_upstream_timeout',
    'port_in_redirect', 'server_name_in_redirect', 'absolute_redirect', 'proxy_ignore_client_abort', 'proxy_socket_keepalive',
  ]),
);

/** Report the limit directives of one level (each is reported where it is written). */
export function markLimits(ds: Directive[], r: Reporter): void {
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    switch (d.name) {
      case 'proxy_connect_timeout':
        r.mark(d, 'approximated', 'cluster connect_timeout (per cluster in Envoy: the longest value among the locations using it)');
        break;
      case 'proxy_read_timeout':
        r.mark(d, 'approximated', 'route idle_timeout (Envoy\'s stream idle timeout covers reads and writes; no whole-request timeout: timeout 0s)');
        break;
      case 'proxy_send_timeout':
        r.mark(d, 'approximated', 'covered by the route idle_timeout (from proxy_read_timeout): Envoy has no separate send timeout');
        break;
      case 'client_max_body_size': {
        const n = parseSize(argValue(d, 0) ?? '');
        r.mark(d, 'approximated', n === 0 ? 'no limit: the buffer filter is disabled on these routes' : 'buffer filter max_request_bytes: Envoy answers 413 with nginx\'s page too (local_reply_config), but buffers the whole body before forwarding (nginx also buffers by default)');
        break;
      }
      case 'proxy_http_version':
        if (argValue(d, 0) === '1.1') r.mark(d, 'translated', 'HTTP/1.1 upstream (Envoy\'s default) with connection reuse');
        else r.mark(d, 'approximated', 'Envoy speaks HTTP/1.1 upstream; 1.0 is not available (connections are not reused, as with nginx)');
        break;
      case 'proxy_buffering':
        r.mark(d, argValue(d, 0) === 'off' ? 'translated' : 'approximated', argValue(d, 0) === 'off' ? 'Envoy streams responses' : 'nginx buffers responses; Envoy streams them');
        break;
      case 'proxy_request_buffering':
        r.mark(d, 'approximated', 'request bodies are buffered by the buffer filter only up to client_max_body_size');
        break;
      case 'proxy_redirect':
        if (argValue(d, 0) === 'off') r.mark(d, 'translated', 'Envoy does not rewrite upstream Location headers');
        else r.mark(d, 'unsupported', 'Envoy does not rewrite upstream Location/Refresh headers: not translated');
        break;
      case 'proxy_hide_header':
        r.mark(d, 'translated', 'response_headers_to_remove on proxied routes');
        break;
      case 'proxy_pass_header':
        r.mark(d, 'translated', 'the header is not removed (Envoy passes upstream headers)');
        break;
      case 'proxy_intercept_errors':
        r.mark(d, argValue(d, 0) === 'off' ? 'translated' : 'unsupported', argValue(d, 0) === 'off' ? 'Envoy passes upstream errors through' : 'error interception (error_page) is not translated');
        break;
      case 'proxy_next_upstream':
      case 'proxy_next_upstream_tries':
      case 'proxy_next_upstream_timeout':
        markNextUpstream(d, r);
        break;
      case 'port_in_redirect':
        r.mark(d, 'translated', 'redirects nginx makes absolute (relative `return`, the slash redirect) carry the listener port only when on');
        break;
      case 'server_name_in_redirect':
        r.mark(d, 'translated', 'redirects nginx makes absolute use the primary server name when on (host_redirect), the request\'s Host otherwise');
        break;
      case 'absolute_redirect':
        if (argValue(d, 0) === 'off') r.mark(d, 'approximated', 'nginx sends relative Location headers; Envoy\'s redirects are always absolute (same target for clients)');
        else r.mark(d, 'translated', 'redirects are absolute, as Envoy makes them');
        break;
      case 'proxy_ignore_client_abort':
        r.mark(d, 'ignored', 'connection tuning');
        break;
      case 'proxy_socket_keepalive':
        markSocketKeepalive(d, r);
        break;
    }
  }
}

/** proxy_socket_keepalive / grpc_socket_keepalive: SO_KEEPALIVE on the upstream sockets of the passes it applies to. */
export function markSocketKeepalive(d: Directive, r: Reporter): void {
  if (argValue(d, 0) === 'on') r.mark(d, 'translated', 'cluster upstream_connection_options.tcp_keepalive (SO_KEEPALIVE, probe timings left to the OS as nginx leaves them) on the clusters of the passes it applies to; a backend also reached without it gets a separate `-keepalive` cluster');
  else r.mark(d, 'translated', 'off: Envoy sets no SO_KEEPALIVE on upstream sockets by default');
}
