// Builders for hand-written Envoy configurations used by the evaluator's tests.
import { parse } from 'yaml';

export const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

/** A static Bootstrap with one listener on 0.0.0.0:port whose HCM carries `routeConfigYaml` inline. */
export function bootstrap(routeConfigYaml: string, opts: { port?: number; hcm?: Record<string, unknown>; clustersYaml?: string } = {}): Record<string, any> {
  const routeConfig = parse(routeConfigYaml);
  const clusters = opts.clustersYaml ? parse(opts.clustersYaml) : defaultClusters(routeConfig);
  return {
    static_resources: {
      listeners: [
        {
          name: 'http',
          address: { socket_address: { address: '0.0.0.0', port_value: opts.port ?? 8080 } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': HCM_TYPE,
                    stat_prefix: 'http',
                    ...(opts.hcm ?? {}),
                    route_config: routeConfig,
                    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters,
    },
  };
}

/** One STATIC cluster for every cluster name the route configuration mentions. */
function defaultClusters(rc: any): any[] {
  const names = new Set<string>();
  const walk = (v: any): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'cluster' && typeof x === 'string') names.add(x);
        else if (k === 'clusters' && Array.isArray(x)) x.forEach((c: any) => c?.name && names.add(c.name));
        else walk(x);
      }
    }
  };
  walk(rc);
  return [...names].sort().map((name, i) => ({
    name,
    type: 'STATIC',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: `10.0.0.${i + 1}`, port_value: 80 } } } }] }],
    },
  }));
}

export function yaml(text: string): any {
  return parse(text);
}
