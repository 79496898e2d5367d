// The ADS gRPC server: envoy.service.discovery.v3.AggregatedDiscoveryService
// (StreamAggregatedResources and DeltaAggregatedResources) over the current
// snapshot, with the counters /metrics shows and events tests can wait on.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { resourceName, type JsonObject, type XdsResources } from '../emit/envoy/xds.js';
import { protoIncludeDirs } from './proto-registry.js';
import { SharedResponses } from './wire.js';
import { applyEndpointOverrides, buildSnapshot, ResourceEncoder, typeLabel, type Snapshot } from './snapshot.js';
import {
  AdsStream,
  DeltaStream,
  SotwStream,
  type AckEvent,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
  type NackEvent,
  type ResponseEvent,
  type StreamObserver,
} from './streams.js';

export interface TlsOptions {
  certFile: string;
  keyFile: string;
  /** When set, clients must present a certificate signed by this CA (mTLS). */
  clientCaFile?: string;
}

export interface Counters {
  pushes: Map<string, number>; // key `${type}|${kind}`
  acks: Map<string, number>;
  nacks: Map<string, number>;
  lastNack: Map<string, { node: string; detail: string; version: string }>; // by type label
}

let cachedService: grpc.ServiceDefinition | null = null;

/** The AggregatedDiscoveryService definition, from Envoy's ads.proto via proto-loader. */
export function adsServiceDefinition(): grpc.ServiceDefinition {
  if (cachedService) return cachedService;
  const definition = protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
    includeDirs: protoIncludeDirs(),
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    envoy: { service: { discovery: { v3: { AggregatedDiscoveryService: { service: grpc.ServiceDefinition } } } } };
  };
  cachedService = passEncodedResponses(pkg.envoy.service.discovery.v3.AggregatedDiscoveryService.service);
  return cachedService;
}

/**
 * The streams write responses already encoded (src/serve/wire.ts: shared
 * per-resource parts, no conversion per stream); the methods' serializers
 * pass those bytes through as they are.
 */
function passEncodedResponses(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const methods = Object.entries(service).map(([name, method]) => {
    const serialize = method.responseSerialize;
    return [name, { ...method, responseSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : serialize(value)) }];
  });
  return Object.fromEntries(methods) as grpc.ServiceDefinition;
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/**
 * Events: 'response' (ResponseEvent), 'ack' (AckEvent), 'nack' (NackEvent),
 * 'snapshot' (Snapshot), 'stream-open' / 'stream-close' (AdsStream).
 */
export class XdsServer extends EventEmitter implements StreamObserver {
  private current: Snapshot | null = null;
  private base: XdsResources | null = null;
  private overrides = new Map<string, JsonObject>();
  private encoder = new ResourceEncoder();
  /** Responses encoded once for every stream sent the same content (cleared with each snapshot). */
  private readonly responses = new SharedResponses();
  private grpcServer: grpc.Server | null = null;
  readonly streams = new Set<AdsStream>();
  readonly counters: Counters = { pushes: new Map(), acks: new Map(), nacks: new Map(), lastNack: new Map() };
  private readonly log: (line: string) => void;
  /** How long the last setResources took to build and encode its snapshot, ms. */
  lastEncodeMs = 0;

  constructor(options: { log?: (line: string) => void } = {}) {
    super();
    this.setMaxListeners(0);
    this.log = options.log ?? (() => {});
  }

  snapshot(): Snapshot | null {
    return this.current;
  }

  /**
   * Replace the compiled resources. Builds and encodes the new snapshot first
   * (an encoding error throws and leaves the served snapshot as it was), then
   * pushes to every stream. Returns whether the snapshot version changed.
   */
  setResources(resources: XdsResources): boolean {
    const started = performance.now();
    const next = buildSnapshot(this.encoder, applyEndpointOverrides(resources, this.overrides));
    this.lastEncodeMs = performance.now() - started;
    this.base = resources;
    return this.install(next);
  }

  /**
   * Override the endpoints of one cluster with a ClusterLoadAssignment from
   * another source (e.g. Consul), or remove the override with null (back to
   * the compiled endpoints). No recompilation: CDS changes only when a DNS
   * cluster has to become EDS to carry the override.
   */
  setEndpointOverride(clusterName: string, cla: JsonObject | null): boolean {
    if (cla) this.overrides.set(clusterName, { ...cla, cluster_name: clusterName });
    else if (!this.overrides.delete(clusterName)) return false;
    if (!this.base) return false;
    return this.install(buildSnapshot(this.encoder, applyEndpointOverrides(this.base, this.overrides)));
  }

  endpointOverrides(): ReadonlyMap<string, JsonObject> {
    return this.overrides;
  }

  private install(next: Snapshot): boolean {
    const changed = next.version !== this.current?.version || !sameProfiles(next, this.current);
    if (this.current) keepUnchangedTypes(next, this.current);
    this.current = next;
    if (changed) {
      this.responses.clear();
      this.emit('snapshot', next);
      for (const stream of this.streams) stream.pump();
    }
    // After the pushes: a grpc-profile stream builds that profile in pump(), and its parts count as used.
    this.encoder.retain();
    return changed;
  }

  // ---- StreamObserver

