// proxy_ssl_* (ngx_http_proxy_module) → the TLS half of an upstream transport.
// nginx applies these settings to `proxy_pass https://…` only: http:// ignores
// them, and grpc_pass has its own grpc_ssl_* family (reported by grpc.ts). They
// are inherited like the other proxy settings (http → server → location), each
// directive on its own. Certificates are kept as paths: key material never
// enters the IR or the output.
import type { Directive } from '../parse/ast.js';
import type { ProxyAction, UpstreamTls, UpstreamTransport } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { effectiveSimple } from './limits.js';
import { ciphersMark, type Mark, pathMark, protocolsMark } from './tls.js';
import { errorAt, hasVariables, type Level, runCache, templateOf } from './util.js';

export const PROXY_SSL_DIRECTIVES: ReadonlySet<string> = new Set([
  'proxy_ssl_server_name',
  'proxy_ssl_name',
  'proxy_ssl_verify',
  'proxy_ssl_trusted_certificate',
  'proxy_ssl_verify_depth',
  'proxy_ssl_crl',
  'proxy_ssl_certificate',
  'proxy_ssl_certificate_key',
  'proxy_ssl_protocols',
  'proxy_ssl_ciphers',
  'proxy_ssl_session_reuse',
  'proxy_ssl_password_file',
  'proxy_ssl_conf_command',
  'proxy_ssl_certificate_cache',
]);

/** The proxy_ssl_* directives in effect at one level (the innermost occurrence of each), by name. */
export type SslDirectives = ReadonlyMap<string, Directive>;

export const NO_SSL_DIRECTIVES: SslDirectives = new Map();

/** Whether a level writes any proxy_ssl_* directive (a level without one inherits its parent's set). */
export function setsProxySsl(level: Level): boolean {
  for (const name of PROXY_SSL_DIRECTIVES) if (level.byName.has(name)) return true;
  return false;
}

export function sslDirectivesAt(levels: Level[]): SslDirectives {
  const out = new Map<string, Directive>();
  for (const name of PROXY_SSL_DIRECTIVES) {
    const d = effectiveSimple(levels, name);
    if (d) out.set(name, d);
  }
  return out.size ? out : NO_SSL_DIRECTIVES;
}

const PLAIN: UpstreamTransport = Object.freeze({ http2: false, tls: null });
const H2C: UpstreamTransport = Object.freeze({ http2: true, tls: null });
const GRPCS: UpstreamTransport = Object.freeze({ http2: true, tls: Object.freeze({}) });

/** The transport of an upstream no proxy_pass uses: plain HTTP/1.x, as nginx's default. */
export const DEFAULT_TRANSPORT = PLAIN;

// Transports are plain data no one modifies: one object per settings, scheme and $proxy_host.
const transports = runCache<SslDirectives, Map<string, UpstreamTransport>>();

/**
 * The transport of one proxy_pass/grpc_pass: its scheme's protocol and, for
 * https://, the proxy_ssl_* settings in effect. nginx's configuration errors
 * for a TLS proxy_pass (verify without a CA, a certificate without a key) are
 * raised here, as nginx raises them only where https:// is used.
 */
export function upstreamTransport(scheme: ProxyAction['scheme'], ssl: SslDirectives, proxyHost: string): UpstreamTransport {
  if (scheme === 'http') return PLAIN;
  if (scheme === 'grpc') return H2C;
  if (scheme === 'grpcs') return GRPCS;
  let byHost = transports.get(ssl);
  if (!byHost) transports.set(ssl, (byHost = new Map()));
  let t = byHost.get(proxyHost);
  if (!t) byHost.set(proxyHost, (t = { http2: false, tls: upstreamTls(ssl, proxyHost) }));
  return t;
}

function value(d: Directive | undefined): string | undefined {
  return d?.args[0]?.value;
}

function fixedPath(path: string): boolean {
  return path !== '' && !path.startsWith('data:') && !hasVariables(templateOf(path));
}

/** The TLS settings of an https:// proxy_pass (fields in a fixed order: the cluster name hashes them). */
export function upstreamTls(ssl: SslDirectives, proxyHost: string): UpstreamTls {
  const tls: UpstreamTls = {};
  const name = sslName(ssl.get('proxy_ssl_name'), proxyHost);
  if (value(ssl.get('proxy_ssl_server_name')) === 'on' && name !== null && sniAllowed(name)) tls.sni = name;
  const verify = ssl.get('proxy_ssl_verify');
  if (value(verify) === 'on') {
    const ca = value(ssl.get('proxy_ssl_trusted_certificate'));
    if (!ca) throw errorAt(verify!.source, 'no "proxy_ssl_trusted_certificate" for "proxy_ssl_verify"', 'proxy-ssl-verify');
    const depth = Number(value(ssl.get('proxy_ssl_verify_depth')) ?? '1');
    tls.verify = { trustedCa: ca, depth: Number.isInteger(depth) && depth >= 0 ? depth : 1 };
    if (name !== null) tls.verify.name = name;
    const crl = value(ssl.get('proxy_ssl_crl'));
    if (crl && fixedPath(crl)) tls.verify.crl = crl;
  }
  const cert = ssl.get('proxy_ssl_certificate');
  const certPath = value(cert);
  if (cert && certPath) {
    const key = value(ssl.get('proxy_ssl_certificate_key'));
    if (!key) throw errorAt(cert.source, `no "proxy_ssl_certificate_key" is defined for certificate "${certPath}"`, 'proxy-ssl-certificate');
    // Paths with variables (loaded per request by nginx) or inline data are reported unsupported.
    if (fixedPath(certPath) && fixedPath(key)) tls.certificate = { cert: certPath, key };
  }
  const protocols = ssl.get('proxy_ssl_protocols');
  if (protocols) tls.protocols = protocols.args.map((a) => a.value);
  const ciphers = value(ssl.get('proxy_ssl_ciphers'));
  if (ciphers !== undefined) tls.ciphers = ciphers;
  if (value(ssl.get('proxy_ssl_session_reuse')) === 'off') tls.noSessionReuse = true;
  return tls;
}

