// IR → Envoy v3 static bootstrap. Deterministic: the same IR gives the same
// object (key order included). Returns the report notes raised while emitting
// and the `# nginx: file:line` comments for the YAML rendering.
import type { CompiledConfig, Location, ReportEntry } from '../../ir/types.js';
import { emitClusters, type BackendUse } from './clusters.js';
import { emitListeners } from './listeners.js';
import { edgeClusters } from './edge.js';
import { Emission, type Json } from './context.js';
import { emitStream } from './stream.js';
import type { EmissionReuse } from './reuse.js';

export interface EmitResult {
  bootstrap: Json;
  notes: ReportEntry[];
  comments: Map<object, string>;
}

export interface EmitOptions {
  /** Virtual hosts of earlier emissions, used again where nothing they are made of changed (serve's reloads). */
  reuse?: EmissionReuse;
}

export function emitBootstrap(ir: CompiledConfig, opts: EmitOptions = {}): EmitResult {
  const em = new Emission();
  const servers = new Map(ir.servers.map((s) => [s.id, s]));
  const backends = new Map(ir.backends.map((b) => [b.name, b]));
  opts.reuse?.begin();
  const listeners = emitListeners(ir.listeners, { servers, backends, em, reuse: opts.reuse });
  opts.reuse?.end();
  const uses = backendUses(ir);
  // pushed, not flatMap'ed: flatMap makes a holey array, an array kind the YAML writer meets
  // nowhere before the clusters (its optimised code would be thrown away there)
  const clusters: Json[] = [];
  for (const b of ir.backends) for (const c of emitClusters(b, uses, em)) clusters.push(c);
  clusters.push(...edgeClusters(ir)); // issue 7: e.g. the OpenTelemetry collector
  if (ir.stream) {
    // stream {}: TCP listeners and clusters of their own (names never shared with http ones)
    const stream = emitStream(ir.stream, em);
    listeners.push(...stream.listeners);
    clusters.push(...stream.clusters);
  }
  const bootstrap: Json = {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 9901 } } },
    static_resources: { listeners, clusters },
    // Envoy rejects regexes whose RE2 program is larger than 100 by default;
    // nginx has no such limit, and the search wrapper `.*(?:R).*` adds to it.
    layered_runtime: { layers: [{ name: 'static', static_layer: { 're2.max_program_size.error_level': 10000 } }] },
  };
  return { bootstrap, notes: em.notes, comments: em.comments };
}

/** The locations using each cluster (by cluster name). */
function backendUses(ir: CompiledConfig): Map<string, BackendUse> {
  const uses = new Map<string, BackendUse>();
  const use = (cluster: string, l: Location): void => {
    const u = uses.get(cluster) ?? { connectTimeoutsMs: [] };
    u.connectTimeoutsMs.push(l.policy.proxyConnectTimeoutMs);
    uses.set(cluster, u);
  };
  const visit = (l: Location): void => {
    if (l.action.kind === 'proxy') use(l.action.cluster, l);
    // (a proxy_pass to a map variable: its other targets)
    for (const a of l.dispatch?.actions ?? []) if (a.action.kind === 'proxy' && a.action !== l.action) use(a.action.cluster, l);
    l.children.forEach(visit);
  };
  for (const s of ir.servers) s.locations.forEach(visit);
  return uses;
}
