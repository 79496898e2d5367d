// ngx_http_ssl_module → ServerTls: the certificate(s) of a server, protocols,
// ciphers, client-certificate verification, and the report line of every ssl_*
// directive. Certificates are kept as paths: key material never enters the IR
// or the output.
import type { Directive } from '../parse/ast.js';
import type { ReportClass, ServerTls } from '../ir/types.js';
import type { Reporter } from './classify.js';
import { effectiveArray } from './headers.js';
import { effectiveSimple } from './limits.js';
import { hasVariables, type Level, parseTemplate, parseTimeMs, runSet, srcOf } from './util.js';

/** TLS 1.2 suites BoringSSL (Envoy) knows by their OpenSSL name. TLS 1.3 suites are not configurable in Envoy. */
export const BORINGSSL_CIPHERS = new Set([
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-PSK-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-SHA',
  'ECDHE-RSA-AES128-SHA',
  'ECDHE-PSK-AES128-CBC-SHA',
  'ECDHE-ECDSA-AES256-SHA',
  'ECDHE-RSA-AES256-SHA',
  'ECDHE-PSK-AES256-CBC-SHA',
  'AES128-GCM-SHA256',
  'AES256-GCM-SHA384',
  'AES128-SHA',
  'PSK-AES128-CBC-SHA',
  'AES256-SHA',
  'PSK-AES256-CBC-SHA',
  'DES-CBC3-SHA',
]);

const TLS13_SUITES = new Set(['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']);

/** nginx protocol names → Envoy TlsParameters.TlsProtocol, in order. */
export const TLS_VERSIONS: [string, string][] = [
  ['TLSv1', 'TLSv1_0'],
  ['TLSv1.1', 'TLSv1_1'],
  ['TLSv1.2', 'TLSv1_2'],
  ['TLSv1.3', 'TLSv1_3'],
];

/** nginx's default ssl_protocols (1.22): TLSv1 TLSv1.1 TLSv1.2 TLSv1.3. */
const NGINX_DEFAULT_PROTOCOLS = TLS_VERSIONS.map(([n]) => n);

/** The OpenSSL cipher string split into suites Envoy can take, and the rest. */
export function splitCiphers(spec: string): { suites: string[]; rest: string[] } {
  const suites: string[] = [];
  const rest: string[] = [];
  for (const item of spec.split(/[:, ]+/).filter((s) => s !== '')) {
    if (BORINGSSL_CIPHERS.has(item)) suites.push(item);
    else if (!TLS13_SUITES.has(item)) rest.push(item);
  }
  return { suites, rest };
}

/** OpenSSL curve names → BoringSSL's (Envoy ecdh_curves). */
const CURVES: Record<string, string> = { X25519: 'X25519', prime256v1: 'P-256', 'P-256': 'P-256', secp256r1: 'P-256', secp384r1: 'P-384', 'P-384': 'P-384', secp521r1: 'P-521', 'P-521': 'P-521' };

export function splitCurves(spec: string): { curves: string[]; rest: string[] } {
  const curves: string[] = [];
  const rest: string[] = [];
  for (const c of spec.split(':').filter((x) => x !== '')) {
    const b = CURVES[c];
    if (b && !curves.includes(b)) curves.push(b);
    else if (!b) rest.push(c);
  }
  return { curves, rest };
}

/** Protocol versions nginx allows → the contiguous range Envoy can express. */
export function protocolRange(protocols: string[]): { min: string; max: string; gap: boolean; dropped: string[] } | null {
  const idx = protocols.map((p) => TLS_VERSIONS.findIndex(([n]) => n === p)).filter((i) => i >= 0).sort();
  const dropped = protocols.filter((p) => !TLS_VERSIONS.some(([n]) => n === p));
  if (idx.length === 0) return null;
  const lo = idx[0]!;
  const hi = idx[idx.length - 1]!;
  return { min: TLS_VERSIONS[lo]![1], max: TLS_VERSIONS[hi]![1], gap: hi - lo + 1 !== new Set(idx).size, dropped };
}

