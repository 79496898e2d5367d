// proxy_ssl_* (ngx_http_proxy_module) and grpc_ssl_* (ngx_http_grpc_module) →
// the TLS half of an upstream transport. nginx applies proxy_ssl_* to
// `proxy_pass https://…` only and grpc_ssl_* to `grpc_pass grpcs://…` only:
// plain targets ignore them. They are inherited like the other proxy settings
// (http → server → location), each directive on its own. Certificates are kept
// as paths: key material never enters the IR or the output.
import type { Directive } from '../parse/ast.js';
import type { ProxyAction, UpstreamTls, UpstreamTransport } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { effectiveSimple } from './limits.js';
import { ciphersMark, type Mark, pathMark, protocolsMark } from './tls.js';
import { anyHolds, errorAt, familyOfNames, hasVariables, holds, type Level, runCache, templateOf } from './util.js';

/** The two families: proxy_ssl_* for proxy_pass, grpc_ssl_* for grpc_pass. */
export type SslFamily = 'proxy' | 'grpc';

/** What follows `<family>_ssl_` (grpc has no certificate_cache). */
const SUFFIXES = [
  'server_name',
  'name',
  'verify',
  'trusted_certificate',
  'verify_depth',
  'crl',
  'certificate',
  'certificate_key',
  'protocols',
  'ciphers',
  'session_reuse',
  'password_file',
  'conf_command',
  'certificate_cache',
];

export const PROXY_SSL_DIRECTIVES: ReadonlySet<string> = new Set(SUFFIXES.map((x) => `proxy_ssl_${x}`));
export const GRPC_SSL_DIRECTIVES: ReadonlySet<string> = new Set(SUFFIXES.filter((x) => x !== 'certificate_cache').map((x) => `grpc_ssl_${x}`));

const DIRECTIVES: Record<SslFamily, ReadonlySet<string>> = { proxy: PROXY_SSL_DIRECTIVES, grpc: GRPC_SSL_DIRECTIVES };
const FAMILIES: Record<SslFamily, number> = { proxy: familyOfNames(PROXY_SSL_DIRECTIVES), grpc: familyOfNames(GRPC_SSL_DIRECTIVES) };

/** The <family>_ssl_* directives in effect at one level (the innermost occurrence of each), by name without the family prefix. */
export type SslDirectives = ReadonlyMap<string, Directive>;

export const NO_SSL_DIRECTIVES: SslDirectives = new Map();

/** Whether a level writes any directive of the family (a level without one inherits its parent's set). */
export function setsSsl(level: Level, family: SslFamily): boolean {
  return holds(level, FAMILIES[family]);
}

export function sslDirectivesAt(levels: Level[], family: SslFamily): SslDirectives {
  if (!anyHolds(levels, FAMILIES[family])) return NO_SSL_DIRECTIVES; // (most servers: no lookups)
  const out = new Map<string, Directive>();
  const prefix = `${family}_ssl_`;
  for (const name of DIRECTIVES[family]) {
    const d = effectiveSimple(levels, name);
    if (d) out.set(name.slice(prefix.length), d);
  }
  return out.size ? out : NO_SSL_DIRECTIVES;
}

/** The family whose settings a scheme's TLS uses, and the one it ignores. */
export function sslFamilyOf(scheme: ProxyAction['scheme']): SslFamily {
  return scheme.startsWith('grpc') ? 'grpc' : 'proxy';
}

const PLAIN: UpstreamTransport = Object.freeze({ http2: false, tls: null });
const H2C: UpstreamTransport = Object.freeze({ http2: true, tls: null });

/** The transport of an upstream no proxy_pass uses: plain HTTP/1.x, as nginx's default. */
export const DEFAULT_TRANSPORT = PLAIN;

// Transports are plain data no one modifies: one object per settings, scheme and $proxy_host.
const transports = runCache<SslDirectives, Map<string, UpstreamTransport>>();

