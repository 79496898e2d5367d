// The IR the compiler gives for fixtures/nginx.conf, written out by hand so the
// Consul emitter can be tested on its own (compile-based tests check the two agree).
import type { Backend, BackendServer, CompiledConfig } from '../../src/ir/types.js';

/** Source paths in the IR are relative to the main file's directory. */
export const FIXTURE_FILE = 'nginx.conf';

function server(line: number, host: string, port: number, extra: Partial<BackendServer> = {}): BackendServer {
  return {
    host,
    port,
    unix: false,
    weight: 1,
    maxFails: 1,
    failTimeoutMs: 10_000,
    backup: false,
    down: false,
    source: { file: FIXTURE_FILE, line, col: 9 },
    ...extra,
  };
}

export function fixtureBackends(): Backend[] {
  return [
    {
      name: '127.0.0.1_9000',
      kind: 'inline',
      balance: { kind: 'round_robin' },
      keepalive: null,
      clusters: [{ name: '127.0.0.1_9000', transport: { http2: false, tls: null } }],
      servers: [server(29, '127.0.0.1', 9000, { source: { file: FIXTURE_FILE, line: 29, col: 13 } })],
      source: { file: FIXTURE_FILE, line: 29, col: 13 },
    },
    {
      name: 'api_v1',
      kind: 'upstream',
      balance: { kind: 'round_robin' },
      keepalive: null,
      clusters: [{ name: 'api_v1', transport: { http2: false, tls: null } }],
      servers: [
        server(5, '10.0.0.11', 8080, { weight: 3 }),
        server(6, '10.0.0.12', 8080, { maxFails: 3, failTimeoutMs: 30_000 }),
        server(7, '10.0.0.13', 8080, { backup: true }),
        server(8, '10.0.0.14', 8080, { down: true }),
        server(9, '/run/api.sock', 0, { unix: true }),
      ],
      source: { file: FIXTURE_FILE, line: 4, col: 5 },
    },
    {
      name: 'legacy.pool',
      kind: 'upstream',
      balance: { kind: 'round_robin' },
      keepalive: null,
      clusters: [{ name: 'legacy.pool', transport: { http2: false, tls: null } }],
      servers: [server(13, '10.0.1.5', 80, { maxFails: 0 })],
      source: { file: FIXTURE_FILE, line: 12, col: 5 },
    },
  ];
}

export function fixtureIr(backends: Backend[] = fixtureBackends()): CompiledConfig {
  return {
    listeners: [],
    servers: [],
    backends,
    report: [{ file: FIXTURE_FILE, line: 1, col: 1, directive: 'events', class: 'ignored', reason: '' }],
    notes: [],
  };
}
