// A scripted ADS client on @grpc/grpc-js and Envoy's own ads.proto: opens a
// state-of-the-world or delta stream, sends exactly what a test says, and
// queues responses so the test can await them (bounded waits, no timing).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoIncludeDirs } from '../../../src/serve/proto-registry.js';

export interface AnyMsg {
  type_url: string;
  value: Buffer;
}
export interface SotwResponse {
  version_info: string;
  resources: AnyMsg[];
  type_url: string;
  nonce: string;
}
export interface DeltaResponse {
  system_version_info: string;
  resources: { name: string; version: string; resource: AnyMsg }[];
  type_url: string;
  removed_resources: string[];
  nonce: string;
}

type AdsClientCtor = new (address: string, creds: grpc.ChannelCredentials) => grpc.Client & {
  StreamAggregatedResources(): grpc.ClientDuplexStream<unknown, SotwResponse>;
  DeltaAggregatedResources(): grpc.ClientDuplexStream<unknown, DeltaResponse>;
};

let ctor: AdsClientCtor | null = null;

function adsClientCtor(): AdsClientCtor {
  if (ctor) return ctor;
  const definition = protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: protoIncludeDirs(),
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    envoy: { service: { discovery: { v3: { AggregatedDiscoveryService: AdsClientCtor } } } };
  };
  ctor = pkg.envoy.service.discovery.v3.AggregatedDiscoveryService;
  return ctor;
}

/** Messages from a stream, awaitable one at a time. */
class Inbox<T> {
  private items: T[] = [];
  private waiters: { resolve: (v: T) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  ended: Error | null = null;

  push(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(item);
    } else this.items.push(item);
  }

  end(err: Error): void {
    this.ended = err;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  /** The next message; rejects after `timeoutMs` (a generous bound, not a timing assertion). */
  next(timeoutMs = 10_000): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift()!);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new Error(`no message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push({ resolve, reject, timer });
    });
  }

  /** Messages already received and not yet taken. */
  pending(): T[] {
    return [...this.items];
  }
}

export interface NodeInfo {
  id: string;
  cluster?: string;
  user_agent_name?: string;
}

export class ScriptedAdsClient {
  private client: InstanceType<AdsClientCtor>;

  constructor(address: string, creds: grpc.ChannelCredentials = grpc.credentials.createInsecure()) {
    this.client = new (adsClientCtor())(address, creds);
  }

  sotw(): ScriptedStream<SotwResponse> {
    return new ScriptedStream(this.client.StreamAggregatedResources());
  }

  delta(): ScriptedStream<DeltaResponse> {
    return new ScriptedStream(this.client.DeltaAggregatedResources());
  }

  close(): void {
    this.client.close();
  }
}

export class ScriptedStream<T> {
  readonly inbox = new Inbox<T>();
  status: grpc.StatusObject | null = null;
  private readonly statusWaiters: ((s: grpc.StatusObject) => void)[] = [];

  constructor(readonly call: grpc.ClientDuplexStream<unknown, T>) {
    call.on('data', (m: T) => this.inbox.push(m));
    call.on('error', (e: Error) => this.inbox.end(e));
    call.on('status', (s: grpc.StatusObject) => {
      this.status = s;
      this.inbox.end(new Error(`stream ended: ${s.code} ${s.details}`));
      for (const w of this.statusWaiters.splice(0)) w(s);
    });
  }

  send(message: unknown): void {
    this.call.write(message);
  }

  next(timeoutMs?: number): Promise<T> {
    return this.inbox.next(timeoutMs);
  }

  waitStatus(timeoutMs = 10_000): Promise<grpc.StatusObject> {
    if (this.status) return Promise.resolve(this.status);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no status')), timeoutMs);
      this.statusWaiters.push((s) => {
        clearTimeout(timer);
        resolve(s);
      });
    });
  }

  close(): void {
    this.call.cancel();
  }
}

export const TYPES = {
  lds: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  rds: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cds: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  eds: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  sds: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
};

/** Wait for an event on an emitter matching a predicate, with a generous bound. */
export function waitForEvent<T>(
  emitter: NodeJS.EventEmitter,
  name: string,
  predicate: (e: T) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(name, handler);
      reject(new Error(`no "${name}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    const handler = (e: T) => {
      if (!predicate(e)) return;
      clearTimeout(timer);
      emitter.off(name, handler);
      resolve(e);
    };
    emitter.on(name, handler);
  });
}