/**
 * The transport of one proxy_pass/grpc_pass: its scheme's protocol and, for
 * https:// and grpcs://, the settings in effect of the scheme's family
 * (`ssl`: sslDirectivesAt(…, sslFamilyOf(scheme))). nginx's configuration
 * errors for a TLS target (verify without a CA, a certificate without a key)
 * are raised here, as nginx raises them only where TLS is used.
 */
export function upstreamTransport(scheme: ProxyAction['scheme'], ssl: SslDirectives, proxyHost: string, keepsClientHost = false): UpstreamTransport {
  if (scheme === 'http') return PLAIN;
  if (scheme === 'grpc') return H2C;
  let byHost = transports.get(ssl);
  if (!byHost) transports.set(ssl, (byHost = new Map()));
  const family = sslFamilyOf(scheme);
  const fromHost = keepsClientHost && family === 'proxy' && namesRequestHost(ssl.get('name'));
  const key = `${scheme} ${proxyHost}${fromHost ? ' $host' : ''}`;
  let t = byHost.get(key);
  if (!t) byHost.set(key, (t = { http2: scheme === 'grpcs', tls: upstreamTls(ssl, proxyHost, family, fromHost) }));
  return t;
}

/**
 * `proxy_ssl_name $host` (or `$http_host`): nginx names the request's host, port stripped.
 * Envoy can do the same from the Host the upstream request carries (auto_sni,
 * auto_san_validation), so only where that Host is the client's (keepsClientHost).
 */
export function namesRequestHost(d: Directive | undefined): boolean {
  const v = value(d);
  return v === '$host' || v === '$http_host';
}

/**
 * A location using `proxy_ssl_name $host` whose upstream Host is not the client's: Envoy's
 * auto_sni would send that other Host, so its cluster sends no SNI and checks no name.
 */
export function markHostNameLost(ssl: SslDirectives, r: Reporter, at: string): void {
  const d = ssl.get('name');
  if (!d || !namesRequestHost(d)) return;
  const sni = value(ssl.get('server_name')) === 'on';
  const verify = value(ssl.get('verify')) === 'on';
  if (!sni && !verify) return;
  r.mark(d, 'unsupported', `at ${at} the upstream Host is not the client's (proxy_set_header Host $host would keep it): Envoy takes the SNI and the name checked from that Host, so this location's cluster sends no SNI and checks no name`);
}

function value(d: Directive | undefined): string | undefined {
  return d?.args[0]?.value;
}

function fixedPath(path: string): boolean {
  return path !== '' && !path.startsWith('data:') && !hasVariables(templateOf(path));
}

/** The TLS settings of an https:// or grpcs:// target (fields in a fixed order: the cluster name hashes them). */
export function upstreamTls(ssl: SslDirectives, proxyHost: string, family: SslFamily = 'proxy', nameFromHost = false): UpstreamTls {
  const tls: UpstreamTls = {};
  const name = sslName(ssl.get('name'), proxyHost, family);
  const sniOn = value(ssl.get('server_name')) === 'on';
  if (sniOn && name !== null && sniAllowed(name)) tls.sni = name;
  if (sniOn && nameFromHost) tls.sniFromHost = true;
  const verify = ssl.get('verify');
  if (value(verify) === 'on') {
    const ca = value(ssl.get('trusted_certificate'));
    // nginx's own words (ngx_http_proxy_set_ssl, ngx_http_grpc_set_ssl)
    if (!ca) throw errorAt(verify!.source, `no ${family}_ssl_trusted_certificate for ${family}_ssl_verify`, 'proxy-ssl-verify');
    const depth = Number(value(ssl.get('verify_depth')) ?? '1');
    tls.verify = { trustedCa: ca, depth: Number.isInteger(depth) && depth >= 0 ? depth : 1 };
    if (name !== null) tls.verify.name = name;
    if (nameFromHost) tls.verify.nameFromHost = true;
    const crl = value(ssl.get('crl'));
    if (crl && fixedPath(crl)) tls.verify.crl = crl;
  }
  const cert = ssl.get('certificate');
  const certPath = value(cert);
  if (cert && certPath) {
    const key = value(ssl.get('certificate_key'));
    if (!key) throw errorAt(cert.source, `no "${family}_ssl_certificate_key" is defined for certificate "${certPath}"`, 'proxy-ssl-certificate');
    // Paths with variables (loaded per request by nginx) or inline data are reported unsupported.
    if (fixedPath(certPath) && fixedPath(key)) tls.certificate = { cert: certPath, key };
  }
  const protocols = ssl.get('protocols');
  if (protocols) tls.protocols = protocols.args.map((a) => a.value);
  const ciphers = value(ssl.get('ciphers'));
  if (ciphers !== undefined) tls.ciphers = ciphers;
  if (value(ssl.get('session_reuse')) === 'off') tls.noSessionReuse = true;
  return tls;
}

