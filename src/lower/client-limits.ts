// Client-side timeouts and limits → ClientLimits (the HTTP connection
// manager's domain: one value per listener), and the report lines.
import type { Directive } from '../parse/ast.js';
import type { ClientLimits, Src } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { effectiveSimple } from './limits.js';
import { type Level, parseSize, parseTimeMs, srcOf } from './util.js';
import { http2MaxStreams } from './http2.js';
import { argValue } from '../parse/args.js';

export const NGINX_CLIENT_DEFAULTS = {
  keepaliveTimeoutMs: 75000,
  keepaliveRequests: 1000,
  clientHeaderTimeoutMs: 60000,
  clientBodyTimeoutMs: 60000,
  sendTimeoutMs: 60000,
  largeHeaderBuffers: { number: 4, size: 8192 },
};

export const CLIENT_LIMIT_DIRECTIVES = ['keepalive_timeout', 'keepalive_requests', 'client_header_timeout', 'client_body_timeout', 'send_timeout', 'large_client_header_buffers'];

function ms(levels: Level[], name: string, dflt: number): number {
  const d = effectiveSimple(levels, name);
  const v = d === undefined ? undefined : argValue(d, 0);
  const n = v === undefined ? null : parseTimeMs(v);
  return n ?? dflt;
}

/** Limits in effect; `sources` lists the directives that set them (empty: all nginx defaults). */
/** Where the limits in effect are set, in CLIENT_LIMIT_DIRECTIVES' order (one loop: no list per step). */
function limitSources(levels: Level[]): Src[] {
  const out: Src[] = [];
  for (let i = 0; i < CLIENT_LIMIT_DIRECTIVES.length; i++) {
    const d = effectiveSimple(levels, CLIENT_LIMIT_DIRECTIVES[i]!);
    if (d !== undefined) out.push(srcOf(d));
  }
  return out;
}

export function clientLimitsAt(levels: Level[]): ClientLimits {
  const lb = effectiveSimple(levels, 'large_client_header_buffers');
  const number = Number((lb && argValue(lb, 0)) ?? NaN);
  const size = parseSize((lb && argValue(lb, 1)) ?? '');
  const kr = effectiveSimple(levels, 'keepalive_requests');
  const requests = Number((kr && argValue(kr, 0)) ?? NaN);
  return {
    keepaliveTimeoutMs: ms(levels, 'keepalive_timeout', NGINX_CLIENT_DEFAULTS.keepaliveTimeoutMs),
    keepaliveRequests: Number.isFinite(requests) ? requests : NGINX_CLIENT_DEFAULTS.keepaliveRequests,
    clientHeaderTimeoutMs: ms(levels, 'client_header_timeout', NGINX_CLIENT_DEFAULTS.clientHeaderTimeoutMs),
    clientBodyTimeoutMs: ms(levels, 'client_body_timeout', NGINX_CLIENT_DEFAULTS.clientBodyTimeoutMs),
    sendTimeoutMs: ms(levels, 'send_timeout', NGINX_CLIENT_DEFAULTS.sendTimeoutMs),
    largeHeaderBuffers: Number.isFinite(number) && size !== null ? { number, size } : NGINX_CLIENT_DEFAULTS.largeHeaderBuffers,
    http2MaxConcurrentStreams: http2MaxStreams(levels),
    sources: limitSources(levels),
  };
}

export function markClientLimits(ds: Directive[], r: Reporter): void {
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    switch (d.name) {
      case 'keepalive_timeout':
        r.mark(d, d.args.length > 1 ? 'approximated' : 'translated', ['common_http_protocol_options.idle_timeout (0: max_requests_per_connection 1, no keep-alive)', ...(d.args.length > 1 ? ['the Keep-Alive: timeout= response header is not sent'] : [])].join('; '));
        break;
      case 'keepalive_requests':
        r.mark(d, 'translated', 'common_http_protocol_options.max_requests_per_connection');
        break;
      case 'client_header_timeout':
        r.mark(d, 'approximated', 'request_headers_timeout: Envoy answers 408 too, but times the whole header block where nginx times the gap between reads');
        break;
      case 'client_body_timeout':
      case 'send_timeout':
        r.mark(d, 'approximated', 'stream_idle_timeout (the larger of client_body_timeout and send_timeout): Envoy\'s idle timer covers both directions of a stream; routes to upstreams use proxy_read_timeout instead');
        break;
      case 'large_client_header_buffers':
        r.mark(d, 'approximated', 'max_request_headers_kb = number × size: nginx limits each header line and the request line to `size` (400/414), Envoy the whole header block (431)');
        break;
    }
  }
}
