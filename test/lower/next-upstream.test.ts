// proxy_next_upstream* / grpc_next_upstream* lowering: nginx's inheritance (each
// directive on its own, a level setting one replaces the parent's), its errors at
// file:line:col, `off`, the plan Envoy's policy is made from, and the report lines.
import { describe, expect, test } from 'vitest';
import { compile, type CompileResult } from '../../src/compile.js';
import { compileText, reportLines } from '../edge/support.js';
import { planRetry, DEFAULT_RETRY } from '../../src/lower/next-upstream.js';
import type { BackendServer, Location, ProxyAction, UpstreamRetry } from '../../src/ir/types.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function http(body: string, top = ''): string {
  return `events {}\nhttp {\n upstream up { server 10.0.0.1; server 10.0.0.2; server 10.0.0.3 backup; }\n upstream g { server 10.0.1.1:50051; server 10.0.1.2:50051; }\n${top}\n server {\n  listen 8080;\n${body}\n }\n}\n`;
}

function locations(r: CompileResult): Map<string, Location> {
  const out = new Map<string, Location>();
  const add = (l: Location): void => {
    out.set(l.pattern, l);
    l.children.forEach(add);
  };
  r.ir!.servers[0]!.locations.forEach(add);
  return out;
}

const retryOf = (r: CompileResult, pattern: string): UpstreamRetry => (locations(r).get(pattern)!.action as ProxyAction).retry!;