  onResponse(e: ResponseEvent): void {
    bump(this.counters.pushes, `${typeLabel(e.typeUrl)}|${e.kind}`);
    this.emit('response', e);
  }

  onAck(e: AckEvent): void {
    bump(this.counters.acks, `${typeLabel(e.typeUrl)}|${e.kind}`);
    this.emit('ack', e);
  }

  onNack(e: NackEvent): void {
    const type = typeLabel(e.typeUrl);
    bump(this.counters.nacks, `${type}|${e.kind}`);
    this.counters.lastNack.set(type, { node: e.node, detail: e.detail, version: e.version });
    this.log(`xds: NACK from node "${e.node}" (${e.kind} stream ${e.streamId}) for ${type} version ${e.version}: ${e.detail}`);
    this.emit('nack', e);
  }

  onSubscribe(stream: AdsStream, typeUrl: string): void {
    this.emit('subscribe', stream, typeUrl);
  }

  onRequest(stream: AdsStream, typeUrl: string): void {
    this.emit('request', { streamId: stream.id, kind: stream.kind, typeUrl });
  }

  // ---- gRPC

  private handleSotw(call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>): void {
    const stream = new SotwStream(this, (self, r, ownNonce) => {
      const encoded = this.responses.sotw(self.id, r, ownNonce);
      call.write(encoded.bytes as unknown as DiscoveryResponse);
      return encoded.nonce;
    });
    this.track(stream, call);
    call.on('data', (req: DiscoveryRequest) => stream.handle(req));
  }

  private handleDelta(call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>): void {
    const stream = new DeltaStream(this, (self, r, ownNonce) => {
      const encoded = this.responses.delta(self.id, r, ownNonce);
      call.write(encoded.bytes as unknown as DeltaDiscoveryResponse);
      return encoded.nonce;
    });
    this.track(stream, call);
    call.on('data', (req: DeltaDiscoveryRequest) => stream.handle(req));
  }

  private readonly calls = new Map<AdsStream, grpc.ServerDuplexStream<unknown, unknown>>();

  private track(stream: AdsStream, call: grpc.ServerDuplexStream<unknown, unknown>): void {
    this.streams.add(stream);
    this.calls.set(stream, call);
    this.emit('stream-open', stream);
    const close = () => {
      if (stream.closed) return;
      stream.closed = true;
      this.streams.delete(stream);
      this.calls.delete(stream);
      this.emit('stream-close', stream);
    };
    call.on('end', () => {
      close();
      call.end();
    });
    call.on('error', close);
    call.on('cancelled', close);
    call.on('close', close);
  }

  /** Listen on `host:port` (port 0 picks one). Resolves with the bound port. */
  async listen(address: string, tls?: TlsOptions): Promise<number> {
    const server = new grpc.Server(); // no send limit: a large route table is one resource
    server.addService(adsServiceDefinition(), {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => this.handleSotw(call),
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>) => this.handleDelta(call),
    });
    const credentials = tls ? serverCredentials(tls) : grpc.ServerCredentials.createInsecure();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(address, credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
    );
    this.grpcServer = server;
    return port;
  }

  /** Drain: stop accepting, end every stream (status OK), then shut the server down. */
  async close(): Promise<void> {
    const server = this.grpcServer;
    this.grpcServer = null;
    for (const [stream, call] of [...this.calls]) {
      stream.closed = true;
      this.streams.delete(stream);
      this.calls.delete(stream);
      try {
        call.end();
      } catch {
        // the peer may already be gone
      }
    }
    if (!server) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 5000);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Streams by type label and kind (for the xds_streams gauge). */
  streamCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const stream of this.streams) {
      for (const typeUrl of stream.types()) bump(counts, `${typeLabel(typeUrl)}|${stream.kind}`);
    }
    return counts;
  }
}

/**
 * A type whose version did not change keeps its previous TypeSnapshot (same
 * content, same objects): streams in sync with it stay in sync without
 * planning it again, and its encoded records are reused. Its resources take
 * the new JSON (equal in content) so the old compile's objects are not kept.
 * The grpc profile is built on first use, after this: it is left as built.
 */
function keepUnchangedTypes(next: Snapshot, previous: Snapshot): void {
  const types = next.profiles.envoy;
  for (const [typeUrl, type] of types) {
    const kept = previous.profiles.envoy.get(typeUrl);
    if (!kept || kept === type || kept.version !== type.version || kept.resources.size !== type.resources.size) continue;
    const same = [...type.resources].every(([name, r]) => kept.resources.get(name)?.version === r.version);
    if (!same) continue;
    for (const [name, resource] of type.resources) kept.resources.get(name)!.json = resource.json;
    types.set(typeUrl, kept);
  }
}

/** The grpc profile derives from the Envoy one: equal Envoy versions mean equal snapshots. */
function sameProfiles(a: Snapshot, b: Snapshot | null): boolean {
  return b !== null && a.version === b.version;
}

function serverCredentials(tls: TlsOptions): grpc.ServerCredentials {
  const ca = tls.clientCaFile ? fs.readFileSync(tls.clientCaFile) : null;
  return grpc.ServerCredentials.createSsl(
    ca,
    [{ cert_chain: fs.readFileSync(tls.certFile), private_key: fs.readFileSync(tls.keyFile) }],
    ca !== null,
  );
}

export { resourceName };
