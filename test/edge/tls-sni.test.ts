// TLS termination with several certificates on one port (fixtures/40-tls-sni):
// the evaluator follows SNI to a filter chain (its certificate) and Host to a
// virtual host, independently, as nginx does.
import { describe, expect, test } from 'vitest';
import { evaluator } from '../../src/sim/envoy/index.js';
import { chosenCert, chosenTls, compileFixture, compileText, listenerNamed, reportLines } from './support.js';

const r = compileFixture('40-tls-sni');
const ev = evaluator(r.bootstrap);
const cert = (name: string): string => `/etc/ssl/${name}/fullchain.pem`;

function tls(sni: string, host: string, path = '/') {
  const d = ev({ port: 443, sni, host, path, transport: 'tls' });
  return { d, cert: chosenCert(r.bootstrap, d) };
}

describe('SNI filter chains', () => {
  test('the TLS listener inspects SNI and every chain carries the same route table', () => {
    const l = listenerNamed(r.bootstrap, 'listener_0.0.0.0_443');
    expect(l.listener_filters.map((f: any) => f.name)).toEqual(['envoy.filters.listener.tls_inspector']);
    const tables = l.filter_chains.map((c: any) => JSON.stringify(c.filters));
    expect(new Set(tables).size).toBe(1);
    expect(l.filter_chains[0].filter_chain_match).toBeUndefined();
  });

  test.each([
    ['a.test', 'a.test', cert('a.test'), 'route'],
    ['www.a.test', 'www.a.test', cert('a.test'), 'route'],
    ['x.api.a.test', 'x.api.a.test', cert('a.test'), 'route'],
    ['b.test', 'b.test', cert('b.test'), 'direct_response'],
    ['deep.sub.b.test', 'deep.sub.b.test', cert('b.test'), 'direct_response'],
    ['mtls.test', 'mtls.test', cert('mtls.test'), 'direct_response'],
    ['unknown.test', 'unknown.test', cert('default.test'), 'direct_response'],
    ['default.test', 'default.test', cert('default.test'), 'direct_response'],
  ])('SNI %s, Host %s → %s', (sni, host, file, kind) => {
    const { d, cert: got } = tls(sni, host);
    expect(got).toBe(file);
    expect(d.kind).toBe(kind);
  });

  test('Host decides the server when it differs from SNI (nginx routes by Host)', () => {
    const a = tls('a.test', 'b.test');
    expect(a.cert).toBe(cert('a.test'));
    expect(a.d.body).toBe('b');
    const b = tls('b.test', 'x.api.a.test');
    expect(b.cert).toBe(cert('b.test'));
    expect(b.d.cluster).toBe('127.0.0.1_8002');
    const none = ev({ port: 443, host: 'www.a.test', path: '/', transport: 'tls' });
    expect(chosenCert(r.bootstrap, none)).toBe(cert('default.test'));
    expect(none.cluster).toBe('127.0.0.1_8001');
  });

  test('a trailing-wildcard name cannot be matched on SNI: default certificate, reported; its Host still routes', () => {
    const c = tls('www.c.org', 'www.c.org');
    expect(c.cert).toBe(cert('default.test'));
    expect(c.d.body).toBe('c');
    expect(reportLines(r, 'server_name').some((e) => e.class === 'approximated' && /www\.c\.\*/.test(e.reason))).toBe(true);
  });

  test('client certificates are required on the mTLS server only', () => {
    const m = chosenTls(r.bootstrap, tls('mtls.test', 'mtls.test').d);
    expect(m.require_client_certificate).toBe(true);
    expect(m.common_tls_context.validation_context).toEqual({ trusted_ca: { filename: '/etc/ssl/clients-ca.pem' }, max_verify_depth: 3 }); // ssl_verify_depth 2: Envoy counts the anchor too
    const a = chosenTls(r.bootstrap, tls('a.test', 'a.test').d);
    expect(a.require_client_certificate).toBeUndefined();
    expect(a.common_tls_context.validation_context).toBeUndefined();
  });

  test('protocols, ciphers and session settings from http level reach every chain', () => {
    const a = chosenTls(r.bootstrap, tls('a.test', 'a.test').d);
    expect(a.common_tls_context.tls_params).toEqual({
      tls_minimum_protocol_version: 'TLSv1_2',
      tls_maximum_protocol_version: 'TLSv1_3',
      cipher_suites: ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384'],
    });
    expect(a.session_timeout).toBe('86400s');
    expect(a.disable_stateless_session_resumption).toBe(true);
  });

  test('private keys are referenced by path, never inlined', () => {
    const text = JSON.stringify(r.bootstrap);
    expect(text).not.toMatch(/inline_(string|bytes)"?:\s*"?-----BEGIN/);
    expect(text).toContain('"private_key":{"filename":"/etc/ssl/a.test/privkey.pem"}');
  });
});

