// xDS mode: the static bootstrap's listener TLS contexts become SDS Secrets
// (file references only) that the contexts name; the set validates.
import { describe, expect, test } from 'vitest';
import { join, resolve } from 'node:path';
import { compile } from '../../src/compile.js';
import { toXdsResources } from '../../src/emit/envoy/xds.js';
import { validateXdsResources, hasErrors, formatFindings } from '../../src/validate/index.js';

const FIXTURES = resolve(import.meta.dirname, '../../fixtures');

function xdsOf(name: string) {
  const r = compile(join(FIXTURES, name, 'nginx.conf'), {});
  expect(r.ok).toBe(true);
  return toXdsResources(r.bootstrap);
}

describe('TLS contexts → SDS secrets', () => {
  const res = xdsOf('40-tls-sni');

  test('one Secret per certificate file pair and per client CA, shared by equal contexts', () => {
    const names = res.secrets.map((s) => s['name']);
    expect(names).toEqual([
      'tls_certificate:/etc/ssl/default.test/fullchain.pem',
      'tls_certificate:/etc/ssl/a.test/fullchain.pem',
      'tls_certificate:/etc/ssl/b.test/fullchain.pem',
      'tls_certificate:/etc/ssl/mtls.test/fullchain.pem',
      'validation_context:/etc/ssl/clients-ca.pem',
    ]);
    expect(res.secrets[1]).toEqual({
      tls_certificate: { certificate_chain: { filename: '/etc/ssl/a.test/fullchain.pem' }, private_key: { filename: '/etc/ssl/a.test/privkey.pem' } },
      name: 'tls_certificate:/etc/ssl/a.test/fullchain.pem',
    });
    expect(res.secrets[4]).toMatchObject({ validation_context: { trusted_ca: { filename: '/etc/ssl/clients-ca.pem' }, max_verify_depth: 3 } });
  });

  test('listeners reference the secrets over ADS and carry no certificate or key themselves', () => {
    const text = JSON.stringify(res.listeners);
    expect(text).not.toContain('private_key');
    expect(text).not.toContain('"tls_certificates"');
    const chains = res.listeners.flatMap((l: any) => l.filter_chains);
    const refs = chains.filter((c: any) => c.transport_socket).map((c: any) => c.transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0]);
    expect(refs.length).toBe(5);
    for (const ref of refs) expect(ref.sds_config).toEqual({ ads: {}, resource_api_version: 'V3' });
    const mtls = chains.find((c: any) => c.filter_chain_match?.server_names?.includes('mtls.test'));
    expect(mtls.transport_socket.typed_config.common_tls_context.validation_context_sds_secret_config.name).toBe('validation_context:/etc/ssl/clients-ca.pem');
    expect(mtls.transport_socket.typed_config.require_client_certificate).toBe(true);
  });

  test('the xDS resource set validates (secret references resolve)', () => {
    const findings = validateXdsResources(res);
    expect(hasErrors(findings), formatFindings(findings)).toBe(false);
  });

  test('deterministic: the same input gives the same secrets', () => {
    expect(JSON.stringify(xdsOf('40-tls-sni').secrets)).toBe(JSON.stringify(res.secrets));
  });
});