/**
 * The name nginx uses for SNI and the certificate check (ngx_http_upstream_ssl_name):
 * proxy_ssl_name, by default `$proxy_host`, with its port stripped. null when it
 * depends on the request (variables other than $proxy_host).
 */
export function sslName(d: Directive | undefined, proxyHost: string): string | null {
  const raw = value(d) ?? '$proxy_host';
  let name = '';
  for (const p of templateOf(raw).parts) {
    if ('text' in p) name += p.text;
    else if (p.var === 'proxy_host') name += proxyHost;
    else return null;
  }
  return stripPort(name);
}

function stripPort(name: string): string {
  const from = name.startsWith('[') ? Math.max(0, name.indexOf(']')) : 0;
  const colon = name.indexOf(':', from);
  return colon < 0 ? name : name.slice(0, colon);
}

/** RFC 6066: no SNI for an IP literal (nginx sends none for IPv4 and `[…]` names). */
function sniAllowed(name: string): boolean {
  return name !== '' && !name.startsWith('[') && !/^\d+\.\d+\.\d+\.\d+$/.test(name);
}

// ---------------------------------------------------------------- report

/** Reports every proxy_ssl_* directive of one level, where it is written. */
export function markProxySslLevel(level: Level, r: Reporter): void {
  if (!setsProxySsl(level)) return;
  const ds = level.ds;
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    if (PROXY_SSL_DIRECTIVES.has(d.name)) {
      const [cls, reason] = proxySslReason(d);
      r.mark(d, cls, reason);
    }
  }
}

const IN_CLUSTER = 'filename in the cluster';

const NO_EFFECT = 'no effect on the http:// proxy_pass and grpc_pass locations it applies to (nginx applies proxy_ssl_* to https:// only), whose clusters have no TLS';

/** A location whose proxy_pass is not https:// inherits these: say they do nothing there. */
export function markNoEffect(ssl: SslDirectives, r: Reporter): void {
  for (const d of ssl.values()) r.mark(d, 'translated', NO_EFFECT);
}

function proxySslReason(d: Directive): Mark {
  const v = value(d) ?? '';
  switch (d.name) {
    case 'proxy_ssl_server_name':
      return v === 'on'
        ? ['translated', 'UpstreamTlsContext sni: proxy_ssl_name ($proxy_host by default) without its port; none for an IP address, as nginx']
        : ['translated', 'no SNI sent (nginx\'s default; Envoy sends none without `sni`)'];
    case 'proxy_ssl_name': {
      const name = sslName(d, '$proxy_host');
      if (name === null) return ['unsupported', `\`${v}\` is evaluated per request by nginx: the cluster sends no SNI and checks no name against the certificate`];
      return ['translated', `\`${v}\`: the SNI (with proxy_ssl_server_name on) and the name checked in the certificate (with proxy_ssl_verify on), port stripped`];
    }
    case 'proxy_ssl_verify':
      return v === 'on'
        ? [
            'approximated',
            'validation_context: trusted_ca, max_verify_depth and the proxy_ssl_name checked against the DNS SANs (match_typed_subject_alt_names exact, wildcard SANs match as in nginx); nginx also accepts the name in the subject CN of a certificate without DNS SANs and needs the chain to reach a self-signed root, Envoy reads SANs only and accepts a chain ending at any CA of trusted_ca',
          ]
        : ['translated', 'upstream certificates are not verified (nginx\'s default; Envoy verifies nothing without validation_context)'];
    case 'proxy_ssl_trusted_certificate':
      return pathMark(d, 'trusted CAs → validation_context.trusted_ca (used with proxy_ssl_verify on)', IN_CLUSTER);
    case 'proxy_ssl_verify_depth': {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) return ['unsupported', `invalid depth \`${v}\``];
      return ['translated', `validation_context.max_verify_depth ${Math.min(n + 1, 100)} (with proxy_ssl_verify on): Envoy counts the trust anchor, OpenSSL does not`];
    }
    case 'proxy_ssl_crl':
      return pathMark(d, 'CRL → validation_context.crl (used with proxy_ssl_verify on; both require a CRL for every CA of the chain)', IN_CLUSTER);
    case 'proxy_ssl_certificate':
      return pathMark(d, 'client certificate → UpstreamTlsContext tls_certificates (mTLS to the upstream)', IN_CLUSTER);
    case 'proxy_ssl_certificate_key':
      return pathMark(d, 'client key → tls_certificates.private_key', IN_CLUSTER);
    case 'proxy_ssl_protocols':
      return protocolsMark(d);
    case 'proxy_ssl_ciphers':
      return ciphersMark(v);
    case 'proxy_ssl_session_reuse':
      return v === 'off'
        ? ['translated', 'max_session_keys 0: no session resumption']
        : ['approximated', 'sessions are resumed (Envoy\'s default, max_session_keys 1); nginx keeps a session per upstream server, Envoy the last one per cluster, so with several servers resumption succeeds less often'];
    case 'proxy_ssl_password_file':
      return ['unsupported', 'pass phrase file for an encrypted client key: not copied (Envoy takes one pass phrase, tls_certificates.password)'];
    case 'proxy_ssl_conf_command':
      return ['unsupported', 'OpenSSL configuration commands have no BoringSSL equivalent'];
    default: // proxy_ssl_certificate_cache
      return ['ignored', 'cache of certificates nginx loads per request (paths with variables, not translated): Envoy loads its files once'];
  }
}