describe('TLS settings', () => {
  const base = (extra: string, server = '') => `events {}
http {
  ${extra}
  server { listen 443 ssl; server_name a.test; ssl_certificate /c/a.pem; ssl_certificate_key /c/a.key; ${server} return 200; }
}`;

  test('an OpenSSL rule string keeps Envoy\'s default suites and is reported', () => {
    const x = compileText(base('ssl_ciphers HIGH:!aNULL:!MD5;'));
    const ctx = listenerNamed(x.bootstrap, 'listener_0.0.0.0_443').filter_chains[0].transport_socket.typed_config;
    expect(ctx.common_tls_context.tls_params).toBeUndefined();
    expect(reportLines(x, 'ssl_ciphers')[0]!.class).toBe('approximated');
  });

  test('DHE suites are left out of a list (BoringSSL has none), reported', () => {
    const x = compileText(base('ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256;'));
    const ctx = listenerNamed(x.bootstrap, 'listener_0.0.0.0_443').filter_chains[0].transport_socket.typed_config;
    expect(ctx.common_tls_context.tls_params.cipher_suites).toEqual(['ECDHE-RSA-AES128-GCM-SHA256']);
    expect(reportLines(x, 'ssl_ciphers')[0]).toMatchObject({ class: 'approximated' });
  });

  test('ssl_verify_client optional_no_ca accepts untrusted chains; optional does not require a certificate', () => {
    const x = compileText(base('', 'ssl_client_certificate /c/ca.pem; ssl_verify_client optional_no_ca;'));
    const ctx = listenerNamed(x.bootstrap, 'listener_0.0.0.0_443').filter_chains[0].transport_socket.typed_config;
    expect(ctx.common_tls_context.validation_context).toEqual({ trusted_ca: { filename: '/c/ca.pem' }, trust_chain_verification: 'ACCEPT_UNTRUSTED', max_verify_depth: 2 });
    expect(ctx.require_client_certificate).toBeUndefined();
    const y = compileText(base('', 'ssl_client_certificate /c/ca.pem; ssl_verify_client optional;'));
    const cy = listenerNamed(y.bootstrap, 'listener_0.0.0.0_443').filter_chains[0].transport_socket.typed_config;
    expect(cy.require_client_certificate).toBeUndefined();
    expect(cy.common_tls_context.validation_context.trusted_ca.filename).toBe('/c/ca.pem');
  });

  test('ssl_protocols with a gap becomes the enclosing range, reported', () => {
    const x = compileText(base('ssl_protocols TLSv1 TLSv1.2;'));
    const ctx = listenerNamed(x.bootstrap, 'listener_0.0.0.0_443').filter_chains[0].transport_socket.typed_config;
    expect(ctx.common_tls_context.tls_params).toMatchObject({ tls_minimum_protocol_version: 'TLSv1_0', tls_maximum_protocol_version: 'TLSv1_2' });
    expect(reportLines(x, 'ssl_protocols')[0]!.class).toBe('approximated');
  });

  test('ssl_ecdh_curve with OpenSSL names → BoringSSL ecdh_curves; unknown curves are left out and reported', () => {
    const x = compileText(base('ssl_ecdh_curve X25519:prime256v1:secp384r1:brainpoolP512r1;'));
    const ctx = listenerNamed(x.bootstrap, 'listener_0.0.0.0_443').filter_chains[0].transport_socket.typed_config;
    expect(ctx.common_tls_context.tls_params.ecdh_curves).toEqual(['X25519', 'P-256', 'P-384']);
    expect(reportLines(x, 'ssl_ecdh_curve')[0]).toMatchObject({ class: 'approximated' });
  });

  test('a default server that rejects the handshake gets no chain without SNI', () => {
    const x = compileText(`events {}
http {
  server { listen 443 ssl default_server; ssl_reject_handshake on; }
  server { listen 443 ssl; server_name a.test; ssl_certificate /c/a.pem; ssl_certificate_key /c/a.key; return 200 "a"; }
}`);
    const chains = listenerNamed(x.bootstrap, 'listener_0.0.0.0_443').filter_chains;
    expect(chains.map((c: any) => c.filter_chain_match?.server_names ?? null)).toEqual([['a.test']]);
    const ev2 = evaluator(x.bootstrap);
    expect(ev2({ port: 443, sni: 'other.test', host: 'other.test', path: '/', transport: 'tls' }).kind).toBe('no_filter_chain');
    expect(ev2({ port: 443, sni: 'a.test', host: 'a.test', path: '/', transport: 'tls' }).body).toBe('a');
  });
});

