// ngx_http_v2_module settings: what the connection manager can take
// (http2_protocol_options), what is tuning, and what Envoy does not do
// (server push). `listen … http2` / `http2 on` themselves are lowered with
// the listener (ALPN h2 and the AUTO codec).
import type { Directive } from '../parse/ast.js';
import type { ReportClass } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { effectiveSimple } from './limits.js';
import { directiveFamily, type Level } from './util.js';

export const NGINX_HTTP2_MAX_STREAMS = 128;

export function http2MaxStreams(levels: Level[]): number {
  const v = Number(effectiveSimple(levels, 'http2_max_concurrent_streams')?.args[0]?.value ?? NaN);
  return Number.isInteger(v) && v > 0 ? v : NGINX_HTTP2_MAX_STREAMS;
}

const REASONS: Record<string, [ReportClass, string]> = {
  http2_max_concurrent_streams: ['translated', 'http2_protocol_options.max_concurrent_streams (the default server\'s value per listener)'],
  http2_max_requests: ['approximated', 'requests per HTTP/2 connection: Envoy\'s max_requests_per_connection (from keepalive_requests) covers both protocols'],
  http2_max_field_size: ['approximated', 'Envoy limits the whole header block (max_request_headers_kb), not each field'],
  http2_max_header_size: ['approximated', 'Envoy limits the header block as sent (max_request_headers_kb from large_client_header_buffers); nginx the HPACK-decoded size'],
  http2_idle_timeout: ['approximated', 'Envoy\'s idle_timeout (from keepalive_timeout) applies to HTTP/2 connections too'],
  http2_recv_timeout: ['approximated', 'Envoy has no HTTP/2-only receive timeout: request_headers_timeout/stream_idle_timeout apply'],
  http2_recv_buffer_size: ['ignored', 'HTTP/2 buffer tuning'],
  http2_chunk_size: ['ignored', 'HTTP/2 buffer tuning'],
  http2_body_preread_size: ['ignored', 'HTTP/2 buffer tuning'],
  http2_pool_size: ['ignored', 'memory tuning'],
  http2_streams_index_size: ['ignored', 'memory tuning'],
  http2_max_concurrent_pushes: ['ignored', 'server push is not available in Envoy'],
};

/** Every name markHttp2 may report. */
export const HTTP2_MARKED = directiveFamily((name) => name.startsWith('http2_'));

export function markHttp2(ds: Directive[], r: Reporter): void {
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    const fixed = REASONS[d.name];
    if (fixed) r.mark(d, fixed[0], fixed[1]);
    else if (d.name === 'http2_push' || d.name === 'http2_push_preload') {
      const off = d.args[0]?.value === 'off';
      r.mark(d, off ? 'translated' : 'unsupported', off ? 'no server push (Envoy never pushes)' : 'HTTP/2 server push is not available in Envoy (browsers have dropped it too)');
    }
  }
}
