// `convert --mode xds` output: the resources split for xDS (RDS and EDS over
// ADS), one DiscoveryResponse file per type, the ADS bootstraps; valid against
// Envoy's protos and byte-identical from run to run.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { compile } from '../../src/compile.js';
import { adsBootstrap, toXdsResources, xdsConvertFiles, type JsonObject } from '../../src/emit/envoy/xds.js';
import { validateBootstrap, validateXdsResources } from '../../src/validate/index.js';

const CONF = `events {}
http {
    upstream app { server 127.0.0.1:9000; server 127.0.0.1:9001 backup; }
    upstream named { server backend.internal:80; }
    server {
        listen 8080;
        server_name files.example.com;
        location / { proxy_pass http://app; }
        location /dns/ { proxy_pass http://named; }
        location = /moved { return 301 https://elsewhere.example.com/; }
    }
    server {
        listen 8443;
        server_name other.example.com;
        location / { proxy_pass http://127.0.0.1:9100; }
    }
}
`;

function compileConf(): unknown {
  return compileWithComments().bootstrap;
}

function compileWithComments(): { bootstrap: unknown; comments: Map<object, string> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ngx2envoy-xds-files-'));
  try {
    fs.writeFileSync(path.join(dir, 'nginx.conf'), CONF);
    const result = compile(path.join(dir, 'nginx.conf'));
    expect(result.ok).toBe(true);
    return { bootstrap: result.bootstrap, comments: result.comments };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const errors = (f: { severity: string }[]) => f.filter((x) => x.severity === 'error');

describe('xDS files', () => {
  it('splits listeners to RDS over ADS and IP clusters to EDS over ADS', () => {
    const res = toXdsResources(compileConf());
    expect(errors(validateXdsResources(res))).toEqual([]);
    const hcms = JSON.stringify(res.listeners);
    expect(hcms).not.toContain('"route_config"');
    expect(res.routes.length).toBe(res.listeners.length);
    for (const cluster of res.clusters) {
      if (cluster['name'] === 'named') {
        expect(cluster['type']).toBe('STRICT_DNS'); // hostnames stay DNS: EDS carries addresses only
        continue;
      }
      expect(cluster).toMatchObject({ type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } } });
      expect(cluster['load_assignment']).toBeUndefined();
      expect(res.endpoints.some((e) => e['cluster_name'] === cluster['name'])).toBe(true);
    }
  });

  it('writes one DiscoveryResponse per type and the ADS bootstraps, valid and deterministic', () => {
    const first = xdsConvertFiles(compileConf(), 'out');
    const second = xdsConvertFiles(compileConf(), 'out');
    expect(second).toEqual(first);
    expect(first.map((f) => f.path)).toEqual(
      ['bootstrap-ads-delta.yaml', 'bootstrap-ads.yaml', 'clusters.yaml', 'endpoints.yaml', 'listeners.yaml', 'routes.yaml', 'secrets.yaml'].map((n) =>
        path.join('out', n),
      ),
    );
    const doc = (name: string) => parse(first.find((f) => f.path.endsWith(name))!.text) as JsonObject;
    const resources = {
      listeners: doc('listeners.yaml')['resources'] as JsonObject[],
      routes: doc('routes.yaml')['resources'] as JsonObject[],
      clusters: doc('clusters.yaml')['resources'] as JsonObject[],
      endpoints: doc('endpoints.yaml')['resources'] as JsonObject[],
      secrets: doc('secrets.yaml')['resources'] as JsonObject[],
    };
    expect(doc('clusters.yaml')['type_url']).toBe('type.googleapis.com/envoy.config.cluster.v3.Cluster');
    const strip = (list: JsonObject[]) => list.map(({ ['@type']: _t, ...rest }) => rest);
    expect(errors(validateXdsResources({ listeners: strip(resources.listeners), routes: strip(resources.routes), clusters: strip(resources.clusters), endpoints: strip(resources.endpoints), secrets: strip(resources.secrets) }))).toEqual([]);
    for (const name of ['bootstrap-ads.yaml', 'bootstrap-ads-delta.yaml']) {
      const b = doc(name);
      expect(errors(validateBootstrap(b))).toEqual([]);
      expect(b['dynamic_resources']).toMatchObject({
        ads_config: { api_type: name.includes('delta') ? 'DELTA_GRPC' : 'GRPC', transport_api_version: 'V3' },
        lds_config: { ads: {} },
        cds_config: { ads: {} },
      });
      expect(b['admin']).toMatchObject({ address: { socket_address: { address: '127.0.0.1' } } });
    }
  });

  it("keeps the compiler's nginx file:line comments on listeners, routes and clusters", () => {
    const { bootstrap, comments } = compileWithComments();
    const files = xdsConvertFiles(bootstrap, 'out', {}, comments);
    const text = (name: string) => files.find((f) => f.path.endsWith(name))!.text;
    for (const name of ['listeners.yaml', 'routes.yaml', 'clusters.yaml']) expect(text(name)).toMatch(/#[^\n]*nginx\.conf:\d+/);
    // The comment of a route sits right above that route: /dns/ comes from line 9 of nginx.conf.
    expect(text('routes.yaml')).toMatch(/#[^\n]*nginx\.conf:9[^\n]*\n\s*- (match|name)/);
    expect(xdsConvertFiles(bootstrap, 'out', {}, comments)).toEqual(files);
    // Comments do not change the data.
    expect(parse(text('routes.yaml'))).toEqual(parse(xdsConvertFiles(bootstrap, 'out').find((f) => f.path.endsWith('routes.yaml'))!.text));
  });

  it('points the bootstrap at the xDS server, with TLS when asked', () => {
    const b = adsBootstrap({ nodeId: 'n1', nodeCluster: 'c1', xdsAddress: 'xds.internal:18000', delta: false, tls: { caFile: '/etc/ca.pem', certFile: '/etc/c.pem', keyFile: '/etc/k.pem' } });
    expect(errors(validateBootstrap(b))).toEqual([]);
    const cluster = ((b['static_resources'] as JsonObject)['clusters'] as JsonObject[])[0]!;
    expect(cluster['type']).toBe('STRICT_DNS');
    expect(JSON.stringify(cluster)).toContain('http2_protocol_options');
    expect(JSON.stringify(cluster['transport_socket'])).toContain('/etc/ca.pem');
    expect(b['node']).toEqual({ id: 'n1', cluster: 'c1' });
  });
});