/** The server's effective TLS settings (http-level ones inherited); undefined without a certificate. */
export function lowerServerTls(levels: Level[], r: Reporter): ServerTls | undefined {
  for (const level of levels) markTlsLevel(level.ds, r);
  const reject = effectiveSimple(levels, 'ssl_reject_handshake')?.args[0]?.value === 'on';
  const certs = effectiveArray(levels, 'ssl_certificate');
  const keys = effectiveArray(levels, 'ssl_certificate_key');
  if (certs.length === 0 && !reject) return undefined;
  // A path with variables (or inline data:) is loaded per handshake by nginx: not emitted (reported unsupported).
  const fixed = (v: string): boolean => v !== '' && !v.startsWith('data:') && !hasVariables(parseTemplate(v));
  const pairs = certs.map((c, i) => ({ cert: c.args[0]?.value ?? '', key: keys[i]?.args[0]?.value ?? '', source: srcOf(c) }));
  const tls: ServerTls = { certificates: pairs.filter((p) => fixed(p.cert) && fixed(p.key)) };
  if (tls.certificates.length === 0 && !reject) return undefined;
  if (reject) tls.rejectHandshake = true;
  const protocols = effectiveSimple(levels, 'ssl_protocols');
  if (protocols) tls.protocols = protocols.args.map((a) => a.value);
  const ciphers = effectiveSimple(levels, 'ssl_ciphers');
  if (ciphers) tls.ciphers = ciphers.args[0]?.value ?? '';
  const prefer = effectiveSimple(levels, 'ssl_prefer_server_ciphers');
  if (prefer) tls.preferServerCiphers = prefer.args[0]?.value === 'on';
  const timeout = effectiveSimple(levels, 'ssl_session_timeout');
  const timeoutMs = timeout ? parseTimeMs(timeout.args[0]?.value ?? '') : null;
  if (timeoutMs !== null) tls.sessionTimeoutMs = timeoutMs;
  const tickets = effectiveSimple(levels, 'ssl_session_tickets');
  if (tickets) tls.sessionTickets = tickets.args[0]?.value === 'on';
  if (effectiveSimple(levels, 'ssl_session_cache')?.args[0]?.value === 'off') tls.sessionCacheOff = true;
  const curves = effectiveSimple(levels, 'ssl_ecdh_curve')?.args[0]?.value;
  if (curves && curves !== 'auto') tls.ecdhCurves = curves.split(':');
  const verify = effectiveSimple(levels, 'ssl_verify_client');
  if (verify) tls.verifyClient = (verify.args[0]?.value ?? 'off') as NonNullable<ServerTls['verifyClient']>;
  const depth = effectiveSimple(levels, 'ssl_verify_depth');
  if (depth) tls.verifyDepth = Number(depth.args[0]?.value ?? '1');
  const ca = effectiveSimple(levels, 'ssl_client_certificate');
  if (ca) tls.clientCa = ca.args[0]?.value ?? '';
  const crl = effectiveSimple(levels, 'ssl_crl')?.args[0]?.value;
  if (crl) tls.crl = crl;
  const trusted = effectiveSimple(levels, 'ssl_trusted_certificate');
  if (trusted) tls.trustedCa = trusted.args[0]?.value ?? '';
  if (ca && trusted && tls.verifyClient && tls.verifyClient !== 'off') {
    // nginx verifies against both files; Envoy's validation context takes one trusted_ca.
    r.mark(trusted, 'approximated', 'with ssl_client_certificate also set, Envoy\'s trusted_ca is the ssl_client_certificate file only: client chains ending at a CA found only in this file are refused (nginx accepts them)');
  }
  return tls;
}

// Levels already reported, per reporter: a directive's TLS mark depends on it alone,
// so a second pass over a level (the http level, once per server) changes nothing.
const tlsMarkedLevels = runSet<Directive[]>();

