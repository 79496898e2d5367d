// Listener and filter-chain selection. Expected answers from
// https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/listener/v3/listener_components.proto#config-listener-v3-filterchainmatch
// (order: destination port, destination IP, server name, transport protocol,
// application protocols, source…; "the most specific value … is going to be used
// (e.g. for SNI www.example.com the most specific match would be www.example.com,
// then *.example.com, then *.com, then any filter chain without server_names
// requirements)"; pruned step by step, no fallback to a less specific group) and
// Listener.default_filter_chain ("used when none of the filter chains matches").
import { describe, expect, it } from 'vitest';
import { evaluate, type EnvoyRequest } from '../../../src/sim/envoy/index.js';
import { HCM_TYPE, ROUTER_TYPE, yaml } from './helpers.js';

/** A filter chain whose HCM answers every request with a direct response naming the chain. */
function chain(name: string, match: string, tls = true): any {
  return {
    name,
    filter_chain_match: yaml(match || '{}'),
    ...(tls
      ? {
          transport_socket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext' },
          },
        }
      : {}),
    filters: [
      {
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': HCM_TYPE,
          stat_prefix: name,
          route_config: {
            virtual_hosts: [{ name: `vh_${name}`, domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: name } } }] }],
          },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
        },
      },
    ],
  };
}

const TLS_INSPECTOR = [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } }];

function config(chains: any[], extra: Record<string, unknown> = {}): any {
  return {
    static_resources: {
      listeners: [
        {
          name: 'https',
          address: { socket_address: { address: '0.0.0.0', port_value: 443 } },
          listener_filters: TLS_INSPECTOR,
          filter_chains: chains,
          ...extra,
        },
        {
          name: 'plain',
          address: { socket_address: { address: '0.0.0.0', port_value: 80 } },
          filter_chains: [chain('plain_wild', '', false)],
        },
        {
          name: 'plain_lo',
          address: { socket_address: { address: '127.0.0.2', port_value: 80 } },
          filter_chains: [chain('plain_exact', '', false)],
        },
      ],
      clusters: [],
    },
  };
}

const SNI_CHAINS = [
  chain('exact', 'server_names: ["www.example.com"]'),
  chain('wild_long', 'server_names: ["*.api.example.com"]'),
  chain('wild', 'server_names: ["*.example.com"]'),
  chain('catch_all', ''),
];

function pick(cfg: any, req: Partial<EnvoyRequest>): ReturnType<typeof evaluate> {
  return evaluate(cfg, { port: 443, host: 'example.com', path: '/', ...req });
}

describe('listener selection', () => {
  it('an exact address beats 0.0.0.0 on the same port; nothing on a port → no_listener', () => {
    const cfg = config(SNI_CHAINS);
    expect(evaluate(cfg, { port: 80, address: '127.0.0.2', host: 'a', path: '/' }).listener).toBe('plain_lo');
    expect(evaluate(cfg, { port: 80, address: '127.0.0.1', host: 'a', path: '/' }).listener).toBe('plain');
    expect(evaluate(cfg, { port: 81, host: 'a', path: '/' }).kind).toBe('no_listener');
  });

  it('"::" takes IPv4 connections only with ipv4_compat', () => {
    const mk = (compat: boolean): any => ({
      static_resources: {
        listeners: [{ name: 'v6', address: { socket_address: { address: '::', port_value: 80, ipv4_compat: compat } }, filter_chains: [chain('c', '', false)] }],
      },
    });
    expect(evaluate(mk(false), { port: 80, address: '10.0.0.1', host: 'a', path: '/' }).kind).toBe('no_listener');
    expect(evaluate(mk(true), { port: 80, address: '10.0.0.1', host: 'a', path: '/' }).listener).toBe('v6');
    expect(evaluate(mk(false), { port: 80, address: '::1', host: 'a', path: '/' }).listener).toBe('v6');
  });
});

