import { describe, it, expect } from 'vitest';
import { envoyRoot, lookupMessage } from '../../src/serve/proto-registry.js';

describe('envoy proto registry', () => {
  it('loads the v3 resource and extension types', () => {
    const root = envoyRoot();
    for (const name of [
      'envoy.config.listener.v3.Listener',
      'envoy.config.route.v3.RouteConfiguration',
      'envoy.config.cluster.v3.Cluster',
      'envoy.config.endpoint.v3.ClusterLoadAssignment',
      'envoy.extensions.transport_sockets.tls.v3.Secret',
      'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      'envoy.extensions.filters.http.router.v3.Router',
      'envoy.service.discovery.v3.DeltaDiscoveryRequest',
    ]) {
      expect(root.lookupType(name).fullName).toBe('.' + name);
    }
    expect(lookupMessage('type.googleapis.com/envoy.config.cluster.v3.Cluster').name).toBe('Cluster');
  });
});