/** Report every ssl_* directive of one level (http or server), where it is written. */
export function markTlsLevel(ds: Directive[], r: Reporter): void {
  if (tlsMarkedLevels.has(ds)) return;
  tlsMarkedLevels.add(ds);
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    if (!d.name.startsWith('ssl') || r.isMarked(d)) continue; // every name tlsReason knows starts with ssl
    const reason = tlsReason(d);
    if (reason) r.mark(d, reason[0], reason[1]);
  }
}

export type Mark = [ReportClass, string];

/** ssl_protocols / proxy_ssl_protocols → tls_minimum/maximum_protocol_version. */
export function protocolsMark(d: Directive): Mark {
  const range = protocolRange(d.args.map((a) => a.value));
  if (!range) return ['unsupported', 'no protocol Envoy supports (SSLv2/SSLv3 are not available): Envoy\'s defaults apply'];
  const notes: string[] = [`tls_minimum_protocol_version ${range.min}, tls_maximum_protocol_version ${range.max}`];
  if (range.dropped.length) notes.push(`${range.dropped.join(', ')} not available in Envoy`);
  if (range.gap) notes.push('Envoy allows a contiguous range: versions between the lowest and highest listed are allowed too');
  if (range.min === 'TLSv1_0' || range.min === 'TLSv1_1') notes.push('TLS < 1.2 needs CBC suites, which Envoy\'s default cipher_suites do not include');
  return [range.dropped.length || range.gap ? 'approximated' : 'translated', notes.join('; ')];
}

/** ssl_ciphers / proxy_ssl_ciphers → tls_params.cipher_suites. */
export function ciphersMark(v: string): Mark {
  const { suites, rest } = splitCiphers(v);
  if (suites.length === 0) return ['approximated', `OpenSSL cipher rule string \`${v}\` has no BoringSSL list form: Envoy's default cipher suites are kept (ECDHE with AES-GCM/CHACHA20, then AES-CBC)`];
  if (rest.length) return ['approximated', `tls_params.cipher_suites (${suites.length} suites); ${rest.join(', ')} not available in BoringSSL and left out`];
  return ['translated', `tls_params.cipher_suites (${suites.length} suites, in nginx's order)`];
}

export function pathMark(d: Directive, what: string, where = 'filename in the static bootstrap, an SDS Secret in xDS mode'): Mark {
  const path = d.args[0]?.value ?? '';
  if (hasVariables(parseTemplate(path))) return ['unsupported', `${what} path with variables (\`${path}\`, loaded per handshake by nginx): Envoy needs a fixed file`];
  if (path.startsWith('data:')) return ['unsupported', `${what} given inline (\`data:\`): not copied into the output; put it in a file`];
  if (!path.startsWith('/')) return ['approximated', `${what} (file reference \`${path}\`): relative paths are kept as written; nginx resolves them against its configuration directory, Envoy against its working directory`];
  return ['translated', `${what}: file reference (${where}); key material is never copied`];
}

