// grpc_pass → a proxy target over HTTP/2 (grpc://, h2c) or HTTP/2 over TLS
// (grpcs://); the address may be written without a scheme. The other grpc_*
// directives are reported: the proxy_* settings of the location are what the
// route gets.
import { markSocketKeepalive } from './limits.js';
import type { Directive } from '../parse/ast.js';
import type { Reporter } from './classify.js';
import { proxyTargetOf, type ProxyTarget } from './proxy.js';
import { directiveFamily, errorAt } from './util.js';
import { markNextUpstream } from './next-upstream.js';

export function parseGrpcPass(d: Directive): ProxyTarget {
  const url = d.args[0]?.value;
  if (url === undefined || d.args.length !== 1) throw errorAt(d.source, `invalid number of arguments in "${d.name}" directive`, 'arity');
  const withScheme = /^grpcs?:\/\//i.test(url) || url.includes('$') ? url : `grpc://${url}`;
  // Read as proxy_pass would read the grpc:// form; errors point at this directive.
  const t = proxyTargetOf(withScheme, d);
  if (t.scheme !== 'grpc' && t.scheme !== 'grpcs' && !t.dynamic) throw errorAt(d.args[0]!.source, `invalid URL prefix in "${url}"`, 'grpc-pass-url');
  if (t.uri) throw errorAt(d.args[0]!.source, `invalid host in "${url}"`, 'grpc-pass-url');
  return t;
}

const SAME_AS_DEFAULT: Record<string, string> = {
  grpc_connect_timeout: '60s',
  grpc_read_timeout: '60s',
  grpc_send_timeout: '60s',
};

/** Every name markGrpc may report. */
export const GRPC_MARKED = directiveFamily((name) => name.startsWith('grpc_'));

export function markGrpc(ds: Directive[], r: Reporter): void {
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    // grpc_ssl_*: the TLS of grpcs:// targets, reported by proxy-ssl.ts.
    if (!d.name.startsWith('grpc_') || d.name === 'grpc_pass' || d.name.startsWith('grpc_ssl_')) continue;
    const v = d.args[0]?.value ?? '';
    if (d.name.startsWith('grpc_next_upstream')) markNextUpstream(d, r);
    else if (SAME_AS_DEFAULT[d.name] !== undefined) {
      if (v === SAME_AS_DEFAULT[d.name] || v === '60') r.mark(d, 'translated', 'nginx\'s default, which the route and cluster already use');
      else r.mark(d, 'unsupported', `\`${d.name}\` is not translated: gRPC routes get the location's proxy_* timeouts (60s by default)`);
    } else if (d.name === 'grpc_set_header' || d.name === 'grpc_hide_header' || d.name === 'grpc_pass_header') {
      r.mark(d, 'unsupported', `\`${d.name}\` is not translated: gRPC routes get the location's proxy_set_header/proxy_hide_header`);
    } else if (d.name === 'grpc_socket_keepalive') {
      markSocketKeepalive(d, r);
    } else if (d.name === 'grpc_buffer_size') {
      r.mark(d, 'ignored', 'buffer tuning');
    } else {
      r.mark(d, 'unsupported', `\`${d.name}\` is not translated`);
    }
  }
}