describe('filter chain selection by SNI', () => {
  const cfg = config(SNI_CHAINS);
  it('exact server name, then the longest wildcard suffix, then the chain without server_names', () => {
    expect(pick(cfg, { sni: 'www.example.com' }).filterChain).toBe('exact');
    expect(pick(cfg, { sni: 'v1.api.example.com' }).filterChain).toBe('wild_long');
    expect(pick(cfg, { sni: 'mail.example.com' }).filterChain).toBe('wild');
    expect(pick(cfg, { sni: 'example.com' }).filterChain).toBe('catch_all'); // *.example.com needs a label
    expect(pick(cfg, { sni: 'other.org' }).filterChain).toBe('catch_all');
    expect(pick(cfg, { transport: 'tls' }).filterChain).toBe('catch_all'); // no SNI at all
  });

  it('the chosen chain answers (its route table is used)', () => {
    expect(pick(cfg, { sni: 'www.example.com' })).toMatchObject({ kind: 'direct_response', body: 'exact', virtualHost: 'vh_exact' });
  });

  it('no chain matches → default_filter_chain, else no_filter_chain', () => {
    const only = [chain('exact', 'server_names: ["www.example.com"]'), chain('wild', 'server_names: ["*.example.com"]')];
    expect(pick(config(only), { sni: 'other.org' }).kind).toBe('no_filter_chain');
    const withDefault = config(only, { default_filter_chain: chain('fallback', '') });
    expect(pick(withDefault, { sni: 'other.org' })).toMatchObject({ filterChain: 'fallback', body: 'fallback' });
    expect(pick(withDefault, { sni: 'a.example.com' }).filterChain).toBe('wild');
  });

  it('without tls_inspector the SNI is not seen: only chains without server_names can match', () => {
    const cfg2 = config(SNI_CHAINS, { listener_filters: [] });
    const d = pick(cfg2, { sni: 'www.example.com' });
    expect(d.filterChain).toBe('catch_all');
    expect(d.notes?.join(' ')).toMatch(/no tls_inspector/);
  });
});

describe('the order of criteria, without backtracking', () => {
  it('destination_port is decided first: a port-specific chain whose SNI fails does not fall back to a generic chain', () => {
    const chains = [chain('port443_sni', 'destination_port: 443\nserver_names: ["a.com"]'), chain('generic', '')];
    expect(pick(config(chains), { sni: 'a.com' }).filterChain).toBe('port443_sni');
    // the 443 group is the most specific; inside it no chain takes b.com → no chain at all
    expect(pick(config(chains), { sni: 'b.com' }).kind).toBe('no_filter_chain');
    expect(pick(config(chains, { default_filter_chain: chain('dflt', '') }), { sni: 'b.com' }).filterChain).toBe('dflt');
  });

  it('destination IP: the longest prefix range wins', () => {
    const chains = [
      chain('wide', 'prefix_ranges: [{ address_prefix: 10.0.0.0, prefix_len: 8 }]'),
      chain('narrow', 'prefix_ranges: [{ address_prefix: 10.1.0.0, prefix_len: 16 }]'),
      chain('none', ''),
    ];
    expect(pick(config(chains), { address: '10.1.2.3', sni: 'x' }).filterChain).toBe('narrow');
    expect(pick(config(chains), { address: '10.9.2.3', sni: 'x' }).filterChain).toBe('wide');
    expect(pick(config(chains), { address: '192.168.0.1', sni: 'x' }).filterChain).toBe('none');
  });

  it('transport_protocol and application_protocols (ALPN in the client\'s order)', () => {
    const chains = [
      chain('h2', 'transport_protocol: tls\napplication_protocols: ["h2"]'),
      chain('h11', 'transport_protocol: tls\napplication_protocols: ["http/1.1"]'),
      chain('tls_any', 'transport_protocol: tls'),
      chain('raw', 'transport_protocol: raw_buffer', false),
    ];
    expect(pick(config(chains), { sni: 'x', alpn: ['h2', 'http/1.1'] }).filterChain).toBe('h2');
    expect(pick(config(chains), { sni: 'x', alpn: ['http/1.1', 'h2'] }).filterChain).toBe('h11');
    expect(pick(config(chains), { sni: 'x', alpn: ['h3'] }).filterChain).toBe('tls_any');
    expect(pick(config(chains), { transport: 'raw_buffer' }).filterChain).toBe('raw');
  });

  it('a plaintext request on a TLS-terminating chain fails', () => {
    const d = pick(config([chain('tls_only', '')]), { transport: 'raw_buffer' });
    expect(d.kind).toBe('rejected');
  });

  it('source criteria come last: source_type, then source_prefix_ranges, then source_ports', () => {
    const chains = [
      chain('local', 'source_type: SAME_IP_OR_LOOPBACK'),
      chain('external_net', 'source_type: EXTERNAL\nsource_prefix_ranges: [{ address_prefix: 203.0.113.0, prefix_len: 24 }]'),
      chain('external_port', 'source_type: EXTERNAL\nsource_ports: [5555]'),
      chain('external', 'source_type: EXTERNAL'),
    ];
    expect(pick(config(chains), { sni: 'x', remoteAddress: '127.0.0.1' }).filterChain).toBe('local');
    expect(pick(config(chains), { sni: 'x', remoteAddress: '203.0.113.9' }).filterChain).toBe('external_net');
    expect(pick(config(chains), { sni: 'x', remoteAddress: '198.51.100.1', remotePort: 5555 }).filterChain).toBe('external_port');
    expect(pick(config(chains), { sni: 'x', remoteAddress: '198.51.100.1', remotePort: 4444 }).filterChain).toBe('external');
  });
});