function tlsReason(d: Directive): Mark | null {
  const v = d.args[0]?.value ?? '';
  switch (d.name) {
    case 'ssl_certificate':
      return pathMark(d, 'certificate chain → DownstreamTlsContext tls_certificates');
    case 'ssl_certificate_key':
      return pathMark(d, 'private key → tls_certificates.private_key');
    case 'ssl_protocols':
      return protocolsMark(d);
    case 'ssl_ciphers':
      return ciphersMark(v);
    case 'ssl_prefer_server_ciphers':
      return v === 'on' ? ['translated', 'Envoy (BoringSSL) always uses the server\'s cipher order'] : ['approximated', 'Envoy always prefers the server\'s cipher order; nginx with `off` follows the client\'s'];
    case 'ssl_session_timeout':
      return ['translated', 'DownstreamTlsContext session_timeout'];
    case 'ssl_session_tickets':
      return v === 'off' ? ['translated', 'disable_stateless_session_resumption'] : ['translated', 'session tickets on (Envoy\'s default; keys rotate per Envoy process)'];
    case 'ssl_session_cache':
      if (v === 'off') return ['translated', 'disable_stateful_session_resumption'];
      if (v === 'none') return ['approximated', 'nginx `none` stores no session (resumption by cache never succeeds); Envoy keeps its own cache'];
      return ['approximated', 'Envoy keeps BoringSSL\'s in-process session cache (size not configurable; nginx\'s shared cache spans workers)'];
    case 'ssl_session_ticket_key':
      return ['approximated', 'ticket keys are not copied: Envoy generates its own (session_ticket_keys could name the file)'];
    case 'ssl_stapling':
    case 'ssl_stapling_verify':
    case 'ssl_stapling_file':
    case 'ssl_stapling_responder':
      return ['approximated', 'OCSP stapling: Envoy staples only a pre-fetched response (ocsp_staple) and does not fetch one; clients query the responder themselves'];
    case 'ssl_dhparam':
      return ['approximated', 'DHE suites do not exist in BoringSSL (Envoy): the parameters are unused, ECDHE is used'];
    case 'ssl_ecdh_curve': {
      if (v === 'auto') return ['translated', 'Envoy\'s default curves'];
      const { curves, rest } = splitCurves(v);
      if (curves.length === 0) return ['approximated', `no curve BoringSSL knows in \`${v}\`: Envoy's default curves are used`];
      return [rest.length ? 'approximated' : 'translated', ['tls_params.ecdh_curves (the default server\'s list applies to the port, as in nginx)', ...(rest.length ? [`${rest.join(', ')} left out (not in BoringSSL)`] : [])].join('; ')];
    }
    case 'ssl_verify_client':
      if (v === 'on') return ['approximated', 'validation_context + require_client_certificate; nginx answers 421 when the Host names another server than the SNI did, Envoy routes by Host'];
      if (v === 'optional') return ['approximated', 'validation_context without require_client_certificate: a bad client certificate fails the handshake in Envoy, nginx answers 400; nginx answers 421 when the Host names another server than the SNI did'];
      if (v === 'optional_no_ca') return ['approximated', 'trust_chain_verification ACCEPT_UNTRUSTED: a certificate is requested and not verified; nginx passes the verification result in $ssl_client_verify, Envoy does not'];
      return ['translated', 'no client certificate requested'];
    case 'ssl_verify_depth':
      return ['translated', 'validation_context.max_verify_depth, one more than nginx\'s (Envoy counts the trust anchor, OpenSSL does not)'];
    case 'ssl_client_certificate':
      return pathMark(d, 'client CA → validation_context.trusted_ca');
    case 'ssl_trusted_certificate':
      return pathMark(d, 'trusted CA → validation_context.trusted_ca');
    case 'ssl_crl':
      return pathMark(d, 'CRL → validation_context.crl');
    case 'ssl_reject_handshake':
      return v === 'on' ? ['translated', 'no filter chain for this server: Envoy closes the connection when no chain matches'] : ['translated', 'default'];
    case 'ssl_password_file':
      return ['unsupported', 'encrypted private keys: the pass phrase file is not copied (Envoy takes tls_certificates.password)'];
    case 'ssl_early_data':
      return v === 'on' ? ['unsupported', 'TLS 1.3 early data is not enabled for Envoy listeners'] : ['translated', 'default (off)'];
    case 'ssl_conf_command':
      return ['unsupported', 'OpenSSL configuration commands have no BoringSSL equivalent'];
    case 'ssl_buffer_size':
      return ['ignored', 'TLS record size tuning'];
    case 'ssl':
      return ['translated', 'TLS on this server\'s listeners'];
    default:
      return null;
  }
}

export { NGINX_DEFAULT_PROTOCOLS };
