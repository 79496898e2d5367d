// Helpers for the edge tests: compile a fixture or a config text, and read what
// the evaluator's chosen filter chain presents (certificate file, client verification).
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { compile, type CompileResult } from '../../src/compile.js';
import { validateBootstrap, formatFindings, hasErrors } from '../../src/validate/index.js';
import type { EnvoyDecision } from '../../src/sim/envoy/index.js';

export const FIXTURES = resolve(import.meta.dirname, '../../fixtures');

/** Compile fixtures/<name>/nginx.conf; the bootstrap must validate. */
export function compileFixture(name: string): CompileResult {
  return checked(compile(join(FIXTURES, name, 'nginx.conf'), {}));
}

/** Compile an nginx.conf given as text (written to a temp dir). */
export function compileText(text: string): CompileResult {
  const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-edge-'));
  try {
    writeFileSync(join(dir, 'nginx.conf'), text);
    return checked(compile(join(dir, 'nginx.conf'), {}));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function checked(r: CompileResult): CompileResult {
  expect(r.ok, r.diagnostics.map((d) => d.message).join('\n')).toBe(true);
  const findings = validateBootstrap(r.bootstrap);
  expect(hasErrors(findings), formatFindings(findings)).toBe(false);
  return r;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export function listenerNamed(bootstrap: Json, name: string): Json {
  return bootstrap.static_resources.listeners.find((l: Json) => l.name === name);
}

/** The DownstreamTlsContext of the chain the evaluator chose, or null. */
export function chosenTls(bootstrap: Json, d: EnvoyDecision): Json | null {
  const l = listenerNamed(bootstrap, d.listener ?? '');
  const chain = l?.filter_chains.find((c: Json) => c.name === d.filterChain);
  return chain?.transport_socket?.typed_config ?? null;
}

/** The certificate file the chosen chain presents first. */
export function chosenCert(bootstrap: Json, d: EnvoyDecision): string | null {
  return chosenTls(bootstrap, d)?.common_tls_context?.tls_certificates?.[0]?.certificate_chain?.filename ?? null;
}

export function hcmOf(bootstrap: Json, listener: string, chain = 0): Json {
  return listenerNamed(bootstrap, listener).filter_chains[chain].filters[0].typed_config;
}

export function reportLines(r: CompileResult, directive: string): { class: string; reason: string; line: number }[] {
  return [...r.report.directives, ...r.report.notes].filter((e) => e.directive === directive);
}