describe('paths nginx resolves per request', () => {
  test('a certificate path with variables is reported and never copied into the output', () => {
    const x = compileText(`events {}
http {
  server { listen 443 ssl default_server; server_name d.test; ssl_certificate /c/d.pem; ssl_certificate_key /c/d.key; return 200; }
  server { listen 443 ssl; server_name v.test; ssl_certificate /c/$ssl_server_name.pem; ssl_certificate_key /c/$ssl_server_name.key; return 200; }
}`);
    expect(JSON.stringify(x.bootstrap)).not.toContain('$ssl_server_name');
    expect(reportLines(x, 'ssl_certificate').find((e) => e.line === 4)!.class).toBe('unsupported');
    const ev2 = evaluator(x.bootstrap);
    const d = ev2({ port: 443, sni: 'v.test', host: 'v.test', path: '/', transport: 'tls' });
    expect(chosenCert(x.bootstrap, d)).toBe('/c/d.pem');
  });
});

test('ssl_trusted_certificate beside ssl_client_certificate: one trusted_ca in Envoy, reported', () => {
  const x = compileText(`events {}
http {
  server { listen 443 ssl; server_name a.test; ssl_certificate /c/a.pem; ssl_certificate_key /c/a.key;
    ssl_client_certificate /c/ca.pem; ssl_trusted_certificate /c/more-ca.pem; ssl_crl /c/revoked.pem; ssl_verify_client on; return 200; }
}`);
  const ctx = listenerNamed(x.bootstrap, 'listener_0.0.0.0_443').filter_chains[0].transport_socket.typed_config;
  expect(ctx.common_tls_context.validation_context.trusted_ca).toEqual({ filename: '/c/ca.pem' });
  expect(ctx.common_tls_context.validation_context.crl).toEqual({ filename: '/c/revoked.pem' });
  expect(reportLines(x, 'ssl_trusted_certificate')[0]!.class).toBe('approximated');
  expect(reportLines(x, 'ssl_crl')[0]!.class).toBe('translated');
  const y = compileText(`events {}
http {
  server { listen 443 ssl; server_name a.test; ssl_certificate /c/a.pem; ssl_certificate_key /c/a.key;
    ssl_trusted_certificate /c/more-ca.pem; ssl_verify_client optional_no_ca; return 200; }
}`);
  const cy = listenerNamed(y.bootstrap, 'listener_0.0.0.0_443').filter_chains[0].transport_socket.typed_config;
  expect(cy.common_tls_context.validation_context.trusted_ca).toEqual({ filename: '/c/more-ca.pem' });
  expect(reportLines(y, 'ssl_trusted_certificate')[0]!.class).toBe('translated');
});