/**
 * The name nginx uses for SNI and the certificate check (ngx_http_upstream_ssl_name):
 * <family>_ssl_name, by default the target's host (`$proxy_host` for proxy_pass),
 * with its port stripped. null when it depends on the request (variables; for
 * proxy_pass, $proxy_host is known).
 */
export function sslName(d: Directive | undefined, proxyHost: string, family: SslFamily = 'proxy'): string | null {
  if (!d) return stripPort(proxyHost);
  let name = '';
  for (const p of templateOf(value(d) ?? '').parts) {
    if ('text' in p) name += p.text;
    else if (p.var === 'proxy_host' && family === 'proxy') name += proxyHost;
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

/** Reports every proxy_ssl_* and grpc_ssl_* directive of one level, where it is written. */
export function markSslLevel(level: Level, r: Reporter): void {
  if (!holds(level, FAMILIES.proxy | FAMILIES.grpc)) return; // (most levels: no family array to walk)
  for (const family of ['proxy', 'grpc'] as const) {
    if (!setsSsl(level, family)) continue;
    const ds = level.ds;
    for (let i = 0; i < ds.length; i++) {
      const d = ds[i]!;
      if (DIRECTIVES[family].has(d.name)) {
        const [cls, reason] = sslReason(d, family);
        r.mark(d, cls, reason);
      }
    }
  }
}

const IN_CLUSTER = 'filename in the cluster';

const NO_EFFECT: Record<SslFamily, string> = {
  proxy: 'no effect on the http:// proxy_pass and grpc_pass locations it applies to (nginx applies proxy_ssl_* to proxy_pass https:// only), whose clusters do not get it',
  grpc: 'no effect on the proxy_pass and grpc:// locations it applies to (nginx applies grpc_ssl_* to grpc_pass grpcs:// only), whose clusters do not get it',
};

/** A location whose target does not use the family inherits these: say they do nothing there. */
export function markNoEffect(ssl: SslDirectives, family: SslFamily, r: Reporter): void {
  for (const d of ssl.values()) r.mark(d, 'translated', NO_EFFECT[family]);
}

/**
 * The proxy_ssl and proxy_ssl_* directives of a `stream {}` level, for a server with
 * proxy_ssl `on` or not: the same settings as http's https:// proxy_pass (the name by
 * default is proxy_pass's host), or of no effect.
 */
export function markStreamSslLevel(level: Level, on: boolean, r: Reporter): void {
  for (const d of level.byName.get('proxy_ssl') ?? []) {
    r.mark(d, 'translated', value(d) === 'on'
      ? 'TLS to the upstream: the clusters of this server\'s TCP connections get an UpstreamTlsContext transport socket (after the PROXY header with proxy_protocol on); nginx speaks TLS to TCP upstreams only, not over UDP'
      : 'plain TCP to the upstream (nginx\'s default)');
  }
  if (!setsSsl(level, 'proxy')) return;
  for (const d of level.ds) {
    if (!PROXY_SSL_DIRECTIVES.has(d.name)) continue;
    if (!on) {
      r.mark(d, 'translated', 'no effect without `proxy_ssl on` (plain TCP to the upstream): not emitted');
      continue;
    }
    const [cls, reason] = sslReason(d, 'proxy', false);
    r.mark(d, cls, reason);
  }
}

function sslReason(d: Directive, family: SslFamily, http = true): Mark {
  const v = value(d) ?? '';
  const f = `${family}_ssl`;
  switch (d.name.slice(f.length + 1)) {
    case 'server_name':
      return v === 'on'
        ? ['translated', `UpstreamTlsContext sni: ${f}_name (${family === 'grpc' ? 'the grpc_pass host' : http ? '$proxy_host' : 'the proxy_pass host'} by default) without its port; none for an IP address, as nginx`]
        : ['translated', 'no SNI sent (nginx\'s default; Envoy sends none without `sni`)'];
    case 'name': {
      const name = sslName(d, '$proxy_host', family);
      if (http && family === 'proxy' && namesRequestHost(d)) {
        return [
          'approximated',
          `\`${v}\`: with ${f}_server_name on the SNI and with ${f}_verify on the name checked are the request's host, port stripped (cluster auto_sni / auto_san_validation: the Host Envoy forwards, where the location keeps the client's Host); an HTTP/1.0 request without Host gets ${v === '$host' ? "the server's name" : 'no SNI'} from nginx, Envoy's placeholder host`,
        ];
      }
      if (name === null) return ['unsupported', `\`${v}\` is evaluated per ${http ? 'request' : 'connection'} by nginx: the cluster sends no SNI and checks no name against the certificate`];
      return ['translated', `\`${v}\`: the SNI (with ${f}_server_name on) and the name checked in the certificate (with ${f}_verify on), port stripped`];
    }
    case 'verify':
      return v === 'on'
        ? [
            'approximated',
            `validation_context: trusted_ca, max_verify_depth and the ${f}_name checked against the DNS SANs (match_typed_subject_alt_names exact, wildcard SANs match as in nginx); nginx also accepts the name in the subject CN of a certificate without DNS SANs and needs the chain to reach a self-signed root, Envoy reads SANs only and accepts a chain ending at any CA of trusted_ca`,
          ]
        : ['translated', 'upstream certificates are not verified (nginx\'s default; Envoy verifies nothing without validation_context)'];
    case 'trusted_certificate':
      return pathMark(d, `trusted CAs → validation_context.trusted_ca (used with ${f}_verify on)`, IN_CLUSTER);
    case 'verify_depth': {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) return ['unsupported', `invalid depth \`${v}\``];
      return ['translated', `validation_context.max_verify_depth ${Math.min(n + 1, 100)} (with ${f}_verify on): Envoy counts the trust anchor, OpenSSL does not`];
    }
    case 'crl':
      return pathMark(d, `CRL → validation_context.crl (used with ${f}_verify on; both require a CRL for every CA of the chain)`, IN_CLUSTER);
    case 'certificate':
      return pathMark(d, 'client certificate → UpstreamTlsContext tls_certificates (mTLS to the upstream)', IN_CLUSTER);
    case 'certificate_key':
      return pathMark(d, 'client key → tls_certificates.private_key', IN_CLUSTER);
    case 'protocols':
      return protocolsMark(d);
    case 'ciphers':
      return ciphersMark(v);
    case 'session_reuse':
      return v === 'off'
        ? ['translated', 'max_session_keys 0: no session resumption']
        : ['approximated', 'sessions are resumed (Envoy\'s default, max_session_keys 1); nginx keeps a session per upstream server, Envoy the last one per cluster, so with several servers resumption succeeds less often'];
    case 'password_file':
      return ['unsupported', 'pass phrase file for an encrypted client key: not copied (Envoy takes one pass phrase, tls_certificates.password)'];
    case 'conf_command':
      return ['unsupported', 'OpenSSL configuration commands have no BoringSSL equivalent'];
    default: // proxy_ssl_certificate_cache
      return ['ignored', 'cache of certificates nginx loads per request (paths with variables, not translated): Envoy loads its files once'];
  }
}