/** Compile text that may fail; the first error's position and message. */
function errorOf(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ngx2envoy-retry-'));
  try {
    writeFileSync(join(dir, 'nginx.conf'), text);
    const r = compile(join(dir, 'nginx.conf'), {});
    expect(r.ok).toBe(false);
    const d = r.diagnostics.find((x) => x.severity === 'error')!;
    return `${d.source.line}:${d.source.col} ${d.message}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const server = (addr: string, extra: Partial<BackendServer> = {}): BackendServer => {
  const [host, port] = addr.split(':');
  return { host: host!, port: Number(port ?? 80), unix: false, weight: 1, maxFails: 1, failTimeoutMs: 10000, backup: false, down: false, source: { file: 'x', line: 1, col: 1 }, ...extra };
};

describe('proxy_next_upstream lowering', () => {
  test('inheritance: each directive on its own, the innermost wins, nested locations inherit', () => {
    const r = compileText(
      http(
        `  proxy_next_upstream error http_502 non_idempotent;
  location /a/ { proxy_pass http://up; }
  location /b/ { proxy_next_upstream_tries 2; proxy_pass http://up; location /b/c/ { proxy_pass http://up; proxy_next_upstream off; } }
  location /d/ { proxy_pass http://up; proxy_next_upstream timeout; }`,
        ' proxy_next_upstream_timeout 3s;',
      ),
    );
    expect(retryOf(r, '/a/')).toMatchObject({ conditions: ['error', 'http_502', 'non_idempotent'], tries: 0, timeoutMs: 3000 });
    expect(retryOf(r, '/b/')).toMatchObject({ conditions: ['error', 'http_502', 'non_idempotent'], tries: 2, timeoutMs: 3000 });
    expect(retryOf(r, '/b/c/')).toMatchObject({ conditions: [], tries: 2, timeoutMs: 3000 });
    expect(retryOf(r, '/d/')).toMatchObject({ conditions: ['timeout'], tries: 0 });
  });

  test('nginx\'s default where nothing is set; `off` wins over what is listed with it; grpc_pass reads grpc_next_upstream', () => {
    const r = compileText(
      http(`  proxy_next_upstream http_503 non_idempotent;
  location /p/ { proxy_pass http://up; }
  location /o/ { proxy_pass http://up; proxy_next_upstream error off; }
  location /g/ { grpc_pass grpc://g; }
  location /h/ { grpc_pass grpc://g; grpc_next_upstream error http_500 non_idempotent; grpc_next_upstream_tries 1; }`),
    );
    expect(retryOf(r, '/p/').conditions).toEqual(['http_503', 'non_idempotent']);
    expect(retryOf(r, '/o/').conditions).toEqual([]);
    // proxy_next_upstream does not apply to grpc_pass
    expect(retryOf(r, '/g/')).toBe(DEFAULT_RETRY);
    expect(retryOf(r, '/h/')).toMatchObject({ conditions: ['error', 'http_500', 'non_idempotent'], tries: 1 });
  });

  test('nginx\'s errors, at the offending text', () => {
    expect(errorOf(http('  location / { proxy_pass http://up; proxy_next_upstream error bogus; }'))).toBe('8:64 invalid value "bogus"');
    expect(errorOf(http('  location / { proxy_pass http://up; proxy_next_upstream_tries -1; }'))).toBe('8:38 "proxy_next_upstream_tries" directive invalid number');
    expect(errorOf(http('  location / { proxy_pass http://up; proxy_next_upstream_timeout soon; }'))).toBe('8:38 "proxy_next_upstream_timeout" directive invalid value');
    // an unused level is checked too, as nginx reads every directive
    expect(errorOf(http('  location / { grpc_next_upstream http_418; }'))).toBe('8:35 invalid value "http_418"');
  });

  test('the plan: servers not down, backups, tries, DNS names, what Envoy retries on', () => {
    const two = [server('10.0.0.1'), server('10.0.0.2'), server('10.0.0.3', { down: true }), server('10.0.0.9', { backup: true })];
    expect(planRetry(DEFAULT_RETRY, two)).toEqual({ retryOn: ['connect-failure'], statusCodes: [], numRetries: 2, primaries: 2, backups: 1, hostSelectionAttempts: 3 });
    expect(planRetry({ ...DEFAULT_RETRY, tries: 2 }, two)!.numRetries).toBe(1);
    expect(planRetry({ ...DEFAULT_RETRY, tries: 1 }, two)).toBeNull();
    expect(planRetry({ conditions: [], tries: 0, timeoutMs: 0 }, two)).toBeNull();
    // one server: nothing to retry on (nginx answers 502 at once)
    expect(planRetry(DEFAULT_RETRY, [server('10.0.0.1'), server('10.0.0.2', { down: true })])).toBeNull();
    // a name: counted as its IPv4 and IPv6 address
    expect(planRetry(DEFAULT_RETRY, [server('localhost:3000')])!.numRetries).toBe(1);
    // statuses and resets only where nginx resends any method
    expect(planRetry({ conditions: ['error', 'http_502', 'http_500'], tries: 0, timeoutMs: 0 }, two)!.retryOn).toEqual(['connect-failure']);
    expect(planRetry({ conditions: ['error', 'http_502', 'http_500', 'non_idempotent'], tries: 0, timeoutMs: 0 }, two)).toMatchObject({ retryOn: ['connect-failure', 'reset', 'retriable-status-codes'], statusCodes: [500, 502] });
    // only statuses, not retried by Envoy without non_idempotent: no policy
    expect(planRetry({ conditions: ['http_502'], tries: 0, timeoutMs: 0 }, two)).toBeNull();
  });

  test('the report: explicit directives by what Envoy keeps, the default as a note per backend', () => {
    const r = compileText(
      http(`  location /a/ { proxy_pass http://up; proxy_next_upstream error timeout http_502; proxy_next_upstream_tries 2; proxy_next_upstream_timeout 5s; }
  location /b/ { proxy_pass http://up; proxy_next_upstream error timeout http_502 non_idempotent; proxy_next_upstream_timeout 0; }
  location /c/ { proxy_pass http://up; proxy_next_upstream off; }
  location /d/ { proxy_pass http://up; }
  location /e/ { proxy_pass http://10.9.9.9:80; }`),
    );
    const next = reportLines(r, 'proxy_next_upstream');
    expect(next.map((e) => e.class)).toEqual(['unsupported', 'approximated', 'translated']);
    expect(next[0]!.reason).toMatch(/^retry_policy .*retry_on connect-failure;.*http_502: nginx passes idempotent requests/);
    expect(next[1]!.reason).toMatch(/retry_on connect-failure,reset,retriable-status-codes \(502\)/);
    expect(reportLines(r, 'proxy_next_upstream_tries')[0]).toMatchObject({ class: 'translated', reason: 'num_retries 1 at most (2 tries, each on another server)' });
    expect(reportLines(r, 'proxy_next_upstream_timeout').map((e) => e.class)).toEqual(['unsupported', 'translated']);
    const notes = r.report.notes.filter((n) => /the default of proxy_next_upstream/.test(n.reason));
    // the upstream (used by /d/ under the default); the single-server inline target has nothing to retry on
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ directive: 'upstream', class: 'approximated' });
    expect(notes[0]!.reason).toMatch(/cluster `up` retry it \(retry_policy connect-failure, num_retries 2\) on each of its 2 servers, then its 1 backup server/);
  });
});
